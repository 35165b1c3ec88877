"""A DSP opened at a visit with a provisional identifier, and its merge into the matricule's
record, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from ncp.store import provisional
from ncp.store.chain import seal, verify
from ncp.store.errors import AccessDenied, InvalidInput, NotFound
from ncp.store.merge import MergeRefused, merge_records
from ncp.store.models import AccessLogEntry, Document, Patient
from ncp.store.policy import Actor
from ncp.store.records import DocumentImport, Records
from ncp.store.visits import PatientMerge, VisitIdentity, register_at_visit
from tests.clock import NOW
from tests.store.factories import new_matricule, opened_log, professional

BIRTH = dt.date(1980, 5, 17)  # the factories' matricules are of this day
ANA = VisitIdentity(given_name="Ana", family_name="Silva", birth_date=BIRTH, gender="F",
                    city="Esch-sur-Alzette", country="PT", preferred_language="pt")
CDA = b"<ClinicalDocument xmlns='urn:hl7-org:v3'/>"


def _log(records: Records, patient_id: int) -> list[tuple[str, str | None]]:
    with records.reading() as s:
        rows = [opened_log(records, r) for r in s.scalars(select(AccessLogEntry).where(
            AccessLogEntry.patient_id == patient_id).order_by(AccessLogEntry.id))]
        return [(r.what, r.detail) for r in rows]


def _count(records: Records, model: type) -> int:
    with records.reading() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_the_provisional_identifier_has_its_own_form_and_check_digits() -> None:
    ids = {provisional.new_provisional_id() for _ in range(200)}
    assert len(ids) == 200
    for value in ids:
        assert provisional.validate(value) == value and len(value) == 13
    one = next(iter(ids))
    typo = one[:5] + str((int(one[5]) + 1) % 10) + one[6:]
    assert not provisional.is_provisional(typo)
    swapped = one[:3] + one[4] + one[3] + one[5:]
    assert swapped == one or not provisional.is_provisional(swapped)
    assert not provisional.is_provisional(new_matricule())  # a matricule never passes
    assert provisional.validate(one.lower()) == one


def test_a_doctor_opens_a_dsp_at_a_visit(records: Records) -> None:
    doctor = professional(records)
    done = register_at_visit(records, doctor, ANA)
    assert provisional.is_provisional(done.provisional_id)
    assert done.visit_until - done.visit_from == dt.timedelta(days=90)
    assert records.patient_id(done.provisional_id) == done.patient_id
    info = records.find_patient(doctor, done.provisional_id)
    assert (info.family_name, info.country, info.dsp_state) == ("Silva", "PT", "open")
    with records.reading() as s:
        assert s.get(Patient, done.patient_id).activated_at is None  # type: ignore[union-attr]
    records.add_document(doctor, done.patient_id, doc_type="visit-report", title="Visite",
                         media_type="text/plain", content=b"notes")
    log = [w for w, _ in _log(records, done.patient_id)]
    assert log[:2] == [f"DSP opened at a visit (provisional identifier {done.provisional_id})",
                       "therapeutic relationship declared: visit"]
    # Somebody else has no relationship with the new record.
    with pytest.raises(AccessDenied):
        records.list_documents(professional(records, name="Luc Hoffmann"), done.patient_id)


def test_only_the_professions_of_a_visit_register_and_bad_identities_are_refused(
        records: Records) -> None:
    pharmacist = professional(records, profession="pharmacist", isco="2262")
    before = _count(records, Patient)
    with pytest.raises(AccessDenied):
        register_at_visit(records, pharmacist, ANA)
    doctor = professional(records)
    for bad in (VisitIdentity("", "Silva", BIRTH, "F"),
                VisitIdentity("Ana", "Silva", BIRTH, "X"),
                VisitIdentity("Ana", "Silva\x07", BIRTH, "F"),
                VisitIdentity("Ana", "Silva", NOW.date() + dt.timedelta(days=2), "F"),
                VisitIdentity("Ana", "Silva", BIRTH, "F", country="Portugal")):
        with pytest.raises(InvalidInput):
            register_at_visit(records, doctor, bad)
    with pytest.raises(InvalidInput):
        register_at_visit(records, Actor.patient(1), ANA)
    assert _count(records, Patient) == before


def _national(records: Records, referring: Actor) -> tuple[int, str, Actor]:
    number = new_matricule()
    pid = records.add_patient(matricule=number, given_name="Ana", family_name="Silva",
                              gender="F", referring_doctor=referring.professional_id)
    return pid, number, Actor.patient(pid, "Ana Silva")


def test_merge_moves_the_record_resolves_conflicts_and_retires_the_identifier(
        records: Records) -> None:
    referring = professional(records, name="Paul Weber")
    visit_doctor = professional(records)
    blocked = professional(records, name="Tom Kayser")
    dst, number, person = _national(records, referring)
    old_ps = records.add_document(referring, dst, doc_type="patient-summary", title="PS 1",
                                  media_type="text/xml", content=CDA)
    done = register_at_visit(records, visit_doctor, ANA)
    src, me = done.patient_id, Actor.patient(done.patient_id, "Ana Silva")
    note = records.add_document(visit_doctor, src, doc_type="visit-report", title="Visite",
                                media_type="text/plain", content=b"fever, 3 days")
    records.set_masked(me, note.unique_id, True)
    records.import_documents([DocumentImport(
        patient_id=src, author=visit_doctor.professional_id or 0, doc_type="patient-summary",
        title="PS 2", media_type="text/xml", content=CDA,
        created_at=records.clock() + dt.timedelta(hours=1))])
    records.set_rule(me, src, blocked.professional_id or 0, "block")
    records.declare_relationship(blocked, dst, "visit")
    records.give_consent(me, src, "patient-summary")
    seal(records._sessions)
    src_log = _log(records, src)

    report = merge_records(records, done.provisional_id, number, operator="ops1")
    assert report.kind == "merged" and not report.forced
    assert report.moved["document versions"] == 2
    text = str(report)
    assert "the newest" in text and "consent" in text

    # The documents are the matricule's now and open (re-sealed): the visit doctor keeps the
    # visit's access, the mask stays.
    read, content = records.read_document(person, note.unique_id)
    assert content == b"fever, 3 days" and read.patient_id == dst and read.masked
    summaries = records.list_documents(referring, dst, doc_type="patient-summary")
    assert [d.title for d in summaries] == ["PS 2"]  # the newest written stays current
    assert records.read_document(referring, old_ps.unique_id)[0].is_current is False
    records.list_documents(visit_doctor, dst)  # the visit relationship moved
    with pytest.raises(AccessDenied):  # the block is the merged record's
        records.list_documents(blocked, dst)
    assert records.consents(dst) == frozenset()
    assert any("not carried over" in n.text for n in records.notices(person, dst))
    # The access log: the provisional rows copied (originals kept), the merge told on both.
    log = _log(records, dst)
    copied = [(w, d) for w, d in log if d and d.startswith(
        f"from provisional record {done.provisional_id}")]
    assert [w for w, _ in copied] == [w for w, _ in src_log]
    assert f"provisional record {done.provisional_id} merged into this DSP" in [w for w, _ in log]
    assert _log(records, src)[:len(src_log)] == src_log
    assert _log(records, src)[-1][0] == f"merged into the DSP of matricule {number}"
    seal(records._sessions)
    assert all(r.broken is None for r in verify(records._sessions))
    # The provisional identifier is unknown from now on; the record is closed.
    with pytest.raises(NotFound):
        records.patient_id(done.provisional_id)
    with pytest.raises(NotFound):
        records.find_patient(visit_doctor, done.provisional_id)
    with records.reading() as s:
        assert s.get(Patient, src).dsp_state == "closed"  # type: ignore[union-attr]
    # Idempotent; another matricule is refused.
    rows = _count(records, AccessLogEntry)
    again = merge_records(records, done.provisional_id, number, operator="ops1")
    assert again.kind == "already" and _count(records, AccessLogEntry) == rows
    with pytest.raises(MergeRefused):
        merge_records(records, done.provisional_id, new_matricule(), operator="ops1")
    assert _count(records, PatientMerge) == 1


def test_a_merge_into_a_deceased_record_is_refused_unless_forced(records: Records) -> None:
    doctor = professional(records)
    dst, number, _ = _national(records, doctor)
    with records._tx() as s:
        s.get(Patient, dst).death_date = dt.date(2026, 1, 2)  # type: ignore[union-attr]
    done = register_at_visit(records, doctor, ANA)
    records.add_document(doctor, done.patient_id, doc_type="visit-report", title="Visite",
                         media_type="text/plain", content=b"x")
    rows = (_count(records, AccessLogEntry), _count(records, PatientMerge))
    with pytest.raises(MergeRefused, match="deceased"):
        merge_records(records, done.provisional_id, number, operator="ops1")
    assert (_count(records, AccessLogEntry), _count(records, PatientMerge)) == rows
    assert records.patient_id(done.provisional_id) == done.patient_id
    with records.reading() as s:
        assert s.scalar(select(func.count()).select_from(Document).where(
            Document.patient_id == done.patient_id)) == 1
    report = merge_records(records, done.provisional_id, number, operator="ops1", force=True)
    assert report.forced and "forced: the DSP of" in str(report)


def test_a_merge_across_birth_dates_or_from_a_closed_record_is_refused(
        records: Records) -> None:
    doctor = professional(records)
    _, number, _ = _national(records, doctor)
    other = register_at_visit(records, doctor, VisitIdentity("Ana", "Silva",
                                                             dt.date(1981, 5, 17), "F"))
    with pytest.raises(MergeRefused, match="birth dates differ"):
        merge_records(records, other.provisional_id, number, operator="ops1")
    with pytest.raises(InvalidInput):
        merge_records(records, "P000000000000", number, operator="ops1")
    with pytest.raises(NotFound):
        merge_records(records, provisional.new_provisional_id(), number, operator="ops1")


def test_a_matricule_without_a_dsp_is_given_to_the_provisional_record(
        records: Records) -> None:
    doctor = professional(records)
    done = register_at_visit(records, doctor, ANA)
    number = new_matricule()
    report = merge_records(records, done.provisional_id, number, operator="ops1")
    assert report.kind == "re-identified"
    assert records.patient_id(number) == done.patient_id
    with pytest.raises(NotFound):
        records.patient_id(done.provisional_id)
    records.list_documents(doctor, done.patient_id)  # the record is the same, still open
    assert merge_records(records, done.provisional_id, number, operator="o").kind == "already"


@pytest.mark.parametrize("into_existing", [True, False])
def test_two_merges_at_once_merge_once(records: Records, into_existing: bool) -> None:
    import threading

    doctor = professional(records)
    number = _national(records, doctor)[1] if into_existing else new_matricule()
    done = register_at_visit(records, doctor, ANA)
    records.add_document(doctor, done.patient_id, doc_type="visit-report", title="Visite",
                         media_type="text/plain", content=b"x")
    kinds: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        try:
            kinds.append(merge_records(records, done.provisional_id, number,
                                       operator="ops").kind)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(kinds) == sorted(["already", "merged" if into_existing else "re-identified"])
    assert _count(records, PatientMerge) == 1
