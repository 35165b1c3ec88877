"""Each rule of the access policy, alone and in combination (pure decisions, no database)."""

import itertools

import pytest

from ncp.store import policy
from ncp.store.policy import Actor, DocumentFacts, Facts, Power
from ncp.store.vocabulary import (
    AccessContext,
    Confidentiality,
    CrossBorderService,
    DocumentType,
    Profession,
)

DOCTOR = Actor.professional(10, Profession.PHYSICIAN, "Dr A")
PHARMACIST = Actor.professional(11, Profession.PHARMACIST, "Ph B")
PATIENT = Actor.patient(1)
OTHER_PATIENT = Actor.patient(2)
FOREIGN = Actor.foreign(name="Dr Z", organisation="Hôpital", country="BE",
                        profession=Profession.PHYSICIAN)


def facts(**kw: object) -> Facts:
    base: dict[str, object] = {"patient_id": 1, "dsp_open": True}
    base.update(kw)
    return Facts(**base)  # type: ignore[arg-type]


def doc(doc_type: DocumentType = DocumentType.VISIT_REPORT, conf: str = "N", masked: bool = False,
        author: int | None = 99) -> DocumentFacts:
    return DocumentFacts(doc_type=doc_type, confidentiality=Confidentiality(conf), masked=masked,
                         author_professional_id=author)


def test_rights_matrix_is_loaded_from_reviewed_data() -> None:
    matrix = policy.rights_matrix()
    assert matrix[(Profession.PHARMACIST, DocumentType.DISPENSATION)] == (True, True)
    assert (Profession.PHARMACIST, DocumentType.DISCHARGE_LETTER) not in matrix
    assert not any(dt is DocumentType.PERSONAL_NOTE for _, dt in matrix)


def test_relationship_needed() -> None:
    assert not policy.record_access(DOCTOR, facts())
    assert policy.record_access(DOCTOR, facts(relationship=True))
    assert policy.record_access(DOCTOR, facts(granted=True))


def test_emergency_is_allowed_but_flagged() -> None:
    decision = policy.record_access(DOCTOR, facts(emergency=True))
    assert decision and decision.context is AccessContext.EMERGENCY
    assert policy.record_access(DOCTOR, facts(relationship=True)).context is AccessContext.TREATMENT


@pytest.mark.parametrize("other", ["relationship", "granted", "emergency", "named_for_restricted"])
def test_block_beats_everything(other: str) -> None:
    assert not policy.record_access(DOCTOR, facts(blocked=True, **{other: True}))
    assert not policy.read_document(DOCTOR, facts(blocked=True, **{other: True}), doc(author=10))


def test_closed_dsp_admits_no_professional() -> None:
    for flags in itertools.product([False, True], repeat=3):
        f = facts(dsp_open=False, relationship=flags[0], granted=flags[1], emergency=flags[2],
                  consents=frozenset(CrossBorderService))
        assert not policy.record_access(DOCTOR, f)
        assert not policy.read_document(DOCTOR, f, doc(author=10))
        assert not policy.write_document(DOCTOR, f, DocumentType.VISIT_REPORT)
        assert not policy.record_access(FOREIGN, f)
    assert policy.record_access(PATIENT, facts(dsp_open=False))


def test_masked_seen_only_by_patient_and_author() -> None:
    f = facts(relationship=True, named_for_restricted=True)
    assert not policy.read_document(DOCTOR, f, doc(masked=True))
    assert policy.read_document(DOCTOR, f, doc(masked=True, author=10))
    assert policy.read_document(PATIENT, f, doc(masked=True))
    assert not policy.read_document(FOREIGN, facts(consents=frozenset(CrossBorderService)),
                                    doc(DocumentType.PATIENT_SUMMARY, masked=True))


def test_restricted_needs_naming_and_very_restricted_is_author_only() -> None:
    assert not policy.read_document(DOCTOR, facts(relationship=True), doc(conf="R"))
    assert policy.read_document(DOCTOR, facts(relationship=True, named_for_restricted=True),
                                doc(conf="R"))
    assert not policy.read_document(DOCTOR, facts(relationship=True, named_for_restricted=True),
                                    doc(conf="V"))
    assert policy.read_document(DOCTOR, facts(relationship=True), doc(conf="V", author=10))
    assert policy.read_document(PATIENT, facts(), doc(conf="V"))


def test_rights_matrix_decides_by_profession() -> None:
    f = facts(relationship=True)
    assert policy.read_document(DOCTOR, f, doc(DocumentType.DISCHARGE_LETTER))
    assert not policy.read_document(PHARMACIST, f, doc(DocumentType.DISCHARGE_LETTER))
    assert policy.read_document(PHARMACIST, f, doc(DocumentType.PRESCRIPTION))
    assert not policy.read_document(DOCTOR, f, doc(DocumentType.PERSONAL_NOTE))
    assert policy.write_document(PHARMACIST, f, DocumentType.DISPENSATION)
    assert not policy.write_document(PHARMACIST, f, DocumentType.PRESCRIPTION)


def test_patient_summary_written_by_referring_doctor_only() -> None:
    assert not policy.write_document(DOCTOR, facts(relationship=True), DocumentType.PATIENT_SUMMARY)
    assert policy.write_document(DOCTOR, facts(relationship=True, referring_doctor=True),
                                 DocumentType.PATIENT_SUMMARY)


def test_patient_sees_own_record_only_and_writes_notes_only() -> None:
    assert policy.record_access(PATIENT, facts())
    assert not policy.record_access(OTHER_PATIENT, facts())
    assert policy.write_document(PATIENT, facts(), DocumentType.PERSONAL_NOTE)
    assert not policy.write_document(PATIENT, facts(), DocumentType.VISIT_REPORT)
    assert policy.manage_record(PATIENT, facts())
    assert not policy.manage_record(DOCTOR, facts(relationship=True, referring_doctor=True))
    helper = Actor.helper(1, "Helper H", "manage")
    assert policy.manage_record(helper, facts())
    assert not policy.manage_record(Actor.helper(2, "Other", "legal"), facts())


def test_a_helper_has_only_the_powers_delegated() -> None:
    """Issue 14 finding 11: consent and closing the DSP are the patient's or a legal
    representative's; a reader reads, a manager manages."""
    reader, manager, legal = (Actor.helper(1, "H", d) for d in ("read", "manage", "legal"))
    for power, allowed in ((Power.READ, {reader, manager, legal}),
                           (Power.MANAGE, {manager, legal}), (Power.CONSENT, {legal})):
        for helper in (reader, manager, legal):
            assert bool(policy.manage_record(helper, facts(), power)) == (helper in allowed)
        assert policy.manage_record(PATIENT, facts(), power)
    assert policy.read_document(reader, facts(), doc(DocumentType.VISIT_REPORT))
    assert not policy.write_document(reader, facts(), DocumentType.PERSONAL_NOTE)
    assert policy.write_document(manager, facts(), DocumentType.PERSONAL_NOTE)


def test_foreign_access_follows_consent_per_service() -> None:
    ps_only = facts(consents=frozenset({CrossBorderService.PATIENT_SUMMARY}))
    assert not policy.record_access(FOREIGN, facts())
    assert policy.read_document(FOREIGN, ps_only, doc(DocumentType.PATIENT_SUMMARY))
    assert not policy.read_document(FOREIGN, ps_only, doc(DocumentType.PRESCRIPTION))
    assert not policy.read_document(FOREIGN, ps_only, doc(DocumentType.VISIT_REPORT))
    assert not policy.read_document(FOREIGN, ps_only, doc(DocumentType.PATIENT_SUMMARY, conf="R"))
    assert not policy.write_document(FOREIGN, ps_only, DocumentType.DISPENSATION)
    ep = facts(consents=frozenset({CrossBorderService.EPRESCRIPTION}))
    assert policy.write_document(FOREIGN, ep, DocumentType.DISPENSATION)
    assert not policy.write_document(FOREIGN, ep, DocumentType.PRESCRIPTION)
