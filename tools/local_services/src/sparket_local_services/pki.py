"""A throwaway PKI for the local kube-apiserver, and for TLS test services (Redis).

The API server needs a serving certificate, a client CA for its admin user and a key pair
for signing ServiceAccount tokens. We make all of them in-process with `cryptography`, so
no openssl configuration files are involved and nothing outlives the cluster's directory.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = dt.timedelta(days=30)


@dataclass(frozen=True)
class ClusterPki:
    """Paths of the PEM files the control plane components read."""

    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    admin_cert: Path
    admin_key: Path
    sa_public: Path
    sa_private: Path


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attrs)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _issue(
    *,
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    is_ca: bool,
    usages: list[x509.ObjectIdentifier],
    sans: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    if is_ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_cluster_pki(directory: Path, api_ips: Sequence[str] = ()) -> ClusterPki:
    """Create a CA, the API server's serving cert, an admin client cert and SA keys.
    `api_ips`: more addresses the API server is reached at (a real node's pods reach it
    at the node's IP, behind the `kubernetes` Service)."""
    directory.mkdir(parents=True, exist_ok=True)
    pki = ClusterPki(
        ca_cert=directory / "ca.crt",
        ca_key=directory / "ca.key",
        serving_cert=directory / "apiserver.crt",
        serving_key=directory / "apiserver.key",
        admin_cert=directory / "admin.crt",
        admin_key=directory / "admin.key",
        sa_public=directory / "sa.pub",
        sa_private=directory / "sa.key",
    )
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("sparket-local-ca")
    ca_cert = _issue(
        subject=ca_name, key=ca_key, issuer=ca_name, issuer_key=ca_key, is_ca=True, usages=[]
    )
    _write_key(pki.ca_key, ca_key)
    _write_cert(pki.ca_cert, ca_cert)

    serving_key = ec.generate_private_key(ec.SECP256R1())
    serving_sans: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.DNSName("kubernetes"),
        x509.DNSName("kubernetes.default.svc"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        # The first address of --service-cluster-ip-range, which the apiserver advertises.
        x509.IPAddress(ipaddress.ip_address("10.96.0.1")),
        *(x509.IPAddress(ipaddress.ip_address(ip)) for ip in api_ips),
    ]
    serving_cert = _issue(
        subject=_name("kube-apiserver"),
        key=serving_key,
        issuer=ca_name,
        issuer_key=ca_key,
        is_ca=False,
        usages=[ExtendedKeyUsageOID.SERVER_AUTH],
        sans=serving_sans,
    )
    _write_key(pki.serving_key, serving_key)
    _write_cert(pki.serving_cert, serving_cert)

    admin_key = ec.generate_private_key(ec.SECP256R1())
    admin_cert = _issue(
        subject=_name("sparket-admin", "system:masters"),
        key=admin_key,
        issuer=ca_name,
        issuer_key=ca_key,
        is_ca=False,
        usages=[ExtendedKeyUsageOID.CLIENT_AUTH],
    )
    _write_key(pki.admin_key, admin_key)
    _write_cert(pki.admin_cert, admin_cert)

    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_key(pki.sa_private, sa_key)
    pki.sa_public.write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return pki


@dataclass(frozen=True)
class ServerPki:
    """A CA and one server certificate it issued (PEM files), for a TLS service in tests."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


def make_server_pki(
    directory: Path, *, common_name: str, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
) -> ServerPki:
    """A fresh CA of its own and a serving certificate for `hosts` (IP addresses become IP
    SANs, the rest DNS names), so clients can verify both the chain and the host name. Two
    calls make two unrelated CAs: one's certificate is the "wrong CA" for the other."""
    directory.mkdir(parents=True, exist_ok=True)
    pki = ServerPki(
        ca_cert=directory / "ca.crt",
        server_cert=directory / "server.crt",
        server_key=directory / "server.key",
    )
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{common_name}-ca")
    ca_cert = _issue(
        subject=ca_name, key=ca_key, issuer=ca_name, issuer_key=ca_key, is_ca=True, usages=[]
    )
    _write_cert(pki.ca_cert, ca_cert)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _issue(
        subject=_name(common_name),
        key=server_key,
        issuer=ca_name,
        issuer_key=ca_key,
        is_ca=False,
        usages=[ExtendedKeyUsageOID.SERVER_AUTH],
        sans=[_san(host) for host in hosts],
    )
    _write_key(pki.server_key, server_key)
    _write_cert(pki.server_cert, server_cert)
    return pki


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def issue_client_cert(
    pki: ClusterPki, directory: Path, name: str, *, common_name: str, organization: str | None
) -> tuple[Path, Path]:
    """A client certificate from the cluster CA (a kubelet's `system:node:<name>`, say)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError("the cluster CA key is expected to be an EC key")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue(
        subject=_name(common_name, organization),
        key=key,
        issuer=ca_cert.subject,
        issuer_key=ca_key,
        is_ca=False,
        usages=[ExtendedKeyUsageOID.CLIENT_AUTH],
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    _write_key(key_path, key)
    _write_cert(cert_path, cert)
    return cert_path, key_path
