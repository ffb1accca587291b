"""The cluster's private CA, the API server's serving certificate, and client-certificate authentication.

- `ca.crt` / `ca.key`: the cluster CA (kubeadm's /etc/kubernetes/pki/ca.*), kept in the state directory.
- `server.crt` / `server.key`: the serving certificate for 127.0.0.1 and the `kubernetes` Service names.
- `admin.crt` / `admin.key`: the admin's client certificate, CN `kubernetes-admin`, O `kubeadm:cluster-admins` and
  `system:masters`, which the kubeconfig carries as KIND's does (`client-certificate-data` / `client-key-data`).

As kube-apiserver (`--client-ca-file`, TLS `RequestClientCert`) the server asks every client for a certificate
but requires none, and the TLS layer accepts whatever is offered: the x509 authenticator (`client_user`) then
checks it against the cluster CA, so a certificate of another CA fails authentication (401) rather than the
handshake. The certificate's CN is the user name and its O fields the groups.
"""

from __future__ import annotations

import _ssl
import ctypes
import datetime
import functools
import ipaddress
import logging
import os
import ssl
import sys
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

log = logging.getLogger("kubesim")
_VALID = datetime.timedelta(days=3650)
_CLIENT_VALID = datetime.timedelta(days=365)  # kubeadm's client certificates last a year
ADMIN_CN = "kubernetes-admin"
ADMIN_ORGS = ("kubeadm:cluster-admins", "system:masters")


def _name(cn: str, orgs: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in orgs]
    return x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    path.chmod(0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    pkcs8, clear = serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, pkcs8, clear)


def client_certificate(
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    cn: str,
    orgs: tuple[str, ...] = (),
    *,
    now: datetime.datetime | None = None,
) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) of a client certificate signed by `ca`, as kubeadm issues them: CN the user,
    O the groups, extended key usage clientAuth."""
    start = (now or datetime.datetime.now(datetime.UTC)) - datetime.timedelta(minutes=5)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn, orgs))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + _CLIENT_VALID)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=False,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return _pem(cert), _key_pem(key)


def load_ca(root: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The cluster CA's certificate and key (ensure_certificates made them)."""
    ensure_certificates(root)
    key = serialization.load_pem_private_key((root / "ca.key").read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return x509.load_pem_x509_certificate((root / "ca.crt").read_bytes()), key


def admin_credentials(root: Path) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) of the admin's client certificate."""
    ensure_certificates(root)
    return (root / "admin.crt").read_bytes(), (root / "admin.key").read_bytes()


def ensure_certificates(root: Path) -> tuple[Path, Path, Path]:
    """(ca.crt, server.crt, server.key) under `root`, created once and kept across restarts, with the CA's key
    and the admin's client certificate beside them (a state directory from before they existed gets a new CA)."""
    ca_crt, srv_crt, srv_key = root / "ca.crt", root / "server.crt", root / "server.key"
    made = (ca_crt, srv_crt, srv_key, root / "ca.key", root / "admin.crt", root / "admin.key")
    if all(path.exists() for path in made):
        return ca_crt, srv_crt, srv_key
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("kubesim-ca"))
        .issuer_name(_name("kubesim-ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _VALID)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName(
        [
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("10.96.0.1")),
            x509.DNSName("localhost"),
            x509.DNSName("kubernetes"),
            x509.DNSName("kubernetes.default"),
            x509.DNSName("kubernetes.default.svc"),
            x509.DNSName("kubernetes.default.svc.cluster.local"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("kube-apiserver"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _VALID)
        .add_extension(san, critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    admin_crt, admin_key = client_certificate(ca, ca_key, ADMIN_CN, ADMIN_ORGS, now=now)
    ca_crt.write_bytes(_pem(ca))
    _write_private(root / "ca.key", _key_pem(ca_key))
    srv_crt.write_bytes(_pem(cert))
    _write_private(srv_key, _key_pem(key))
    (root / "admin.crt").write_bytes(admin_crt)
    _write_private(root / "admin.key", admin_key)
    return ca_crt, srv_crt, srv_key


# OpenSSL's verify callback type. The one installed accepts every certificate offered, so the handshake never
# fails on a client certificate and the authenticator decides (as Go's tls.RequestClientCert leaves it to the
# apiserver's x509 authenticator). A failed check (a bad signature) leaves an error on OpenSSL's error queue
# that the next read of the connection would report (`[ASN1] EVP lib`): the callback clears it.
_VERIFY_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)
_SSL_VERIFY_PEER = 0x01  # without SSL_VERIFY_FAIL_IF_NO_PEER_CERT: a certificate is asked for, not required


class _AcceptAny:
    """SSL_CTX_set_verify with an accept-all callback, through the libssl `_ssl` itself is linked with."""

    def __init__(self) -> None:
        lib = ctypes.CDLL(_ssl.__file__)  # its symbols and those of the libssl/libcrypto it loaded
        self.set_verify = lib.SSL_CTX_set_verify
        self.set_verify.argtypes = [ctypes.c_void_p, ctypes.c_int, _VERIFY_CALLBACK]
        self.set_verify.restype = None
        self.clear_errors = lib.ERR_clear_error
        self.clear_errors.argtypes, self.clear_errors.restype = [], None
        self.get_verify_mode = lib.SSL_CTX_get_verify_mode
        self.get_verify_mode.argtypes, self.get_verify_mode.restype = [ctypes.c_void_p], ctypes.c_int
        self.callback = _VERIFY_CALLBACK(self._verify)  # kept alive as long as this object (the process)

    def _verify(self, ok: int, _store: int | None) -> int:
        if not ok:
            self.clear_errors()
        return 1

    def install(self, ctx: ssl.SSLContext) -> bool:
        # the SSL_CTX pointer is the first field after the object header of CPython's PySSLContext
        if sys.implementation.name != "cpython" or ctx.verify_mode != ssl.CERT_OPTIONAL:
            return False
        ssl_ctx = ctypes.c_void_p.from_address(id(ctx) + object.__basicsize__).value
        # The field is what the context says it is only if OpenSSL reads back the mode CERT_OPTIONAL set
        # (SSL_VERIFY_PEER alone): a CPython with another layout is left alone rather than written into.
        if not ssl_ctx or self.get_verify_mode(ssl_ctx) != _SSL_VERIFY_PEER:
            return False
        self.set_verify(ssl_ctx, _SSL_VERIFY_PEER, self.callback)
        return True


@functools.cache
def _accept_any() -> _AcceptAny | None:
    try:
        return _AcceptAny()
    except (OSError, AttributeError):
        return None


def _request_client_certificates(ctx: ssl.SSLContext) -> bool:
    """Ask clients for a certificate without letting OpenSSL refuse one; False when that is not possible."""
    accept = _accept_any()
    return accept is not None and accept.install(ctx)


def server_context(root: Path) -> ssl.SSLContext:
    ca, crt, key = ensure_certificates(root)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(crt), str(key))
    ctx.load_verify_locations(str(ca))  # the CAs named in the certificate request (kubectl picks by them)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    if not _request_client_certificates(ctx):
        log.warning("client certificates from other CAs fail the TLS handshake (cannot set a verify callback)")
    return ctx


def client_user(der: bytes | None, ca: x509.Certificate, now: datetime.datetime | None = None) -> tuple[str, ...]:
    """The x509 authenticator: (user, *groups) of a client certificate signed by the cluster CA, valid now,
    usable for client authentication and naming a user (CN; the O fields are the groups); () otherwise."""
    if not der:
        return ()
    try:
        cert = x509.load_der_x509_certificate(der)
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return ()
    moment = now or datetime.datetime.now(datetime.UTC)
    if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
        return ()
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = None  # no extended key usage: any use is allowed
    if usages is not None and not {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE} & set(
        usages
    ):
        return ()
    names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if not names or not names[0]:
        return ()
    groups = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    return (names[0], *groups)


def client_context(root: Path) -> ssl.SSLContext:
    ca, _, _ = ensure_certificates(root)
    return ssl.create_default_context(cafile=str(ca))
