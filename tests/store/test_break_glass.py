"""Issue 14 findings 11 and 12 on both databases: break the glass is limited per professional,
coded, alerted to the data protection officer and notified to the patient; a helper holds only
the powers the patient delegated, and the patient hears of each of their acts."""

from __future__ import annotations

import pytest

from ncp.store.errors import AccessDenied, InvalidInput
from ncp.store.policy import Actor
from ncp.store.records import EMERGENCY_LIMIT, Records
from ncp.store.vocabulary import CrossBorderService
from tests.store.factories import patient, professional


def test_break_the_glass_is_coded_alerted_and_notified(records: Records) -> None:
    er = professional(records, name="Anna Klein")
    pid, me = patient(records, referring=professional(records))
    with pytest.raises(InvalidInput, match="reason code"):
        records.declare_emergency(er, pid, "collapsed in the street", "because")
    records.declare_emergency(er, pid, "collapsed in the street", "unconscious")
    [alert] = records.dpo_alerts()
    assert (alert.kind, alert.patient_id, alert.professional_id) == \
        ("emergency-access", pid, er.professional_id)
    assert alert.detail == "unconscious: collapsed in the street"
    [notice] = records.notices(me, pid)
    assert notice.kind == "emergency-access" and "Anna Klein" in notice.text
    assert "unconscious" in notice.text and notice.read_at is None
    # Declaring again while it runs counts nothing and alerts nobody twice.
    records.declare_emergency(er, pid, "still unconscious", "unconscious")
    assert len(records.dpo_alerts()) == 1


def test_break_the_glass_is_limited_per_professional(records: Records) -> None:
    """The review opened record after record with no throttle; past the limit the record stays
    closed, the refusal is in the patient's log and the DPO gets an alert."""
    er = professional(records, name="Anna Klein")
    colleague = professional(records, name="Paul Weber")
    patients = [patient(records) for _ in range(EMERGENCY_LIMIT + 1)]
    for pid, _ in patients[:EMERGENCY_LIMIT]:
        records.declare_emergency(er, pid, "mass casualty triage", "life-threatening")
    last, last_me = patients[-1]
    with pytest.raises(AccessDenied, match="emergency limit"):
        records.declare_emergency(er, last, "mass casualty triage", "life-threatening")
    with pytest.raises(AccessDenied):
        records.list_documents(er, last)
    assert records.access_log(last_me, last)[0].outcome == "denied"
    kinds = [a.kind for a in records.dpo_alerts()]
    assert kinds.count("emergency-access") == EMERGENCY_LIMIT and kinds[0] == "emergency-limit"
    assert records.notices(last_me, last) == []  # nothing was opened
    records.declare_emergency(colleague, last, "mass casualty triage", "life-threatening")


def test_a_reader_helper_cannot_consent_close_or_grant(records: Records) -> None:
    doctor = professional(records)
    pid, me = patient(records, referring=doctor)
    records.give_consent(me, pid, CrossBorderService.PATIENT_SUMMARY)
    reader = Actor.helper(pid, "Tom Wagner", "read")
    manager = Actor.helper(pid, "Tom Wagner", "manage")
    legal = Actor.helper(pid, "Léa Hoffmann", "legal")
    assert records.access_log(reader, pid)  # reading is delegated
    for act in (lambda a: records.withdraw_consent(a, pid, CrossBorderService.PATIENT_SUMMARY),
                lambda a: records.give_consent(a, pid, CrossBorderService.EPRESCRIPTION),
                lambda a: records.close_dsp(a, pid, "by the helper")):
        for helper in (reader, manager):
            with pytest.raises(AccessDenied, match="delegation"):
                act(helper)
    with pytest.raises(AccessDenied, match="delegation"):
        records.set_rule(reader, pid, doctor.professional_id, "block")
    assert records.consents(pid) == frozenset({CrossBorderService.PATIENT_SUMMARY})
    records.set_rule(manager, pid, doctor.professional_id, "grant")
    records.withdraw_consent(legal, pid, CrossBorderService.PATIENT_SUMMARY)
    assert records.consents(pid) == frozenset()
    # The patient is told of each act done in their name, and by whom.
    texts = [n.text for n in records.notices(me, pid)]
    assert texts == ["Léa Hoffmann (legal): consent withdrawn: patient-summary",
                     f"Tom Wagner (manage): grant: {doctor.name}"]
