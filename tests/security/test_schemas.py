"""What we build conforms to the published schemas (SAML 2.0 assertion, WSS secext/utility)."""

from __future__ import annotations

import pytest
from lxml import etree

from ncp.security.saml import (
    NokClaims,
    TrcClaims,
    build_nok_assertion,
    build_trc_assertion,
)
from ncp.security.wssecurity import build_security_header, sign_envelope
from ncp.xmlutil import NS
from tests.security.conftest import NOW, PATIENT, soap_envelope


def _schema(path) -> etree.XMLSchema:
    # Trusted, local schema files (they reference DTDs of the XML Schema spec): not parse_xml.
    parser = etree.XMLParser(load_dtd=True, no_network=True, resolve_entities=True)
    return etree.XMLSchema(etree.parse(str(path), parser=parser))


@pytest.fixture(scope="module")
def saml_schema(specs_dir) -> etree.XMLSchema:
    return _schema(specs_dir / "xsd" / "saml2-ipf" / "sstc-saml-schema-assertion-2.0.xsd")


def test_hcp_trc_nok_assertions_are_schema_valid(saml_schema, make_pair, be_creds):
    hcp, trc = make_pair()
    nok = build_nok_assertion(
        NokClaims(subject_id="nok", hcp_assertion_id=hcp.get("ID"), first_name="Marie",
                  family_name="Dupont", gender="F", birth_date="1950-01-01", street="Rue 1",
                  city="Luxembourg", postal_code="L-1234", country="LU"),
        issuer="urn:initgw:BE:countryB", credentials=be_creds, now=NOW)
    eprescription_trc = build_trc_assertion(
        TrcClaims(subject_id="x", patient_id=PATIENT, hcp_assertion_id=hcp.get("ID"),
                  prescription_id="1.3.182.11.5^123", dispensation_pin_code="4711"),
        issuer="urn:initgw:BE:countryB", credentials=be_creds, now=NOW)
    for el in (hcp, trc, nok, eprescription_trc):
        saml_schema.assertValid(el)


def test_security_header_is_schema_valid(specs_dir, make_pair, be_creds):
    wss = specs_dir / "xsd" / "wsa-wss-dk" / "wss" / "2004" / "01"
    secext = _schema(wss / "oasis-200401_orig-wss-wssecurity-secext-1.0.xsd")
    utility = _schema(wss / "oasis-200401_orig-wss-wssecurity-utility-1.0.xsd")
    env = soap_envelope()
    sec = build_security_header(env, assertions=make_pair(), now=NOW)
    sign_envelope(env, be_creds)
    secext.assertValid(sec)
    utility.assertValid(sec.find(f"{{{NS['wsu']}}}Timestamp"))
