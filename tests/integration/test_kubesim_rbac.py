"""RBAC for ServiceAccount tokens, with the real kubectl: `kubectl create token`, `auth can-i` (and `--list`),
the apiserver's 403 sentences, exec allowed by `create pods/exec`, and a token that dies with its account."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import KUBECTLS, Cluster, require_kubectl
from tests.integration.credentials import no_credentials
from tests.integration.web import busybox, create

RBAC = "/apis/rbac.authorization.k8s.io/v1"
ONCALL_RULES = [
    {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods", "pods/log", "events"]},
    {"verbs": ["get", "patch"], "apiGroups": ["apps"], "resources": ["deployments", "deployments/scale"]},
    {"verbs": ["create"], "apiGroups": [""], "resources": ["pods/exec"]},
]


def kubectl(cluster: Cluster, *args: str, token: str | None = None) -> Any:
    # with a token, a kubeconfig without the admin's client certificate (which would win over the token)
    extra = [f"--kubeconfig={no_credentials(cluster)}", f"--token={token}"] if token is not None else []
    return cluster.kubectl(KUBECTLS[0], *args, *extra, check=False, timeout=60)


@pytest.fixture(scope="module")
def team(cluster: Cluster) -> dict[str, str]:
    """Namespace with accounts `oncall` (bound to the on-call Role) and `nobody`, a busybox pod, and their tokens."""
    require_kubectl()
    ns = cluster.namespace("rbac")
    for name in ("oncall", "nobody"):
        create(cluster, f"/api/v1/namespaces/{ns}/serviceaccounts", {"metadata": {"name": name}})
    create(cluster, f"{RBAC}/namespaces/{ns}/roles", {"metadata": {"name": "oncall"}, "rules": ONCALL_RULES})
    binding = {
        "metadata": {"name": "oncall"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "oncall"},
        "subjects": [{"kind": "ServiceAccount", "name": "oncall", "namespace": ns}],
    }
    create(cluster, f"{RBAC}/namespaces/{ns}/rolebindings", binding)
    busybox(cluster, ns, "bb", ["sleep", "600"])
    tokens = {}
    for name in ("oncall", "nobody"):
        out = kubectl(cluster, "-n", ns, "create", "token", name)
        assert out.returncode == 0, out.stderr
        tokens[name] = out.stdout.strip()
    return {"ns": ns, **tokens}


def test_can_i_answers_truthfully(cluster: Cluster, team: dict[str, str]) -> None:
    ns, token = team["ns"], team["oncall"]
    for args, answer in (
        (["get", "pods"], "yes"),
        (["watch", "pods"], "yes"),
        (["create", "pods", "--subresource=exec"], "yes"),
        (["patch", "deployments.apps", "--subresource=scale"], "yes"),
        (["create", "pods", "--subresource=attach"], "no"),
        (["delete", "pods"], "no"),
        (["get", "secrets"], "no"),
        (["get", "configmaps/sockshop-incident-lock"], "no"),
        (["list", "namespaces"], "no"),
    ):
        out = kubectl(cluster, "auth", "can-i", *args, "-n", ns, token=token)
        assert (out.stdout.strip(), out.returncode) == (answer, 0 if answer == "yes" else 1), (args, out)
    listed = kubectl(cluster, "auth", "can-i", "--list", "-n", ns, token=token).stdout.splitlines()
    rows = {line.split()[0]: line[line.rindex("[") :] for line in listed[1:] if not line.startswith(" ")}
    assert rows["pods"] == rows["pods/log"] == rows["events"] == "[get list watch]"
    assert rows["deployments.apps"] == rows["deployments.apps/scale"] == "[get patch]"
    assert rows["pods/exec"] == "[create]"
    assert "secrets" not in rows and "configmaps" not in rows


def test_refusals_read_as_the_apiserver(cluster: Cluster, team: dict[str, str]) -> None:
    ns = team["ns"]
    who = f'User "system:serviceaccount:{ns}:oncall"'
    out = kubectl(cluster, "get", "namespaces", token=team["oncall"])
    assert out.returncode == 1
    assert out.stderr.strip() == (
        f'Error from server (Forbidden): namespaces is forbidden: {who} cannot list resource "namespaces" in API '
        'group "" at the cluster scope'
    )
    out = kubectl(cluster, "-n", ns, "get", "configmap", "sockshop-incident-lock", token=team["oncall"])
    assert out.stderr.strip() == (
        f'Error from server (Forbidden): configmaps "sockshop-incident-lock" is forbidden: {who} cannot get resource '
        f'"configmaps" in API group "" in the namespace "{ns}"'
    )
    out = kubectl(cluster, "-n", ns, "delete", "pod", "bb", token=team["oncall"])
    assert out.returncode == 1 and "cannot delete resource" in out.stderr
    assert kubectl(cluster, "-n", ns, "get", "pod", "bb", token=team["nobody"]).returncode == 1


def test_exec_and_logs_follow_the_role(cluster: Cluster, team: dict[str, str]) -> None:
    ns = team["ns"]
    out = kubectl(cluster, "-n", ns, "exec", "bb", "--", "hostname", token=team["oncall"])
    assert (out.returncode, out.stdout) == (0, "bb\n"), out
    assert kubectl(cluster, "-n", ns, "logs", "bb", token=team["oncall"]).returncode == 0
    # create pods/exec is what the WebSocket exec needs; `get pods` alone is not enough
    status, body = cluster.json(
        "GET",
        f"/api/v1/namespaces/{ns}/pods/bb/exec?command=hostname&stdout=true",
        token=team["nobody"],
        headers={"Connection": "Upgrade", "Upgrade": "websocket"},
    )
    assert (status, body["reason"]) == (403, "Forbidden") and 'cannot create resource "pods/exec"' in body["message"]


def test_a_token_dies_with_its_account(cluster: Cluster, team: dict[str, str]) -> None:
    ns = team["ns"]
    create(cluster, f"/api/v1/namespaces/{ns}/serviceaccounts", {"metadata": {"name": "temp"}})
    token = kubectl(cluster, "-n", ns, "create", "token", "temp", "--duration=15m").stdout.strip()
    assert kubectl(cluster, "auth", "can-i", "get", "pods", "-n", ns, token=token).stdout.strip() == "no"
    assert kubectl(cluster, "-n", ns, "delete", "serviceaccount", "temp").returncode == 0
    out = kubectl(cluster, "auth", "can-i", "get", "pods", "-n", ns, token=token)
    assert out.returncode == 1 and "Unauthorized" in out.stderr
    out = kubectl(cluster, "-n", ns, "create", "token", "oncall", "--duration=1m")
    assert out.returncode == 1 and "may not specify a duration less than 10 minutes" in out.stderr
    assert kubectl(cluster, "get", "--raw", "/version", token="not-a-token").returncode == 1


def test_impersonation(cluster: Cluster, team: dict[str, str]) -> None:
    """`kubectl --as`: the admin checks an account's rights as that account; an account may not impersonate."""
    ns = team["ns"]
    oncall = f"--as=system:serviceaccount:{ns}:oncall"
    assert kubectl(cluster, "auth", "can-i", "get", "pods", "-n", ns, oncall).stdout.strip() == "yes"
    assert kubectl(cluster, "auth", "can-i", "get", "secrets", "-n", ns, oncall).stdout.strip() == "no"
    out = kubectl(cluster, "get", "namespaces", oncall)
    assert out.returncode == 1 and f'User "system:serviceaccount:{ns}:oncall" cannot list' in out.stderr
    group = kubectl(cluster, "auth", "can-i", "list", "pods", "-n", ns, "--as=someone", "--as-group=system:masters")
    assert group.stdout.strip() == "yes"  # impersonating a group gives its rights, as on a real cluster
    out = kubectl(cluster, "get", "pods", "-n", ns, "--as=bob", token=team["oncall"])
    assert out.returncode == 1
    assert (
        f'users "bob" is forbidden: User "system:serviceaccount:{ns}:oncall" cannot impersonate resource "users" '
        'in API group "" at the cluster scope'
    ) in out.stderr
