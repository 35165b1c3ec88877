"""Consent per service: 4701 without it, any consent for discovery, withdrawal takes effect."""

from __future__ import annotations

import pytest

from ncp.consent import ConsentRequired, ConsentService
from ncp.ihe.codes import Service
from ncp.store.policy import Actor
from ncp.store.records import Records


@pytest.fixture
def patient_id(records: Records) -> int:
    return records.add_patient(matricule="1956031212359", given_name="Jean",
                               family_name="Schmit", gender="M")


def test_each_service_needs_its_own_consent(records: Records, patient_id: int) -> None:
    consent = ConsentService(records)
    for service in Service:
        with pytest.raises(ConsentRequired) as refused:
            consent.require(patient_id, service)
        assert refused.value.error.code == "4701"
    records.give_consent(Actor.patient(patient_id), patient_id, "patient-summary")
    for service in (Service.PATIENT_SUMMARY, Service.ORCD, Service.PATIENT_IDENTIFICATION):
        consent.require(patient_id, service)
    for service in (Service.EPRESCRIPTION, Service.EDISPENSATION,
                    Service.EDISPENSATION_DISCARD):
        with pytest.raises(ConsentRequired):
            consent.require(patient_id, service)


def test_withdrawal_takes_effect_at_once(records: Records, patient_id: int) -> None:
    consent = ConsentService(records)
    me = Actor.patient(patient_id)
    records.give_consent(me, patient_id, "eprescription")
    consent.require(patient_id, Service.EPRESCRIPTION)
    records.withdraw_consent(me, patient_id, "eprescription")
    with pytest.raises(ConsentRequired):
        consent.require(patient_id, Service.EDISPENSATION)
    with pytest.raises(ConsentRequired):
        consent.require(patient_id, Service.PATIENT_IDENTIFICATION)
