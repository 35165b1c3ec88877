"""The assertions we issue abroad pass the responding side's validator, with exactly the rights
our professionals hold (a pharmacist cannot read a Patient Summary)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ncp.errors import ErrorCode
from ncp.peers.assertions import AssertionIssuer, Professional
from ncp.security.errors import AssertionInvalid
from ncp.security.keys import load_credentials
from ncp.security.permissions import Transaction
from ncp.security.pki import init_pki
from ncp.security.replay import InMemoryReplayCache
from ncp.security.truststore import TrustStore
from ncp.security.validation import AssertionValidator, PatientId
from ncp.store.peers import ProfessionalCard
from tests.clock import NOW

PATIENT = "1968051421109^^^&1.3.6.1.4.1.48336&ISO"
DOCTOR = ProfessionalCard(1, "LU-HP-100001", "Marie", "Muller", "physician", "2211",
                          "LU-PRAC-0001", "Cabinet médical Limpertsberg", "practice")
PHARMACIST = ProfessionalCard(3, "LU-HP-100003", "Sophie", "Weber", "pharmacist", "2262",
                              "LU-PHAR-0001", "Pharmacie du Globe", "pharmacy")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pki")
    init_pki(root, ("LU", "BE"), now=NOW)
    return root


def _issuer(pki: Path) -> AssertionIssuer:
    return AssertionIssuer(country="LU", credentials=load_credentials(
        pki / "lu" / "signing.key", pki / "lu" / "signing.pem"),
        home_community_id="1.3.182.2.4.1")


def _validator(pki: Path) -> AssertionValidator:
    return AssertionValidator(TrustStore(pki / "trust-list.json"), InMemoryReplayCache())


def test_doctor_assertions_are_accepted_for_the_patient_summary(pki: Path) -> None:
    issuer = _issuer(pki)
    who = Professional(DOCTOR, "totp")
    hcp = issuer.hcp(who, purpose="EMERGENCY", now=NOW)
    trc = issuer.trc(hcp, patient_cx=PATIENT, purpose="EMERGENCY", now=NOW)
    identity = _validator(pki).validate(
        [hcp, trc], transaction=Transaction.XCA_RETRIEVE_PS,
        patient_id=PatientId.from_cx(PATIENT), peer_country="LU", now=NOW)
    # the parent group by default (the reference gateway's role list holds 221, not 2211)
    assert identity.hcp.name == "Marie Muller" and identity.hcp.role_code == "221"
    assert identity.hcp.facility_type == "Resident Physician"
    assert identity.hcp.purpose_of_use == "EMERGENCY"
    assert identity.hcp.authn_context.endswith("MobileTwoFactorContract")
    assert identity.trc is not None and identity.trc.patient_id.extension == "1968051421109"
    assert identity.trc.issuer == "urn:initgw:LU:countryB"


def test_pharmacist_may_dispense_but_not_read_a_summary(pki: Path) -> None:
    issuer = _issuer(pki)
    who = Professional(PHARMACIST, "certificate")
    hcp = issuer.hcp(who, purpose="TREATMENT", now=NOW)
    trc = issuer.trc(hcp, patient_cx=PATIENT, purpose="TREATMENT", now=NOW,
                     prescription_id="1.3.6.1.4.1.48336.11.5^123")
    identity = _validator(pki).validate(
        [hcp, trc], transaction=Transaction.XDR_SUBMIT_ED,
        patient_id=PatientId.from_cx(PATIENT), peer_country="LU", now=NOW)
    assert identity.hcp.facility_type == "Pharmacy"
    assert identity.hcp.authn_context.endswith(":X509")
    assert identity.trc is not None and identity.trc.prescription_id
    hcp = issuer.hcp(who, purpose="TREATMENT", now=NOW)
    trc = issuer.trc(hcp, patient_cx=PATIENT, purpose="TREATMENT", now=NOW)
    with pytest.raises(AssertionInvalid) as exc:
        _validator(pki).validate([hcp, trc], transaction=Transaction.XCA_QUERY_PS,
                                 patient_id=PatientId.from_cx(PATIENT), peer_country="LU",
                                 now=NOW)
    assert exc.value.error is ErrorCode.INSUFFICIENT_RIGHTS


def test_each_call_gets_fresh_assertions(pki: Path) -> None:
    """Receiving gateways refuse a second use of an assertion id."""
    issuer = _issuer(pki)
    who = Professional(DOCTOR, "totp")
    first, second = (issuer.hcp(who, purpose="TREATMENT", now=NOW) for _ in range(2))
    assert first.get("ID") != second.get("ID")
    validator = _validator(pki)
    validator.validate([first], transaction=Transaction.XCPD_PATIENT_DISCOVERY,
                       patient_id=None, peer_country="LU", now=NOW)
    validator.validate([second], transaction=Transaction.XCPD_PATIENT_DISCOVERY,
                       patient_id=None, peer_country="LU", now=NOW)


SAML_NS = "{urn:oasis:names:tc:SAML:2.0:assertion}"


def _attribute_values(hcp, name: str) -> list:  # type: ignore[no-untyped-def]
    return [v for a in hcp.iter(f"{SAML_NS}Attribute") if a.get("Name") == name
            for v in a.iter(f"{SAML_NS}AttributeValue")]


def test_what_the_reference_gateway_reads_is_in_the_assertion(pki: Path) -> None:
    """HCI Identifier, NotBefore a minute in the past, a locality naming the place of care,
    and the role code with the display name the reference gateway's list compares."""
    import datetime as dt

    from ncp.security.saml import parse_instant

    issuer = _issuer(pki)
    hcp = issuer.hcp(Professional(DOCTOR, "totp"), purpose="TREATMENT", now=NOW)
    hci = _attribute_values(hcp, "urn:ihe:iti:xca:2010:homeCommunityId")
    assert [v.text for v in hci] == ["urn:oid:1.3.182.2.4.1"]
    assert hci[0].getparent().get("FriendlyName") == "HCI Identifier"
    cond = hcp.find(f"{SAML_NS}Conditions")
    assert parse_instant(cond.get("NotBefore"), "") == NOW - dt.timedelta(seconds=60)
    assert parse_instant(hcp.get("IssueInstant"), "") == NOW
    locality = _attribute_values(hcp, "urn:oasis:names:tc:xspa:1.0:environment:locality")
    assert [v.text for v in locality] == ["Cabinet médical Limpertsberg, Luxembourg"]
    role = _attribute_values(hcp, "urn:oasis:names:tc:xacml:2.0:subject:role")[0][0]
    assert (role.get("code"), role.get("displayName").lower()) == ("221", "medical doctors")
    precise = issuer.hcp(Professional(DOCTOR, "totp"), purpose="TREATMENT", now=NOW,
                         role_policy="precise")
    role = _attribute_values(precise, "urn:oasis:names:tc:xacml:2.0:subject:role")[0][0]
    assert role.get("code") == "2211"
    # the responding side of this software accepts the backdated NotBefore and the HCI
    _validator(pki).validate([hcp], transaction=Transaction.XCPD_PATIENT_DISCOVERY,
                             patient_id=None, peer_country="LU", now=NOW)


@pytest.mark.parametrize(("isco", "sent"), [
    ("2211", "221"), ("2212", "221"), ("221", "221"), ("2262", "2262"), ("2221", "2221"),
    ("3213", "3213"), ("2261", "2261"), ("3212", "3212")])
def test_role_codes_sent_by_default_are_on_the_reference_list(isco: str, sent: str) -> None:
    from ncp.peers.roles import REFERENCE_ROLES, wire_role

    code, display = wire_role(isco)
    assert code == sent
    if code in REFERENCE_ROLES:
        assert display.lower() == REFERENCE_ROLES[code].lower()
    assert wire_role(isco, "precise")[0] == isco
