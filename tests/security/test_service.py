"""The MessageSecurity facade: request in, identity out, response signed; public API names."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

import ncp.security
from ncp.security.pki import _load
from ncp.security.service import MessageSecurity
from ncp.security.wssecurity import verify_message
from ncp.settings import Settings
from ncp.store.db import session_factory
from tests.security.conftest import PATIENT, soap_envelope


def test_request_to_identity_and_signed_response(pki_root, make_pair, db_engine, be_creds):
    now = dt.datetime.now(dt.UTC)
    lu = MessageSecurity.from_settings(Settings(pki_dir=pki_root, country_code="LU"),
                                       session_factory(db_engine))
    be = MessageSecurity.from_settings(Settings(pki_dir=pki_root, country_code="BE"))
    request = soap_envelope()
    be.sign_request(request, assertions=make_pair(now=now), now=now)
    wire = etree.tostring(request)

    tls = _load(pki_root / "be", "tls-client").certificate.public_bytes(Encoding.DER)
    country = lu.peer_country(tls, now=now)
    assert country == "BE"
    msg = lu.verify_request(etree.fromstring(wire), peer_country=country, now=now)
    ident = lu.identify(msg, transaction=ncp.security.Transaction.XCA_QUERY_PS,
                        patient_id=PATIENT, peer_country=country, now=now)
    assert ident.hcp.country == "BE"
    with pytest.raises(ncp.security.ReplayDetected):
        lu.identify(msg, transaction=ncp.security.Transaction.XCA_QUERY_PS,
                    patient_id=PATIENT, peer_country=country, now=now)

    response = soap_envelope("response")
    lu.sign_response(response, now=now)
    back = verify_message(etree.tostring(response), trust=be.trust, peer_country="LU", now=now)
    assert back.message_signed and back.assertions == ()


EXPECTED_API = {
    "REQUIRED_PERMISSIONS", "AssertionInvalid", "AssertionPolicy", "AssertionValidator",
    "CertificateError", "DatabaseReplayCache", "HcpClaims", "HcpIdentity", "InMemoryReplayCache",
    "MessageSecurity", "MessageSecurityError", "NextOfKin", "NokClaims", "PatientId", "Purpose",
    "ReplayCache", "ReplayDetected", "SecurityError", "SigningCredentials", "Transaction",
    "TreatmentRelationship", "TrcClaims", "TrustStore", "VerifiedIdentity", "VerifiedMessage",
    "WsSecurityPolicy", "XmlSignatureError", "build_hcp_assertion", "build_nok_assertion",
    "build_security_header", "build_trc_assertion", "init_pki", "load_credentials",
    "sign_envelope", "validate_assertions", "verify_envelope", "verify_message",
}


def test_public_names_are_the_intended_ones():
    assert set(ncp.security.__all__) == EXPECTED_API
    for name in EXPECTED_API:
        assert getattr(ncp.security, name) is not None
