"""Trust store: chain to the claimed country's anchor, dates, usage, CRLs, reload on change."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest

from ncp.security.errors import CertificateError
from ncp.security.pki import _load, issue_ca, issue_leaf, revoke, write_crl
from ncp.security.truststore import Purpose, TrustStore

NOW = dt.datetime.now(dt.UTC)


def _reason(store: TrustStore, cert, **kw) -> str:
    kw.setdefault("country", "BE")
    kw.setdefault("purpose", Purpose.SIGNING)
    kw.setdefault("now", NOW)
    with pytest.raises(CertificateError) as info:
        store.validate(cert, **kw)
    return info.value.reason


def test_valid_signer_gives_chain(trust, be_creds):
    chain = trust.validate(be_creds.certificate, country="BE", purpose=Purpose.SIGNING, now=NOW)
    assert chain[0] == be_creds.certificate and len(chain) == 2


def test_country_must_match(trust, be_creds):
    assert _reason(trust, be_creds.certificate, country="LU") == "wrong-country"
    assert _reason(trust, be_creds.certificate, country="FR") == "country-not-trusted"


def test_chain_to_the_claimed_country(trust, pki_root):
    forged = issue_leaf(_load(pki_root / "lu", "ca"), "signing", country="BE")
    assert _reason(trust, forged.certificate) == "untrusted-issuer"


def test_dates(trust, pki_root):
    ca = _load(pki_root / "be", "ca")
    future = issue_leaf(ca, "signing", not_before=NOW + dt.timedelta(days=1),
                        not_after=NOW + dt.timedelta(days=30))
    assert _reason(trust, future.certificate) == "certificate-not-yet-valid"
    past = issue_leaf(ca, "signing", not_before=NOW - dt.timedelta(days=30),
                      not_after=NOW - dt.timedelta(days=1))
    assert _reason(trust, past.certificate) == "certificate-expired"


def test_cached_verdict_expires_with_the_certificate(trust, pki_root):
    ca = _load(pki_root / "be", "ca")
    short = issue_leaf(ca, "signing", not_after=NOW + dt.timedelta(hours=1))
    trust.validate(short.certificate, country="BE", purpose=Purpose.SIGNING, now=NOW)
    assert _reason(trust, short.certificate,
                   now=NOW + dt.timedelta(hours=2)) == "certificate-expired"


def test_purpose(trust, pki_root):
    ca = _load(pki_root / "be", "ca")
    client = issue_leaf(ca, "tls-client")
    assert _reason(trust, client.certificate) == "key-usage"
    assert _reason(trust, client.certificate, purpose=Purpose.TLS_SERVER) == "key-usage"
    trust.validate(client.certificate, country="BE", purpose=Purpose.TLS_CLIENT, now=NOW)
    ca_cert = _load(pki_root / "be", "ca").certificate
    assert _reason(trust, ca_cert) == "self-signed"


def test_self_signed(trust):
    rogue_ca = issue_ca("BE")
    assert _reason(trust, rogue_ca.certificate) == "self-signed"


def test_revocation_and_reload_without_restart(pki_copy):
    store = TrustStore(pki_copy / "trust-list.json", refresh_interval=0)
    ca = _load(pki_copy / "be", "ca")
    signer = issue_leaf(ca, "signing")
    store.validate(signer.certificate, country="BE", purpose=Purpose.SIGNING, now=NOW)
    revoke(pki_copy, "BE", signer.certificate)
    assert _reason(store, signer.certificate) == "revoked"
    other = issue_leaf(ca, "signing")
    store.validate(other.certificate, country="BE", purpose=Purpose.SIGNING, now=NOW)


def test_missing_stale_and_forged_crls(pki_copy):
    store = TrustStore(pki_copy / "trust-list.json", refresh_interval=0)
    ca = _load(pki_copy / "be", "ca")
    signer = issue_leaf(ca, "signing")
    crl = pki_copy / "be" / "ca.crl"
    write_crl(pki_copy / "be", ca, now=NOW - dt.timedelta(days=60),
              next_update=NOW - dt.timedelta(days=1))
    assert _reason(store, signer.certificate) == "crl-stale"
    rogue = issue_ca("BE")
    # a CRL with the right issuer name but signed by another key
    from ncp.security.pki import IssuedCertificate

    write_crl(pki_copy / "be", IssuedCertificate(ca.certificate, rogue.key))
    assert _reason(store, signer.certificate) == "crl-bad-signature"
    crl.unlink()
    assert _reason(store, signer.certificate) == "crl-missing"


def test_refresh_interval_limits_disk_checks(pki_copy, be_creds):
    path = pki_copy / "trust-list.json"
    store = TrustStore(path, refresh_interval=3600)
    store.validate(be_creds.certificate, country="BE", purpose=Purpose.SIGNING, now=NOW)
    path.write_text('{"countries": {}}')
    store.validate(be_creds.certificate, country="BE", purpose=Purpose.SIGNING, now=NOW)


def test_trust_list_edit_is_picked_up(pki_copy, be_creds):
    path = pki_copy / "trust-list.json"
    store = TrustStore(path, refresh_interval=0)
    store.validate(be_creds.certificate, country="BE", purpose=Purpose.SIGNING, now=NOW)
    data = json.loads(path.read_text())
    data["countries"]["BE"]["anchors"][0]["purposes"] = ["tls-client"]
    path.write_text(json.dumps(data))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert _reason(store, be_creds.certificate) == "untrusted-issuer"
    del data["countries"]["BE"]
    path.write_text(json.dumps(data) + " ")
    assert _reason(store, be_creds.certificate) == "country-not-trusted"


def test_tls_peer_country(trust, pki_root):
    from cryptography.hazmat.primitives.serialization import Encoding

    client = _load(pki_root / "be", "tls-client").certificate.public_bytes(Encoding.DER)
    assert trust.tls_peer_country(client, now=NOW) == "BE"
    server = _load(pki_root / "be", "tls-server").certificate.public_bytes(Encoding.DER)
    with pytest.raises(CertificateError) as info:
        trust.tls_peer_country(server, now=NOW)
    assert info.value.reason == "key-usage"
    forged = issue_leaf(_load(pki_root / "lu", "ca"), "tls-client", country="BE")
    with pytest.raises(CertificateError) as info:
        trust.tls_peer_country(forged.certificate.public_bytes(Encoding.DER), now=NOW)
    assert info.value.reason == "untrusted-issuer"


def bare_certificate(ca, *, extensions=()):  # type: ignore[no-untyped-def]
    """A leaf as the eHDSI CA issues signing certificates: no extensions at all (or only
    ``extensions``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    from ncp.security.pki import IssuedCertificate, generate_key

    key = generate_key()
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
                                        x509.NameAttribute(NameOID.COMMON_NAME, "bare signer")]))
               .issuer_name(ca.certificate.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(NOW - dt.timedelta(hours=1))
               .not_valid_after(NOW + dt.timedelta(days=30)))
    for ext in extensions:
        builder = builder.add_extension(ext, critical=False)
    return IssuedCertificate(builder.sign(ca.key, hashes.SHA256()), key)


def test_absent_key_usage_does_not_restrict_but_a_present_one_does(trust, pki_root):
    """RFC 5280 4.2.1.3/4.2.1.12 (issue 12 item 7)."""
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca = _load(pki_root / "be", "ca")
    bare = bare_certificate(ca)
    assert not list(bare.certificate.extensions)
    trust.validate(bare.certificate, country="BE", purpose=Purpose.SIGNING, now=NOW)
    encipher_only = bare_certificate(ca, extensions=[x509.KeyUsage(
        digital_signature=False, content_commitment=False, key_encipherment=True,
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False)])
    assert _reason(trust, encipher_only.certificate) == "key-usage"
    server_only = bare_certificate(ca, extensions=[
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])])
    assert _reason(trust, server_only.certificate) == "key-usage"
    assert _reason(trust, server_only.certificate, purpose=Purpose.TLS_CLIENT) == "key-usage"
