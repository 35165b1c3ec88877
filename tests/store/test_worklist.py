"""The referring doctor's worklist, on SQLite and PostgreSQL, with the service's own clock."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from ncp.store.crypto import KeyRing
from ncp.store.db import session_factory
from ncp.store.records import Records
from ncp.store.worklist import add_months, referring_worklist
from tests.clock import NOW
from tests.store.factories import patient, professional


def _summary(records: Records, patient_id: int) -> bytes:
    """The patient's own national Patient Summary (a real one: uploads are checked)."""
    from ncp.cda.demo import DemoPatient, national_documents
    from ncp.store.policy import Actor

    info = records.get_patient(Actor.patient(patient_id, "p"), patient_id)
    who = DemoPatient(info.matricule, info.given_name, info.family_name, info.birth_date,
                      info.gender, info.city or "Luxembourg")
    return next(d.content for d in national_documents(who) if d.doc_type == "patient-summary")


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


def test_calendar_months() -> None:
    assert add_months(dt.date(2027, 1, 31), 1) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2028, 11, 30), 3) == dt.date(2029, 2, 28)
    assert add_months(dt.date(2027, 3, 2), 12) == dt.date(2028, 3, 2)


def test_first_summary_then_yearly_update_are_due(any_db_engine: Engine,
                                                  keyring: KeyRing) -> None:
    clock = Clock()
    records = Records(session_factory(any_db_engine), keyring, clock=clock)
    gp = professional(records)
    other = professional(records, name="Luc Hoffmann")
    new_pid, _ = patient(records, referring=gp)     # declared today, no summary
    done_pid, _ = patient(records, referring=gp)    # declared today, summary today
    patient(records, referring=other)                # someone else's patient
    records.add_document(gp, done_pid, doc_type="patient-summary", title="Résumé patient",
                         media_type="text/xml", content=_summary(records, done_pid))
    assert referring_worklist(records, gp) == []  # first summary due in three months

    clock.now = NOW + dt.timedelta(days=70)       # within 30 days of the deadline
    items = referring_worklist(records, gp)
    assert [(i.patient.id, i.task) for i in items] == [(new_pid, "first-summary")]
    assert items[0].due == add_months(NOW.date(), 3)
    assert not items[0].overdue(clock.now.date())

    clock.now = NOW + dt.timedelta(days=100)
    assert referring_worklist(records, gp)[0].overdue(clock.now.date())

    clock.now = NOW + dt.timedelta(days=350)      # the summary is nearly a year old
    items = {i.patient.id: i for i in referring_worklist(records, gp)}
    assert items[done_pid].task == "summary-update"
    assert items[done_pid].due == add_months(NOW.date(), 12)
    assert set(items) == {new_pid, done_pid}
    theirs = referring_worklist(records, other)  # each doctor sees only their own patients
    assert [i.task for i in theirs] == ["first-summary"] and theirs[0].patient.id not in items
