"""The throwaway PKI has what the API server and its admin client need; ports are unique."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sparket_local_services.pki import make_cluster_pki, make_server_pki
from sparket_local_services.ports import free_port


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_serving_and_admin_certificates_chain_to_the_ca(tmp_path: Path) -> None:
    pki = make_cluster_pki(tmp_path)
    ca, serving, admin = _load(pki.ca_cert), _load(pki.serving_cert), _load(pki.admin_cert)
    serving.verify_directly_issued_by(ca)
    admin.verify_directly_issued_by(ca)

    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in sans.get_values_for_type(x509.IPAddress)
    assert "localhost" in sans.get_values_for_type(x509.DNSName)
    eku = serving.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku

    org = admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    assert org == "system:masters"
    assert pki.admin_key.stat().st_mode & 0o077 == 0
    assert pki.sa_private.stat().st_mode & 0o077 == 0


def test_free_ports_are_never_handed_out_twice() -> None:
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(1024 < p < 65536 for p in ports)


def test_a_server_certificate_chains_to_its_own_ca_and_names_its_hosts(tmp_path: Path) -> None:
    pki = make_server_pki(tmp_path / "a", common_name="redis", hosts=("127.0.0.1", "redis.local"))
    other = make_server_pki(tmp_path / "b", common_name="redis")
    ca, server = _load(pki.ca_cert), _load(pki.server_cert)
    server.verify_directly_issued_by(ca)
    with pytest.raises(InvalidSignature):  # two calls, two unrelated CAs (same name)
        server.verify_directly_issued_by(_load(other.ca_cert))
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert sans.get_values_for_type(x509.DNSName) == ["redis.local"]
    assert pki.server_key.stat().st_mode & 0o077 == 0
