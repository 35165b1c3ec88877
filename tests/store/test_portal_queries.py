"""Record-service methods the portal and API need: my patients, my professionals, removing a
personal note, logging a change made outside the record tables."""

from __future__ import annotations

import pytest

from ncp.store.errors import AccessDenied
from ncp.store.records import Records
from tests.store.factories import patient, professional

CDA = b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>Visit</title></ClinicalDocument>"


def test_my_patients_are_related_or_granted_and_never_blocked(records: Records) -> None:
    doctor = professional(records)
    other = professional(records, name="Paul Weber")
    related, _ = patient(records, referring=doctor)
    granted, granted_me = patient(records)
    blocked, blocked_me = patient(records, referring=doctor)
    closed, closed_me = patient(records, referring=doctor)
    patient(records, referring=other)  # someone else's patient
    records.set_rule(granted_me, granted, doctor.professional_id, "grant")
    records.set_rule(blocked_me, blocked, doctor.professional_id, "block")
    records.close_dsp(closed_me, closed)
    mine = {p.id for p in records.patients_of(doctor)}
    assert mine == {related, granted}
    log = records.access_log(granted_me, granted)
    assert all(e.what != "my patients" for e in log)  # the list is logged, not per patient


def test_an_emergency_does_not_make_a_patient_mine(records: Records) -> None:
    doctor = professional(records)
    pid, _ = patient(records)
    records.declare_emergency(doctor, pid, "unconscious on arrival")
    assert records.patients_of(doctor) == []


def test_relationships_are_the_patients_to_see(records: Records) -> None:
    doctor = professional(records)
    pid, me = patient(records, referring=doctor)
    rels = records.relationships(me, pid)
    assert [(r.name, r.source) for r in rels] == [("Marie Muller", "referring-doctor")]
    with pytest.raises(AccessDenied):
        records.relationships(doctor, pid)
    assert records.access_log(me, pid)[0].outcome == "denied"


def test_removing_a_personal_note_hides_every_version(records: Records) -> None:
    doctor = professional(records)
    pid, me = patient(records, referring=doctor)
    note = records.add_document(me, pid, doc_type="personal-note", title="n",
                                media_type="text/plain", content=b"hello")
    visit = records.add_document(doctor, pid, doc_type="visit-report", title="v",
                                 media_type="text/xml", content=CDA)
    with pytest.raises(AccessDenied):
        records.remove_personal_document(me, visit.unique_id)  # not the patient's own
    with pytest.raises(AccessDenied):
        records.remove_personal_document(doctor, note.unique_id)
    records.remove_personal_document(me, note.unique_id)
    assert [d.unique_id for d in records.list_documents(me, pid)] == [visit.unique_id]
    assert records.access_log(me, pid)[1].what == "removed: n"  # [0]: the listing above


def test_policy_changes_are_logged_for_the_patient_only(records: Records) -> None:
    doctor = professional(records)
    pid, me = patient(records, referring=doctor)
    records.note_policy_change(me, pid, "assistant named: Anna")
    with pytest.raises(AccessDenied):
        records.note_policy_change(doctor, pid, "assistant named: Mallory")
    whats = [(e.what, e.outcome) for e in records.access_log(me, pid)[:2]]
    assert whats == [("assistant named: Mallory", "denied"), ("assistant named: Anna", "success")]
