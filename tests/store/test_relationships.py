"""Therapeutic relationships declared by professionals and ended by patients, on SQLite and
PostgreSQL, with the service's own clock."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select

from ncp.store.crypto import KeyRing
from ncp.store.db import session_factory
from ncp.store.errors import AccessDenied, InvalidInput, NotFound
from ncp.store.models import AccessLogEntry
from ncp.store.records import AFTER_DISCHARGE, VISIT_PERIOD, Records
from tests.clock import NOW
from tests.store.factories import opened_log, patient, professional


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clocked(any_db_engine: Engine, keyring: KeyRing) -> tuple[Records, Clock]:
    clock = Clock()
    return Records(session_factory(any_db_engine), keyring, clock=clock), clock


def _log(records: Records, patient_id: int) -> list[tuple[str, str]]:
    with records.reading() as s:
        return [(opened_log(records, r).what, r.outcome) for r in s.scalars(
            select(AccessLogEntry).where(AccessLogEntry.patient_id == patient_id)
            .order_by(AccessLogEntry.id))]


def test_a_visit_opens_the_record_for_its_period(clocked: tuple[Records, Clock]) -> None:
    records, clock = clocked
    doctor = professional(records)
    pid, me = patient(records)
    with pytest.raises(AccessDenied):
        records.list_documents(doctor, pid)
    visit = records.declare_relationship(doctor, pid, "visit")
    assert visit.valid_to == NOW + VISIT_PERIOD
    records.list_documents(doctor, pid)  # now allowed
    assert [r.source for r in records.relationships(me, pid)] == ["visit"]
    clock.now = NOW + VISIT_PERIOD + dt.timedelta(seconds=1)
    with pytest.raises(AccessDenied):
        records.list_documents(doctor, pid)
    assert ("therapeutic relationship declared: visit", "success") in _log(records, pid)


def test_an_admission_lasts_until_discharge_and_its_period(
        clocked: tuple[Records, Clock]) -> None:
    records, clock = clocked
    nurse = professional(records, profession="nurse", isco="2221")
    other = professional(records, name="Luc Hoffmann")
    pid, _ = patient(records)
    stay = records.declare_relationship(nurse, pid, "admission")
    assert stay.valid_to is None
    with pytest.raises(NotFound):
        records.end_relationship(other, stay.id)  # not theirs
    clock.now = NOW + dt.timedelta(days=5)
    assert records.end_relationship(nurse, stay.id) == clock.now + AFTER_DISCHARGE
    clock.now += AFTER_DISCHARGE - dt.timedelta(minutes=1)
    records.list_documents(nurse, pid)
    clock.now += dt.timedelta(minutes=2)
    with pytest.raises(AccessDenied):
        records.list_documents(nurse, pid)


def test_the_patient_ends_a_relationship_at_once(clocked: tuple[Records, Clock]) -> None:
    records, _ = clocked
    doctor = professional(records)
    pid, me = patient(records)
    _, other_patient = patient(records)
    rel = records.declare_relationship(doctor, pid, "admission")
    with pytest.raises(AccessDenied):
        records.end_relationship(other_patient, rel.id)  # another patient may not
    assert records.end_relationship(me, rel.id) == NOW
    with pytest.raises(AccessDenied):
        records.list_documents(doctor, pid)
    assert records.relationships(me, pid) == []
    assert ("therapeutic relationship admission ended by the patient", "success") in \
        _log(records, pid)
    with pytest.raises(NotFound):
        records.end_relationship(me, rel.id)  # already ended


def test_refused_declarations(clocked: tuple[Records, Clock]) -> None:
    records, _ = clocked
    doctor = professional(records)
    pid, me = patient(records)
    with pytest.raises(InvalidInput):
        records.declare_relationship(doctor, pid, "referring-doctor")
    with pytest.raises(InvalidInput):
        records.declare_relationship(me, pid, "visit")  # a patient declares nothing
    records.set_rule(me, pid, doctor.professional_id, "block")
    with pytest.raises(AccessDenied):
        records.declare_relationship(doctor, pid, "visit")
    assert _log(records, pid)[-1] == ("therapeutic relationship declared: visit", "denied")
    pid2, me2 = patient(records)
    records.close_dsp(me2, pid2)
    with pytest.raises(AccessDenied):
        records.declare_relationship(doctor, pid2, "visit")
