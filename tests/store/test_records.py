"""The record service on SQLite and PostgreSQL: every rule end to end, logs and no side effects."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from ncp.store.errors import AccessDenied, ContentTampered, InvalidInput, NotFound
from ncp.store.models import AccessLogEntry, Document, Patient
from ncp.store.policy import Actor
from ncp.store.records import Records
from tests.store.factories import new_matricule, opened_log, patient, professional

CDA = b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>Visit</title></ClinicalDocument>"


def count(records: Records, model: type) -> int:
    with records._sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def last_log(records: Records) -> SimpleNamespace:
    with records._sessions() as s:
        return opened_log(records, s.scalars(
            select(AccessLogEntry).order_by(AccessLogEntry.id.desc())).first())


def test_document_round_trip_with_versions(records: Records) -> None:
    doctor = professional(records)
    pid, me = patient(records, referring=doctor)
    first = records.add_document(doctor, pid, doc_type="visit-report", title="Visit 1",
                                 media_type="text/xml", content=CDA)
    second = records.add_document(doctor, pid, doc_type="visit-report", title="Visit 1 (rev)",
                                  media_type="text/xml", content=CDA + b"<!-- v2 -->",
                                  supersedes=first.unique_id)
    assert second.version == 2 and second.series_id == first.series_id
    listed = records.list_documents(doctor, pid)
    assert [d.unique_id for d in listed] == [second.unique_id]
    info, content = records.read_document(me, first.unique_id)
    assert content == CDA and not info.is_current
    versions = records.document_versions(doctor, second.unique_id)
    assert [v.version for v in versions] == [1, 2]


def test_every_read_and_write_is_logged(records: Records) -> None:
    doctor = professional(records)
    pid, me = patient(records, referring=doctor)
    before = count(records, AccessLogEntry)
    d = records.add_document(doctor, pid, doc_type="visit-report", title="V",
                             media_type="text/xml", content=CDA)
    records.list_documents(doctor, pid)
    records.read_document(doctor, d.unique_id)
    assert count(records, AccessLogEntry) == before + 3
    log = records.access_log(me, pid)
    assert [e.action for e in log[:3]] == ["read", "search", "write"]
    assert log[0].actor_name == "Marie Muller" and log[0].document_unique_id == d.unique_id


def test_no_relationship_is_refused_and_logged_only(records: Records) -> None:
    doctor = professional(records)
    stranger = professional(records, name="Paul Weber")
    pid, _ = patient(records, referring=doctor)
    d = records.add_document(doctor, pid, doc_type="visit-report", title="V",
                             media_type="text/xml", content=CDA)
    docs_before = count(records, Document)
    with pytest.raises(AccessDenied, match="no therapeutic relationship"):
        records.read_document(stranger, d.unique_id)
    with pytest.raises(AccessDenied):
        records.add_document(stranger, pid, doc_type="visit-report", title="X",
                             media_type="text/xml", content=CDA)
    assert count(records, Document) == docs_before
    entry = last_log(records)
    assert entry.outcome == "denied" and entry.actor_professional_id == stranger.professional_id


def test_block_beats_relationship_and_emergency(records: Records) -> None:
    doctor = professional(records)
    pid, me = patient(records, referring=doctor)
    records.add_document(doctor, pid, doc_type="visit-report", title="V",
                         media_type="text/xml", content=CDA)
    records.set_rule(me, pid, doctor.professional_id, "block")
    with pytest.raises(AccessDenied, match="blocked"):
        records.list_documents(doctor, pid)
    with pytest.raises(AccessDenied):
        records.declare_emergency(doctor, pid, "unconscious patient in the ER")
    records.set_rule(me, pid, doctor.professional_id, "block", active=False)
    assert len(records.list_documents(doctor, pid)) == 1


def test_emergency_access_is_flagged_in_the_log(records: Records) -> None:
    doctor = professional(records)
    er = professional(records, name="Anna Klein")
    pid, me = patient(records, referring=doctor)
    records.add_document(doctor, pid, doc_type="discharge-letter", title="Discharge",
                         media_type="text/xml", content=CDA)
    with pytest.raises(AccessDenied):
        records.list_documents(er, pid)
    with pytest.raises(InvalidInput):
        records.declare_emergency(er, pid, "")
    records.declare_emergency(er, pid, "unconscious patient in the ER")
    assert len(records.list_documents(er, pid)) == 1
    log = records.access_log(me, pid)
    assert log[0].context == "emergency" and log[0].outcome == "success"
    assert any(e.what == "emergency access declared" for e in log)


def test_masked_and_restricted_documents(records: Records) -> None:
    author = professional(records)
    colleague = professional(records, name="Luc Hoffmann")
    pid, me = patient(records, referring=author)
    records.add_relationship(patient_id=pid, professional_id=colleague.professional_id,
                             source="visit")
    masked = records.add_document(author, pid, doc_type="visit-report", title="M",
                                  media_type="text/xml", content=CDA)
    restricted = records.add_document(author, pid, doc_type="visit-report", title="R",
                                      media_type="text/xml", content=CDA, confidentiality="R")
    records.set_masked(me, masked.unique_id, True)
    with pytest.raises(AccessDenied):
        records.set_masked(author, masked.unique_id, False)
    seen = {d.title for d in records.list_documents(colleague, pid)}
    assert seen == set()
    assert {d.title for d in records.list_documents(author, pid)} == {"M", "R"}
    assert {d.title for d in records.list_documents(me, pid)} == {"M", "R"}
    records.set_rule(me, pid, colleague.professional_id, "restricted")
    assert {d.title for d in records.list_documents(colleague, pid)} == {"R"}
    with pytest.raises(AccessDenied, match="masked"):
        records.read_document(colleague, masked.unique_id)
    records.set_confidentiality(me, restricted.unique_id, "V")
    assert records.list_documents(colleague, pid) == []


def test_closed_dsp_admits_no_professional(records: Records) -> None:
    doctor = professional(records)
    pid, me = patient(records, referring=doctor)
    records.close_dsp(me, pid, "moving abroad")
    with pytest.raises(AccessDenied, match="closed"):
        records.add_document(doctor, pid, doc_type="visit-report", title="V",
                             media_type="text/xml", content=CDA)
    with pytest.raises(AccessDenied, match="closed"):
        records.declare_emergency(doctor, pid, "unconscious patient")
    with pytest.raises(InvalidInput):
        records.close_dsp(me, pid)
    assert records.list_documents(me, pid) == []
    records.reopen_dsp(me, pid)
    records.add_document(doctor, pid, doc_type="visit-report", title="V",
                         media_type="text/xml", content=CDA)


def test_consent_per_service_and_foreign_reads(records: Records) -> None:
    doctor = professional(records)
    pid, me = patient(records, referring=doctor)
    ps = records.add_document(doctor, pid, doc_type="patient-summary", title="PS",
                              media_type="text/xml", content=CDA)
    rx = records.add_document(doctor, pid, doc_type="prescription", title="Rx",
                              media_type="text/xml", content=CDA)
    foreign = Actor.foreign(name="Dr Janssens", organisation="UZ Leuven", country="BE",
                            profession="physician")
    with pytest.raises(AccessDenied, match="consent"):
        records.list_documents(foreign, pid)
    records.give_consent(me, pid, "patient-summary")
    assert records.consents(pid) == {"patient-summary"}
    assert [d.unique_id for d in records.list_documents(foreign, pid)] == [ps.unique_id]
    with pytest.raises(AccessDenied):
        records.read_document(foreign, rx.unique_id)
    records.withdraw_consent(me, pid, "patient-summary")
    assert records.consents(pid) == frozenset()
    with pytest.raises(AccessDenied):
        records.read_document(foreign, ps.unique_id)
    entry = records.access_log(me, pid)[0]
    assert (entry.actor_country, entry.actor_name, entry.context) == (
        "BE", "Dr Janssens", "cross-border")


def test_patient_summary_by_referring_doctor_only(records: Records) -> None:
    referring = professional(records)
    other = professional(records, name="Eva Kremer")
    pid, _ = patient(records, referring=referring)
    records.add_relationship(patient_id=pid, professional_id=other.professional_id,
                             source="admission")
    with pytest.raises(AccessDenied, match="referring doctor"):
        records.add_document(other, pid, doc_type="patient-summary", title="PS",
                             media_type="text/xml", content=CDA)
    records.add_document(referring, pid, doc_type="patient-summary", title="PS",
                         media_type="text/xml", content=CDA)


def test_personal_space(records: Records) -> None:
    doctor = professional(records)
    pid, me = patient(records, referring=doctor)
    note = records.add_document(me, pid, doc_type="personal-note", title="My diary",
                                media_type="text/plain", content=b"felt better")
    assert records.read_document(me, note.unique_id)[1] == b"felt better"
    assert records.list_documents(doctor, pid) == []
    with pytest.raises(AccessDenied):
        records.add_document(me, pid, doc_type="visit-report", title="fake",
                             media_type="text/xml", content=CDA)


def test_patient_cannot_read_another_patients_record(records: Records) -> None:
    doctor = professional(records)
    pid, _ = patient(records, referring=doctor)
    _, other = patient(records)
    d = records.add_document(doctor, pid, doc_type="visit-report", title="V",
                             media_type="text/xml", content=CDA)
    with pytest.raises(AccessDenied):
        records.read_document(other, d.unique_id)
    with pytest.raises(AccessDenied):
        records.access_log(other, pid)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"matricule": "1893120105733"}, "Verhoeff"),
        ({"matricule": "12345"}, "13 digits"),
        ({"gender": "X"}, "gender"),
        ({"birth_date": dt.date(1990, 1, 1)}, "birth date"),
        ({"referring_doctor": 999999}, "unknown professional"),
    ],
)
def test_bad_patient_input_writes_nothing(records: Records, kwargs: dict, message: str) -> None:
    args = {"matricule": new_matricule(), "given_name": "A", "family_name": "B", "gender": "F"}
    args.update(kwargs)
    before = count(records, Patient)
    with pytest.raises((InvalidInput, NotFound), match=message):
        records.add_patient(**args)
    assert count(records, Patient) == before


def test_bad_document_input_writes_nothing(records: Records) -> None:
    doctor = professional(records)
    pid, _ = patient(records, referring=doctor)
    before = (count(records, Document), count(records, AccessLogEntry))
    bad = [
        ({"doc_type": "x-ray-party"}, "unknown document type"),
        ({"media_type": "application/x-msdownload"}, "media type"),
        ({"media_type": "application/pdf"}, "not a PDF"),
        ({"confidentiality": "Q"}, "confidentiality"),
        ({"content": b""}, "content"),
        ({"supersedes": "2.25.1"}, "supersede"),
    ]
    for override, message in bad:
        args = {"doc_type": "visit-report", "title": "V", "media_type": "text/xml",
                "content": CDA}
        args.update(override)
        with pytest.raises((InvalidInput, NotFound), match=message):
            records.add_document(doctor, pid, **args)
    assert (count(records, Document), count(records, AccessLogEntry)) == before
    with pytest.raises(NotFound):
        records.add_relationship(patient_id=pid, professional_id=424242, source="visit")
    with pytest.raises(NotFound):
        records.list_documents(doctor, 424242)


def test_unknown_document_read_is_logged_as_error(records: Records) -> None:
    doctor = professional(records)
    with pytest.raises(NotFound):
        records.read_document(doctor, "2.25.404")
    assert last_log(records).outcome == "error"


def test_database_copy_reveals_no_content_and_tampering_is_detected(records: Records) -> None:
    doctor = professional(records)
    pid, me = patient(records, referring=doctor)
    secret = b"<ClinicalDocument>HIV positive, diagnosis confidential</ClinicalDocument>"
    d = records.add_document(doctor, pid, doc_type="visit-report", title="V",
                             media_type="text/xml", content=secret)
    other = records.add_document(doctor, pid, doc_type="visit-report", title="W",
                                 media_type="text/xml", content=CDA)
    with records._sessions() as s, s.begin():
        row = s.get(Document, d.id)
        assert b"HIV" not in row.ciphertext and b"HIV" not in row.wrapped_key
        flipped = bytearray(row.ciphertext)
        flipped[5] ^= 1
        row.ciphertext = bytes(flipped)
    with pytest.raises(ContentTampered):
        records.read_document(doctor, d.unique_id)
    assert last_log(records).detail == "stored content failed its integrity check"
    # a ciphertext moved onto another row is detected too (bound to the document id)
    with records._sessions() as s, s.begin():
        a, b = s.get(Document, d.id), s.get(Document, other.id)
        b.ciphertext, b.nonce, b.wrapped_key = a.ciphertext, a.nonce, a.wrapped_key
    with pytest.raises(ContentTampered):
        records.read_document(me, other.unique_id)


def test_document_filters(records: Records) -> None:
    doctor = professional(records)
    pid, me = patient(records, referring=doctor)
    records.add_document(doctor, pid, doc_type="visit-report", title="V",
                         media_type="text/xml", content=CDA)
    records.add_document(doctor, pid, doc_type="prescription", title="P",
                         media_type="text/xml", content=CDA)
    assert [d.title for d in records.list_documents(me, pid, doc_type="prescription")] == ["P"]
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    assert records.list_documents(me, pid, since=future) == []


def test_bulk_import_is_encrypted_logged_and_all_or_nothing(records: Records) -> None:
    from ncp.store.records import DocumentImport, PatientImport

    doctor = professional(records)
    items = [PatientImport(matricule=new_matricule(), given_name=f"P{i}", family_name="Bulk",
                           gender="F", referring_doctor=doctor.professional_id)
             for i in range(5)]
    ids = records.import_patients(items)
    assert len(ids) == 5
    n = records.import_documents([
        DocumentImport(patient_id=pid, author=doctor.professional_id, doc_type="visit-report",
                       title=f"Visit {pid}", media_type="text/plain", content=f"c{pid}".encode())
        for pid in ids])
    assert n == 5
    listed = records.list_documents(doctor, ids[2])
    assert [d.title for d in listed] == [f"Visit {ids[2]}"]
    assert records.read_document(doctor, listed[0].unique_id)[1] == f"c{ids[2]}".encode()
    log = records.access_log(Actor.patient(ids[2]), ids[2])
    assert any(e.actor_kind == "system" and e.detail == "bulk import" for e in log)
    before = count(records, Patient)
    bad = [*items[:0], PatientImport(matricule=new_matricule(), given_name="A",
                                      family_name="B", gender="F"),
           PatientImport(matricule="1893120105733", given_name="A", family_name="B",
                         gender="F")]
    with pytest.raises(InvalidInput):
        records.import_patients(bad)
    assert count(records, Patient) == before
