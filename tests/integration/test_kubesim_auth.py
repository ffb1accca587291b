"""Authentication as a real API server does it, seen with the real kubectl and the kubernetes client:
ServiceAccount token Secrets filled by the token controller, client certificates signed by the cluster CA (CN the
user, O the groups), certificates of another CA refused with 401, and the admin's kubeconfig holding a client
certificate as KIND's does."""

from __future__ import annotations

import base64
import datetime
import http.client
import json
import ssl
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kubesim import tls
from tests.integration.conftest import KUBECTLS, Cluster, require_kubectl
from tests.integration.credentials import no_credentials
from tests.integration.web import create

pytestmark = pytest.mark.integration
RBAC = "/apis/rbac.authorization.k8s.io/v1"
TOKEN_TYPE = "kubernetes.io/service-account-token"
UNAUTHORIZED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "Unauthorized",
    "reason": "Unauthorized",
    "code": 401,
}


def kubectl(cluster: Cluster, *args: str, kubeconfig: Path | None = None, token: str | None = None) -> Any:
    extra = [f"--kubeconfig={kubeconfig}"] if kubeconfig else []
    if token is not None:
        extra = [f"--kubeconfig={kubeconfig or no_credentials(cluster)}", f"--token={token}"]
    return cluster.kubectl(KUBECTLS[0], *extra, *args, check=False, timeout=60)


def whoami(out: Any) -> dict[str, str]:
    """`kubectl auth whoami`'s table as {attribute: value}."""
    assert out.returncode == 0, out.stderr
    rows = [line.split(None, 1) for line in out.stdout.strip().splitlines()]
    assert rows[0] == ["ATTRIBUTE", "VALUE"], out.stdout
    return {key: value.strip() for key, value in rows[1:]}


def token_secret(name: str, account: str) -> dict[str, Any]:
    annotations = {"kubernetes.io/service-account.name": account}
    return {"metadata": {"name": name, "annotations": annotations}, "type": TOKEN_TYPE}


def secret(cluster: Cluster, ns: str, name: str) -> dict[str, Any] | None:
    status, body = cluster.json("GET", f"/api/v1/namespaces/{ns}/secrets/{name}")
    return body if status == 200 else None


def filled(cluster: Cluster, ns: str, name: str) -> dict[str, Any]:
    """The Secret once the token controller gave it its token."""
    return cluster.wait_for(lambda: (s := secret(cluster, ns, name)) and "token" in (s.get("data") or {}) and s)


# ---- ServiceAccount token Secrets --------------------------------------------------------------------------------


def test_a_token_secret_is_filled_and_its_token_is_the_account(cluster: Cluster, ns: str) -> None:
    require_kubectl()
    create(cluster, f"/api/v1/namespaces/{ns}/serviceaccounts", {"metadata": {"name": "deployer"}})
    rules = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]
    create(cluster, f"{RBAC}/namespaces/{ns}/roles", {"metadata": {"name": "pod-reader"}, "rules": rules})
    binding = {
        "metadata": {"name": "pod-reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer"}],
    }
    create(cluster, f"{RBAC}/namespaces/{ns}/rolebindings", binding)
    create(cluster, f"/api/v1/namespaces/{ns}/secrets", token_secret("deployer-token", "deployer"))

    got = filled(cluster, ns, "deployer-token")
    account = cluster.json("GET", f"/api/v1/namespaces/{ns}/serviceaccounts/deployer")[1]
    assert sorted(got["data"]) == ["ca.crt", "namespace", "token"]
    assert base64.b64decode(got["data"]["ca.crt"]) == (cluster.state / "ca.crt").read_bytes()
    assert base64.b64decode(got["data"]["namespace"]).decode() == ns
    assert got["metadata"]["annotations"] == {
        "kubernetes.io/service-account.name": "deployer",
        "kubernetes.io/service-account.uid": account["metadata"]["uid"],
    }
    described = kubectl(cluster, "-n", ns, "describe", "secret", "deployer-token").stdout
    assert "Type:  kubernetes.io/service-account-token" in described and "namespace:  " in described

    token = base64.b64decode(got["data"]["token"]).decode()
    me = whoami(kubectl(cluster, "auth", "whoami", token=token))
    assert me["Username"] == f"system:serviceaccount:{ns}:deployer"
    assert me["Groups"] == f"[system:serviceaccounts system:serviceaccounts:{ns} system:authenticated]"
    assert kubectl(cluster, "-n", ns, "auth", "can-i", "list", "pods", token=token).stdout.strip() == "yes"
    assert kubectl(cluster, "-n", ns, "auth", "can-i", "delete", "pods", token=token).stdout.strip() == "no"
    out = kubectl(cluster, "-n", ns, "get", "secrets", token=token)
    assert out.stderr.strip() == (
        f'Error from server (Forbidden): secrets is forbidden: User "system:serviceaccount:{ns}:deployer" cannot '
        f'list resource "secrets" in API group "" in the namespace "{ns}"'
    )

    # the token lives as long as its Secret
    assert kubectl(cluster, "-n", ns, "delete", "secret", "deployer-token").returncode == 0
    out = kubectl(cluster, "auth", "whoami", token=token)
    assert (out.returncode, out.stderr.strip()) == (1, "error: You must be logged in to the server (Unauthorized)")


def test_a_token_secret_dies_with_its_account(cluster: Cluster, ns: str) -> None:
    require_kubectl()
    create(cluster, f"/api/v1/namespaces/{ns}/serviceaccounts", {"metadata": {"name": "temp"}})
    create(cluster, f"/api/v1/namespaces/{ns}/secrets", token_secret("temp-token", "temp"))
    token = base64.b64decode(filled(cluster, ns, "temp-token")["data"]["token"]).decode()
    assert whoami(kubectl(cluster, "auth", "whoami", token=token))["Username"] == f"system:serviceaccount:{ns}:temp"

    assert kubectl(cluster, "-n", ns, "delete", "serviceaccount", "temp").returncode == 0
    cluster.wait_for(lambda: secret(cluster, ns, "temp-token") is None)
    out = kubectl(cluster, "auth", "whoami", token=token)
    assert (out.returncode, out.stderr.strip()) == (1, "error: You must be logged in to the server (Unauthorized)")
    # an account of the same name is another account: the old token stays dead
    create(cluster, f"/api/v1/namespaces/{ns}/serviceaccounts", {"metadata": {"name": "temp"}})
    assert kubectl(cluster, "auth", "whoami", token=token).returncode == 1


def test_a_token_secret_for_a_missing_account_is_deleted(cluster: Cluster, ns: str) -> None:
    create(cluster, f"/api/v1/namespaces/{ns}/secrets", token_secret("ghost-token", "ghost"))
    cluster.wait_for(lambda: secret(cluster, ns, "ghost-token") is None)
    # and one naming no account at all is refused by validation
    status, body = cluster.json(
        "POST", f"/api/v1/namespaces/{ns}/secrets", {"metadata": {"name": "nobody"}, "type": TOKEN_TYPE}
    )
    assert (status, body["message"]) == (
        422,
        'Secret "nobody" is invalid: metadata.annotations[kubernetes.io/service-account.name]: Required value',
    )


# ---- client certificates -----------------------------------------------------------------------------------------


def _issue(
    signer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], cn: str, orgs: tuple[str, ...], *, days: float = 1
) -> tuple[bytes, bytes]:
    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([*subject, x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(signer[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=2))
        .not_valid_after(now + datetime.timedelta(days=days))
        .sign(signer[1], hashes.SHA256())
    )
    pkcs8, clear = serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    return cert.public_bytes(serialization.Encoding.PEM), key.private_bytes(serialization.Encoding.PEM, pkcs8, clear)


def _another_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubesim-ca")])  # same name, other key
    now = datetime.datetime.now(datetime.UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return ca, key


def cert_kubeconfig(cluster: Cluster, path: Path, cert: bytes, key: bytes) -> Path:
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    config["users"][0]["user"] = {
        "client-certificate-data": base64.b64encode(cert).decode(),
        "client-key-data": base64.b64encode(key).decode(),
    }
    path.write_text(yaml.safe_dump(config))
    return path


def raw_get(cluster: Cluster, path: str, cert: tuple[bytes, bytes] | None, tmp: Path) -> tuple[int, Any]:
    """GET over TLS with this client certificate (or none) and no Authorization header."""
    context = ssl.create_default_context(cafile=str(cluster.state / "ca.crt"))
    if cert is not None:
        (tmp / "c.crt").write_bytes(cert[0])
        (tmp / "c.key").write_bytes(cert[1])
        context.load_cert_chain(tmp / "c.crt", tmp / "c.key")
    host, port = cluster.server.removeprefix("https://").split(":")
    conn = http.client.HTTPSConnection(host, int(port), context=context, timeout=10)
    try:
        conn.request("GET", path, headers={"Accept": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_a_certificate_of_the_cluster_ca_is_its_cn_in_its_o_groups(cluster: Cluster, ns: str, tmp_path: Path) -> None:
    require_kubectl()
    jane = _issue(tls.load_ca(cluster.state), "jane", ("dev-team", "qa"))
    config = cert_kubeconfig(cluster, tmp_path / "jane.kubeconfig", *jane)
    me = whoami(kubectl(cluster, "auth", "whoami", kubeconfig=config))
    assert me == {"Username": "jane", "Groups": "[dev-team qa system:authenticated]"}

    assert kubectl(cluster, "-n", ns, "get", "pods", kubeconfig=config).stderr.strip() == (
        'Error from server (Forbidden): pods is forbidden: User "jane" cannot list resource "pods" in API group "" '
        f'in the namespace "{ns}"'
    )
    rules = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]
    create(cluster, f"{RBAC}/namespaces/{ns}/roles", {"metadata": {"name": "lister"}, "rules": rules})
    binding = {
        "metadata": {"name": "dev-team"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "lister"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "dev-team"}],
    }
    create(cluster, f"{RBAC}/namespaces/{ns}/rolebindings", binding)
    out = kubectl(cluster, "-n", ns, "get", "pods", kubeconfig=config)
    assert (out.returncode, out.stderr.strip()) == (0, f"No resources found in {ns} namespace.")
    status, body = raw_get(cluster, f"/api/v1/namespaces/{ns}/pods", jane, tmp_path)
    assert (status, body["kind"]) == (200, "PodList")


def test_a_certificate_of_another_ca_is_401(cluster: Cluster, tmp_path: Path) -> None:
    require_kubectl()
    forged = _issue(_another_ca(), "kubernetes-admin", ("system:masters",))
    assert raw_get(cluster, "/api/v1/namespaces", forged, tmp_path) == (401, UNAUTHORIZED)
    config = cert_kubeconfig(cluster, tmp_path / "f", *forged)
    # a cache of its own: kubectl's words depend on whether discovery (refused first) was cached
    out = kubectl(cluster, "get", "namespaces", f"--cache-dir={tmp_path / 'cache'}", kubeconfig=config)
    assert (out.returncode, out.stderr.strip().splitlines()[-1]) == (
        1,
        "error: You must be logged in to the server (the server has asked for the client to provide credentials)",
    )
    out = kubectl(cluster, "auth", "whoami", kubeconfig=config)
    assert (out.returncode, out.stderr.strip()) == (1, "error: You must be logged in to the server (Unauthorized)")
    expired = _issue(tls.load_ca(cluster.state), "kubernetes-admin", ("system:masters",), days=-1)
    assert raw_get(cluster, "/api/v1/namespaces", expired, tmp_path) == (401, UNAUTHORIZED)


def test_no_credentials_is_still_401(cluster: Cluster, tmp_path: Path) -> None:
    assert raw_get(cluster, "/api/v1/namespaces", None, tmp_path) == (401, UNAUTHORIZED)
    assert cluster.request("GET", "/readyz", token="")[0] == 200


def test_the_admin_kubeconfig_is_a_client_certificate_as_kinds(cluster: Cluster) -> None:
    require_kubectl()
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    user = config["users"][0]["user"]
    assert sorted(user) == ["client-certificate-data", "client-key-data"]
    cert = x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"]))
    assert cert.subject.rfc4514_string() == "CN=kubernetes-admin,O=system:masters,O=kubeadm:cluster-admins"
    me = whoami(kubectl(cluster, "auth", "whoami"))
    groups = "[kubeadm:cluster-admins system:masters system:authenticated]"
    assert me == {"Username": "kubernetes-admin", "Groups": groups}
    assert kubectl(cluster, "auth", "can-i", "*", "*").stdout.strip() == "yes"

    from kubernetes import client

    api = cluster.api_client()
    authn: Any = client.AuthenticationV1Api(api)
    review = authn.create_self_subject_review(client.V1SelfSubjectReview())
    assert review.status.user_info.username == "kubernetes-admin"
    assert "system:masters" in review.status.user_info.groups
    core: Any = client.CoreV1Api(api)
    assert {"default", "kube-system"} <= {n.metadata.name for n in core.list_namespace().items}


def test_every_namespace_publishes_the_cluster_ca_in_kube_root_ca(cluster: Cluster, ns: str) -> None:
    """kube-root-ca.crt holds the CA that signs the server's certificate, as the root CA publisher keeps it."""
    published = cluster.wait_for(
        lambda: cluster.json("GET", f"/api/v1/namespaces/{ns}/configmaps/kube-root-ca.crt")[1].get("data"),
        timeout=10,
        interval=0.1,
    )
    assert published["ca.crt"] == (cluster.state / "ca.crt").read_text()
    x509.load_pem_x509_certificate(published["ca.crt"].encode())  # a certificate, not a comment
