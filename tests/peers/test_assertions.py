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
        pki / "lu" / "signing.key", pki / "lu" / "signing.pem"))


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
    assert identity.hcp.name == "Marie Muller" and identity.hcp.role_code == "2211"
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
