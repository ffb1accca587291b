"""Authentication without a server: Secret-based ServiceAccount tokens and the x509 authenticator's checks."""

from __future__ import annotations

import base64
import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubesim import rbac, tls
from kubesim.store import Store

SECRET = "cluster-secret"
DER = serialization.Encoding.DER


def account(name: str, uid: str) -> dict[str, Any]:
    return {"kind": "ServiceAccount", "metadata": {"namespace": "shop", "name": name, "uid": uid}}


def holder(name: str, token: str, **meta: Any) -> dict[str, Any]:
    data = {"token": base64.b64encode(token.encode()).decode()}
    return {"kind": "Secret", "metadata": {"namespace": "shop", "name": name, **meta}, "data": data}


@pytest.fixture
def store() -> Store:
    s = Store(None)
    s.put("serviceaccounts", account("deployer", "uid-1"))
    return s


def test_a_secret_token_is_its_account_while_secret_and_account_last(store: Store) -> None:
    sa = store.peek("serviceaccounts", "shop", "deployer")
    assert sa is not None
    token = rbac.issue_secret_token(SECRET, sa, "deployer-token")
    assert rbac.secret_token_user(SECRET, token, store) is None  # no Secret holds it yet
    store.put("secrets", holder("deployer-token", token))
    user = rbac.secret_token_user(SECRET, token, store)
    assert user == rbac.service_account("shop", "deployer") and user is not None and user.uid == "uid-1"
    assert rbac.token_user(SECRET, token, store) is None  # not a TokenRequest token
    assert rbac.secret_token_user("another-cluster", token, store) is None
    store.put("secrets", holder("deployer-token", token + "x"))  # the Secret holds another token now
    assert rbac.secret_token_user(SECRET, token, store) is None
    store.put("secrets", holder("deployer-token", token, deletionTimestamp="2026-01-01T00:00:00Z"))
    assert rbac.secret_token_user(SECRET, token, store) is None  # being deleted: invalidated
    store.put("secrets", holder("deployer-token", token))
    store.put("serviceaccounts", account("deployer", "uid-2"))  # another account of the same name
    assert rbac.secret_token_user(SECRET, token, store) is None


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c", "ksa.x.y", "e30.e30.sig"])
def test_malformed_secret_tokens(store: Store, token: str) -> None:
    assert rbac.secret_token_user(SECRET, token, store) is None


def _cert(
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey],
    subject: list[x509.NameAttribute],
    *,
    usage: list[x509.ObjectIdentifier] | None = None,
    start: datetime.datetime,
) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(subject))
        .issuer_name(issuer[0])
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=1))
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    return builder.sign(issuer[1], hashes.SHA256()).public_bytes(DER)


def test_client_user(tmp_path: Path) -> None:
    ca, ca_key = tls.load_ca(tmp_path)
    now = datetime.datetime.now(datetime.UTC)
    start = now - datetime.timedelta(hours=1)
    cn = x509.NameAttribute(NameOID.COMMON_NAME, "jane")
    orgs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in ("dev", "qa")]
    signer = (ca.subject, ca_key)
    assert tls.client_user(_cert(signer, [*orgs, cn], start=start), ca) == ("jane", "dev", "qa")
    assert tls.client_user(_cert(signer, [cn], usage=[ExtendedKeyUsageOID.CLIENT_AUTH], start=start), ca) == ("jane",)
    assert tls.client_user(_cert(signer, [cn], usage=[ExtendedKeyUsageOID.SERVER_AUTH], start=start), ca) == ()
    assert tls.client_user(_cert(signer, orgs, start=start), ca) == ()  # no CN: no user
    assert tls.client_user(_cert(signer, [cn], start=now + datetime.timedelta(hours=1)), ca) == ()  # not yet
    assert tls.client_user(_cert(signer, [cn], start=now - datetime.timedelta(days=2)), ca) == ()  # expired
    forger = (ca.subject, ec.generate_private_key(ec.SECP256R1()))  # the CA's name, another key
    assert tls.client_user(_cert(forger, [cn], start=start), ca) == ()
    assert tls.client_user(None, ca) == () and tls.client_user(b"not DER", ca) == ()
    admin = x509.load_pem_x509_certificate(tls.admin_credentials(tmp_path)[0])
    assert tls.client_user(admin.public_bytes(DER), ca) == (
        "kubernetes-admin",
        "kubeadm:cluster-admins",
        "system:masters",
    )
