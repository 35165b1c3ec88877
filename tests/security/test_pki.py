"""The development PKI: layout, key usages, country in the subject, idempotency, key modes."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import stat

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ncp.security.pki import LEAF_KINDS, _load, init_pki, issue_leaf
from ncp.security.truststore import certificate_country


def _cert(path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_layout_and_key_modes(pki_root):
    for cc in ("lu", "be"):
        for stem in ("ca", *LEAF_KINDS):
            assert (pki_root / cc / f"{stem}.pem").is_file()
            mode = stat.S_IMODE((pki_root / cc / f"{stem}.key").stat().st_mode)
            assert mode == 0o600, (cc, stem, oct(mode))
        assert (pki_root / cc / "ca.crl").is_file()
    data = json.loads((pki_root / "trust-list.json").read_text())
    assert set(data["countries"]) == {"LU", "BE"}
    assert data["countries"]["BE"]["crls"] == ["be/ca.crl"]


def test_country_and_chain(pki_root):
    for cc in ("LU", "BE"):
        ca = _cert(pki_root / cc.lower() / "ca.pem")
        assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        for stem in LEAF_KINDS:
            leaf = _cert(pki_root / cc.lower() / f"{stem}.pem")
            assert certificate_country(leaf) == cc
            leaf.verify_directly_issued_by(ca)


def test_key_usages(pki_root):
    server = _cert(pki_root / "lu" / "tls-server.pem")
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    client = _cert(pki_root / "lu" / "tls-client.pem")
    assert list(client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH]
    signing = _cert(pki_root / "lu" / "signing.pem")
    ku = signing.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.content_commitment and not ku.key_cert_sign
    cn = signing.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert "signing" in cn


def test_idempotent_keeps_valid_files(pki_copy):
    before = {p: p.read_bytes() for p in pki_copy.rglob("*") if p.is_file()}
    init_pki(pki_copy, ("LU", "BE"))
    after = {p: p.read_bytes() for p in pki_copy.rglob("*") if p.is_file()}
    assert before == after


def test_missing_or_expired_files_are_reissued(pki_copy):
    (pki_copy / "lu" / "tls-client.pem").unlink()
    ca = _load(pki_copy / "lu", "ca")
    now = dt.datetime.now(dt.UTC)
    expired = issue_leaf(ca, "signing", not_before=now - dt.timedelta(days=10),
                         not_after=now - dt.timedelta(days=1))
    from ncp.security.pki import _save

    _save(pki_copy / "lu", "signing", expired)
    ca_before = (pki_copy / "lu" / "ca.pem").read_bytes()
    init_pki(pki_copy, ("LU",))
    assert (pki_copy / "lu" / "tls-client.pem").is_file()
    assert _cert(pki_copy / "lu" / "signing.pem").not_valid_after_utc > now
    assert (pki_copy / "lu" / "ca.pem").read_bytes() == ca_before


def test_new_country_is_added_to_the_trust_list(pki_copy):
    init_pki(pki_copy, ("FR",))
    data = json.loads((pki_copy / "trust-list.json").read_text())
    assert set(data["countries"]) == {"LU", "BE", "FR"}


def test_leaf_under_a_replaced_ca_is_reissued(pki_copy):
    (pki_copy / "be" / "ca.key").unlink()
    old_signing = (pki_copy / "be" / "signing.pem").read_bytes()
    init_pki(pki_copy, ("BE",))
    ca = _cert(pki_copy / "be" / "ca.pem")
    assert (pki_copy / "be" / "signing.pem").read_bytes() != old_signing
    _cert(pki_copy / "be" / "signing.pem").verify_directly_issued_by(ca)
