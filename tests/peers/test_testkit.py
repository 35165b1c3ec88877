"""``ncp assertion issue``: assertions a peer can use in its own tests, as our gateway signs."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from ncp.cli import app
from ncp.demo import seed
from ncp.security.errors import AssertionInvalid
from ncp.security.permissions import Transaction
from ncp.security.pki import _load, generate_key, init_pki, issue_leaf
from ncp.security.replay import InMemoryReplayCache
from ncp.security.truststore import TrustStore
from ncp.security.validation import AssertionValidator, PatientId
from ncp.settings import get_settings
from ncp.store.crypto import KeyRing
from ncp.store.db import make_engine, session_factory, upgrade
from ncp.store.records import Records
from ncp.xmlutil import parse_xml
from tests.clock import NOW

PATIENT = "1956031212359^^^&1.3.182.4.4&ISO"


@pytest.fixture
def var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("NCP_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    init_pki(tmp_path / "pki", ("LU", "BE"), now=NOW)
    engine = make_engine(get_settings().sqlalchemy_url)
    upgrade(engine)
    seed(Records(session_factory(engine), KeyRing({"mk-test": os.urandom(32)}, "mk-test")))
    engine.dispose()
    yield tmp_path
    get_settings.cache_clear()


def _validate(var: Path, data: bytes, transaction: Transaction) -> object:
    """As the receiving gateway does, at the moment it receives them: the command issued them
    from the real clock, so they are checked against the real clock (not the suite's NOW,
    which is minutes earlier by the time this test runs)."""
    security = parse_xml(data)
    validator = AssertionValidator(TrustStore(var / "pki" / "trust-list.json"),
                                   InMemoryReplayCache())
    return validator.validate(list(security), transaction=transaction,
                              patient_id=PatientId.from_cx(PATIENT), peer_country="LU",
                              now=dt.datetime.now(dt.UTC))


def test_issued_assertions_are_what_a_receiving_gateway_accepts(var: Path) -> None:
    out = var / "assertions.xml"
    result = CliRunner().invoke(app, ["assertion", "issue", "--professional", "lu-hp-100001",
                                      "--patient", PATIENT, "--out", str(out)])
    assert result.exit_code == 0, result.output
    identity = _validate(var, out.read_bytes(), Transaction.XCA_RETRIEVE_PS)
    assert identity.hcp.subject_id == "LU-HP-100001"  # type: ignore[attr-defined]
    assert identity.trc.patient_id.extension == "1956031212359"  # type: ignore[attr-defined]
    # a byte changed under the signature: refused, so the file is the signed bytes as issued
    tampered = out.read_bytes().replace(b"1956031212359", b"1956031212358", 1)
    with pytest.raises(AssertionInvalid):
        _validate(var, tampered, Transaction.XCA_RETRIEVE_PS)


def test_next_of_kin_comes_first_and_unknown_professionals_are_refused(var: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["assertion", "issue", "--professional", "LU-HP-100001",
                                 "--patient", PATIENT, "--nok-id", "NOK-1"])
    assert result.exit_code == 0, result.output
    security = parse_xml(result.stdout_bytes.strip())
    issuers = [a.find("{urn:oasis:names:tc:SAML:2.0:assertion}Issuer").get("NameQualifier")
               for a in security]
    assert issuers == ["urn:ehdsi:assertions:nok", "urn:ehdsi:assertions:hcp",
                       "urn:ehdsi:assertions:trc"]
    unknown = runner.invoke(app, ["assertion", "issue", "--professional", "LU-HP-999999",
                                  "--patient", PATIENT])
    assert unknown.exit_code == 1 and "no registered professional" in unknown.output


def _signer(var: Path, unit: str | None) -> tuple[Path, Path]:
    ca = _load(var / "pki" / "lu", "ca")
    assert ca is not None
    leaf = issue_leaf(ca, "signing", common_name="ncp-lu-test-signer", key=generate_key())
    cert = leaf.certificate
    if unit:  # re-issue with an organizational unit in the subject
        subject = x509.Name([*cert.subject, x509.NameAttribute(
            NameOID.ORGANIZATIONAL_UNIT_NAME, unit)])
        builder = (x509.CertificateBuilder().subject_name(subject)
                   .issuer_name(cert.issuer).public_key(leaf.key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(cert.not_valid_before_utc)
                   .not_valid_after(cert.not_valid_after_utc))
        for ext in cert.extensions:
            builder = builder.add_extension(ext.value, critical=ext.critical)
        cert = builder.sign(ca.key, hashes.SHA256())
    key_path, cert_path = var / f"signer-{unit}.key", var / f"signer-{unit}.pem"
    key_path.write_bytes(leaf.key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(Encoding.PEM))
    return key_path, cert_path


def test_production_issues_only_with_a_test_signer(var: Path) -> None:
    from ncp.peers.testkit import TestSignerRefused, issue_bundle
    from ncp.settings import Settings

    settings = Settings(var_dir=var, environment="development")
    prod = settings.model_copy(update={"environment": "production"})
    args = {"registry_id": "LU-HP-100001", "patient_cx": PATIENT, "purpose": "TREATMENT",
            "now": NOW, "lifetime": dt.timedelta(minutes=30)}
    with pytest.raises(TestSignerRefused):
        issue_bundle(prod, **args)  # the gateway's own key: never in production
    plain_key, plain_cert = _signer(var, None)
    with pytest.raises(TestSignerRefused):
        issue_bundle(prod, **args, signer_key=plain_key, signer_cert=plain_cert)
    test_key, test_cert = _signer(var, "TEST")
    bundle = issue_bundle(prod, **args, signer_key=test_key, signer_cert=test_cert)
    assert bundle.hcp.get("ID") and bundle.trc.get("ID")
    # and in development the gateway's own key is used
    assert issue_bundle(settings, **args).hcp.get("ID")
