"""ePrescriptions: prescribe, list what can be dispensed, dispense atomically, discard."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from ncp.store.dispensing import (
    DiscardRefused,
    Dispensing,
    NotDispensable,
    PrescriptionItem,
    SubstitutionNotAllowed,
)
from ncp.store.errors import AccessDenied, InvalidInput, NotFound
from ncp.store.models import AccessLogEntry, Dispensation, Document
from ncp.store.policy import Actor
from ncp.store.records import Records
from tests.store.factories import opened_log, patient, professional

EP = b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>eP</title></ClinicalDocument>"
ED = b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>eD</title></ClinicalDocument>"
PHARMACY = Actor.foreign(name="Ph. Peeters", organisation="Apotheek Centrum", country="BE",
                         profession="pharmacist")


def count(records: Records, model: type) -> int:
    with records._sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def setup(records: Records) -> tuple[Dispensing, int, Actor]:
    doctor = professional(records)
    pid, me = patient(records, referring=doctor)
    records.give_consent(me, pid, "eprescription")
    dispensing = Dispensing(records)
    dispensing.prescribe(doctor, pid, PrescriptionItem(
        prescription_id="RX-1", product_name="Amoxicilline 500 mg", packages=2,
        atc_code="J01CA04", atc_display="amoxicillin", dose_form_code="10219000",
        dose_form_display="Tablet", strength="500 mg", substitution_allowed=False),
        title="Prescription", content=EP)
    return dispensing, pid, me


def test_prescribe_and_list_with_metadata(setup: tuple[Dispensing, int, Actor]) -> None:
    dispensing, pid, _ = setup
    items = dispensing.dispensable(PHARMACY, pid)
    assert [(i.prescription_id, i.atc_code, i.strength, i.substitution_allowed)
            for i in items] == [("RX-1", "J01CA04", "500 mg", False)]
    assert items[0].document.doc_type == "prescription"


def test_partial_then_full_then_refused(setup: tuple[Dispensing, int, Actor]) -> None:
    dispensing, pid, _ = setup
    first = dispensing.dispense(PHARMACY, prescription_id="RX-1", dispensation_unique_id="ED-1",
                                packages=1, content=ED, pharmacist="Ph. Peeters",
                                organisation="Apotheek Centrum", country="BE")
    assert first.status == "partially-dispensed" and not first.duplicate
    second = dispensing.dispense(PHARMACY, prescription_id="RX-1",
                                 dispensation_unique_id="ED-2", packages=1, content=ED,
                                 pharmacist="Ph. Peeters", organisation="Apotheek Centrum",
                                 country="BE")
    assert second.status == "dispensed"
    assert dispensing.dispensable(PHARMACY, pid) == []
    docs_before = count(dispensing.records, Document)
    with pytest.raises(NotDispensable):
        dispensing.dispense(PHARMACY, prescription_id="RX-1", dispensation_unique_id="ED-3",
                            packages=1, content=ED, pharmacist="x", organisation="y",
                            country="BE")
    assert count(dispensing.records, Document) == docs_before


def test_resubmission_is_idempotent(setup: tuple[Dispensing, int, Actor]) -> None:
    dispensing, _, _ = setup
    args = {"prescription_id": "RX-1", "dispensation_unique_id": "ED-1", "packages": 1,
            "content": ED, "pharmacist": "P", "organisation": "O", "country": "BE"}
    assert not dispensing.dispense(PHARMACY, **args).duplicate
    again = dispensing.dispense(PHARMACY, **args)
    assert again.duplicate and again.status == "partially-dispensed"
    assert dispensing.prescription("RX-1").packages_dispensed == 1
    with pytest.raises(InvalidInput):
        dispensing.dispense(PHARMACY, **{**args, "packages": 2})


def test_refusals_change_nothing(setup: tuple[Dispensing, int, Actor]) -> None:
    dispensing, pid, me = setup
    records = dispensing.records
    base = {"dispensation_unique_id": "ED-9", "content": ED, "pharmacist": "P",
            "organisation": "O", "country": "BE"}
    before = (count(records, Document), count(records, Dispensation))
    with pytest.raises(NotFound):
        dispensing.dispense(PHARMACY, prescription_id="RX-404", packages=1, **base)
    with pytest.raises(NotDispensable):
        dispensing.dispense(PHARMACY, prescription_id="RX-1", packages=3, **base)
    with pytest.raises(SubstitutionNotAllowed):
        dispensing.dispense(PHARMACY, prescription_id="RX-1", packages=1, substituted=True,
                            **base)
    records.withdraw_consent(me, pid, "eprescription")
    with pytest.raises(AccessDenied):
        dispensing.dispense(PHARMACY, prescription_id="RX-1", packages=1, **base)
    assert (count(records, Document), count(records, Dispensation)) == before
    assert dispensing.prescription("RX-1").packages_dispensed == 0
    with records._sessions() as s:
        denied = [opened_log(records, r).detail for r in s.scalars(
            select(AccessLogEntry).where(AccessLogEntry.outcome == "denied"))]
    assert "substitution not allowed" in denied


def test_discard_by_same_organisation_within_window(setup: tuple[Dispensing, int, Actor]
                                                    ) -> None:
    dispensing, pid, _ = setup
    dispensing.dispense(PHARMACY, prescription_id="RX-1", dispensation_unique_id="ED-1",
                        packages=2, content=ED, pharmacist="P", organisation="Apotheek Centrum",
                        country="BE")
    with pytest.raises(DiscardRefused, match="dispensing organisation"):
        dispensing.discard(PHARMACY, dispensation_unique_id="ED-1", discard_unique_id="D-1",
                           prescription_id="RX-1", patient_id=pid, country="BE",
                           organisation="Other pharmacy")
    result = dispensing.discard(PHARMACY, dispensation_unique_id="ED-1",
                                discard_unique_id="D-1", prescription_id="RX-1",
                                patient_id=pid, country="BE", organisation="Apotheek Centrum")
    assert result.status == "active"
    assert dispensing.prescription("RX-1").packages_dispensed == 0
    assert dispensing.discard(PHARMACY, dispensation_unique_id="ED-1", discard_unique_id="D-1",
                              prescription_id="RX-1", patient_id=pid, country="BE",
                              organisation="Apotheek Centrum").duplicate
    late = Dispensing(dispensing.records, discard_window=dt.timedelta(seconds=-1))
    late.dispense(PHARMACY, prescription_id="RX-1", dispensation_unique_id="ED-2", packages=1,
                  content=ED, pharmacist="P", organisation="Apotheek Centrum", country="BE")
    with pytest.raises(DiscardRefused, match="window"):
        late.discard(PHARMACY, dispensation_unique_id="ED-2", discard_unique_id="D-2",
                     prescription_id="RX-1", patient_id=pid, country="BE",
                     organisation="Apotheek Centrum")


def test_concurrent_dispenses_one_wins(setup: tuple[Dispensing, int, Actor]) -> None:
    dispensing, _, _ = setup
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            dispensing.dispense(PHARMACY, prescription_id="RX-1",
                                dispensation_unique_id=f"ED-C{n}", packages=2, content=ED,
                                pharmacist="P", organisation="O", country="BE")
            outcomes.append("ok")
        except NotDispensable:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["ok"] + ["refused"] * 5
    state = dispensing.prescription("RX-1")
    assert state.packages_dispensed == 2 and state.status == "dispensed"
    assert count(dispensing.records, Dispensation) == 1
