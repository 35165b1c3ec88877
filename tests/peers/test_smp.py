"""Signed SMP records: both signatures verified under the narrow SMP profile, or refused."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from lxml import etree
from typer.testing import CliRunner

from ncp.peers.smp import SmpError, fingerprint, verify_smp_record

DS = "http://www.w3.org/2000/09/xmldsig#"
#: The sample certificates expired in 2021: the records are checked as of their validity.
AT = dt.datetime(2021, 3, 15, tzinfo=dt.UTC)


def _records(specs_dir: Path) -> list[Path]:
    return sorted((specs_dir / "smp" / "smp").glob("*Signed.xml"))


def _pins(specs_dir: Path) -> list[str]:
    pins = set()
    for path in _records(specs_dir):
        for el in etree.parse(str(path)).getroot().iter(f"{{{DS}}}X509Certificate"):
            der = base64.b64decode("".join((el.text or "").split()))
            pins.add(fingerprint(x509.load_der_x509_certificate(der)))
    return sorted(pins)


def test_every_sample_verifies_and_says_what_it_publishes(specs_dir: Path) -> None:
    pins = _pins(specs_dir)
    assert len(pins) == 2  # the SMP server's and Cyprus' signer
    seen = {}
    for path in _records(specs_dir):
        record = verify_smp_record(path.read_bytes(), pinned=pins, at=AT)
        assert record.country == "CY"
        seen[record.transaction] = record
    assert set(seen) == {"ITI-55", "ITI-38", "ITI-39", "ITI-41", "ISM"}
    assert seen["ITI-55"].endpoint_url.endswith("/XCPD_Service")
    assert seen["ITI-41"].endpoint_url.endswith("/XDR_Service")
    assert seen["ITI-55"].endpoint_certificate is not None
    mask = seen["ISM"].search_mask
    assert mask is not None and mask.country == "CY"
    assert [(f.kind, f.mandatory) for f in mask.fields] == [("id", True), ("birth_date", True)]
    assert seen["ITI-55"].smp_signer != seen["ITI-55"].country_signer


@pytest.mark.parametrize("old,new", [
    (b"XCPD_Service", b"XCPD_Servicf"),          # covered by both signatures
    (b"<EndpointURI>https://ncp-ppt.cy", b"<EndpointURI>https://evil.cy"),
])
def test_a_modified_record_is_refused(specs_dir: Path, old: bytes, new: bytes) -> None:
    data = (specs_dir / "smp" / "smp" / "SMP_PatientId_Signed.xml").read_bytes()
    assert old in data
    with pytest.raises(SmpError) as exc:
        verify_smp_record(data.replace(old, new), pinned=_pins(specs_dir), at=AT)
    assert exc.value.reason == "bad-signature"


def _resign(document: etree._Element, outer: etree._Element, tmp: Path) -> str:
    """Sign ``document`` again with ``outer`` (its enveloped signature) and a test key of
    our own; returns the key's pin."""
    import hashlib

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.serialization import Encoding

    from ncp.peers.smp import C14N, _c14n, _without_signature
    from ncp.security.keys import load_credentials
    from ncp.security.pki import init_pki

    init_pki(tmp, ("LU",))
    creds = load_credentials(tmp / "lu" / "signing.key", tmp / "lu" / "signing.pem")
    digest = base64.b64encode(hashlib.sha256(
        _c14n(_without_signature(document, outer), C14N)).digest()).decode()
    outer.find(f".//{{{DS}}}DigestValue").text = digest
    signed_info = outer.find(f"{{{DS}}}SignedInfo")
    value = creds.private_key.sign(_c14n(signed_info, C14N), padding.PKCS1v15(),
                                   hashes.SHA256())
    outer.find(f"{{{DS}}}SignatureValue").text = base64.b64encode(value).decode()
    outer.find(f".//{{{DS}}}X509Certificate").text = base64.b64encode(
        creds.certificate.public_bytes(Encoding.DER)).decode()
    return fingerprint(creds.certificate)


def test_the_country_signature_is_checked_on_its_own(specs_dir: Path, tmp_path: Path) -> None:
    """A record whose SMP signature is valid but whose country signature is not is refused."""
    data = (specs_dir / "smp" / "smp" / "SMP_ISM_Signed.xml").read_bytes()
    root = etree.fromstring(data)
    smp_pin = _resign(root, root[1], tmp_path / "a")
    now = dt.datetime.now(dt.UTC)
    country_pin = _pins(specs_dir)
    # untouched country signature, our SMP signature: only the country certificate's date fails
    with pytest.raises(SmpError) as exc:
        verify_smp_record(etree.tostring(root), pinned=[smp_pin, *country_pin], at=now)
    assert exc.value.reason == "certificate-expired" and "country" in exc.value.detail
    root = etree.fromstring(data)
    inner = root[0].find(f".//{{{DS}}}Signature")
    country_pin = _resign(root[0], inner, tmp_path / "b")
    smp_pin = _resign(root, root[1], tmp_path / "c")
    verify_smp_record(etree.tostring(root), pinned=[smp_pin, country_pin], at=now)
    inner.find(f"{{{DS}}}SignatureValue").text = base64.b64encode(b"\1" * 256).decode()
    smp_pin = _resign(root, root[1], tmp_path / "c")
    with pytest.raises(SmpError, match="country signature does not verify"):
        verify_smp_record(etree.tostring(root), pinned=[smp_pin, country_pin], at=now)


def test_an_unpinned_signer_or_an_expired_certificate_is_refused(specs_dir: Path) -> None:
    data = (specs_dir / "smp" / "smp" / "SMP_DataQuery_Signed.xml").read_bytes()
    with pytest.raises(SmpError) as exc:
        verify_smp_record(data, pinned=_pins(specs_dir)[:1], at=AT)
    assert exc.value.reason == "untrusted-signer"
    with pytest.raises(SmpError) as exc:
        verify_smp_record(data, pinned=_pins(specs_dir))  # now: the certificates expired
    assert exc.value.reason == "certificate-expired"


def test_other_references_and_transforms_are_refused(specs_dir: Path) -> None:
    data = (specs_dir / "smp" / "smp" / "SMP_DataQuery_Signed.xml").read_bytes()
    pins = _pins(specs_dir)
    head, sep, tail = data.rpartition(b'<Reference URI="">')  # the SMP signature's
    external = head + b'<Reference URI="file:///etc/passwd">' + tail
    assert sep
    with pytest.raises(SmpError) as exc:
        verify_smp_record(external, pinned=pins, at=AT)
    assert exc.value.reason == "external-reference"
    xslt = data.replace(b"xmldsig#enveloped-signature", b"REC-xslt-19991116", 1)
    with pytest.raises(SmpError):
        verify_smp_record(xslt, pinned=pins, at=AT)
    with pytest.raises(SmpError):
        verify_smp_record(b"<!DOCTYPE x [<!ENTITY a 'b'>]>" + data[data.index(b"<Signed"):],
                          pinned=pins, at=AT)


def test_cli_imports_verified_records_and_refuses_bad_ones(specs_dir: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    from ncp.cli import app
    from ncp.settings import get_settings
    from ncp.store.db import make_engine, upgrade

    monkeypatch.setenv("NCP_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        engine = make_engine(get_settings().sqlalchemy_url)
        upgrade(engine)
        engine.dispose()
        runner = CliRunner()
        args = ["peers", "import-smp", *map(str, _records(specs_dir)), "--at", "2021-03-15"]
        for pin in _pins(specs_dir):
            args += ["--pin", pin]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        listed = runner.invoke(app, ["peers", "list"])
        assert "CY" in listed.output and "ITI-55" in listed.output
        assert "XCPD_Service" in listed.output and "search mask: id*@" in listed.output
        bad = tmp_path / "bad.xml"
        bad.write_bytes((specs_dir / "smp" / "smp" / "SMP_DataRetrieve_Signed.xml").read_bytes()
                        .replace(b"XCA_Service", b"XCA_Servicf"))
        refused = runner.invoke(app, ["peers", "import-smp", str(bad), "--at", "2021-03-15",
                                      *[a for p in _pins(specs_dir) for a in ("--pin", p)]])
        assert refused.exit_code == 1 and "REFUSED bad-signature" in refused.output
        # nothing of the refused record was stored: ITI-39 still has the genuine URL
        assert "XCA_Servicf" not in runner.invoke(app, ["peers", "list"]).output
    finally:
        get_settings.cache_clear()
