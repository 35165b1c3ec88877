"""Received originals: the eD as a foreign pharmacy sent it, sealed beside the DSP document that
holds its national form, written with it, read through its policy, re-wrapped by rotation."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from ncp.store.crypto import KeyRing
from ncp.store.db import session_factory
from ncp.store.dispensing import Dispensing, NotDispensable, PrescriptionItem
from ncp.store.errors import AccessDenied, ContentTampered, NotFound
from ncp.store.keys import KeyRingSource, rotate
from ncp.store.models import Dispensation, Document, ReceivedOriginal
from ncp.store.originals import Originals
from ncp.store.policy import Actor
from ncp.store.records import Records
from tests.store.factories import patient, professional

EP = b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>eP</title></ClinicalDocument>"
NATIONAL = b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>eD national</title></ClinicalDocument>"
PIVOT = b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>eD as sent</title></ClinicalDocument>"
PHARMACY = Actor.foreign(name="Ph. Peeters", organisation="Apotheek Centrum", country="BE",
                         profession="pharmacist")


def count(records: Records, model: type) -> int:
    with records._sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def prepared(records: Records, packages: int = 2) -> tuple[Dispensing, int, Actor]:
    doctor = professional(records)
    pid, me = patient(records, referring=doctor)
    records.give_consent(me, pid, "eprescription")
    dispensing = Dispensing(records)
    dispensing.prescribe(doctor, pid, PrescriptionItem(
        prescription_id="RX-1", product_name="Amoxicilline 500 mg", packages=packages),
        title="Prescription", content=EP)
    return dispensing, pid, me


def dispense(dispensing: Dispensing, uid: str = "ED-1", packages: int = 1,
             original: bytes | None = PIVOT) -> None:
    dispensing.dispense(PHARMACY, prescription_id="RX-1", dispensation_unique_id=uid,
                        packages=packages, content=NATIONAL, original=original,
                        pharmacist="P", organisation="Apotheek Centrum", country="be")


def stored_document(records: Records, uid: str = "ED-1") -> str:
    with records._sessions() as s:
        return str(s.scalar(select(Document.unique_id).join(
            Dispensation, Dispensation.document_id == Document.id).where(
            Dispensation.unique_id == uid)))


def test_the_original_is_sealed_beside_the_national_document(records: Records) -> None:
    dispensing, pid, me = prepared(records)
    dispense(dispensing)
    uid = stored_document(records)
    assert records.read_document(me, uid)[1] == NATIONAL
    kept = Originals(records).read(me, uid)
    assert kept.content == PIVOT and kept.country == "BE" and kept.media_type == "text/xml"
    assert kept.sha256 == hashlib.sha256(PIVOT).hexdigest() and kept.info.unique_id == uid
    with records._sessions() as s:
        row = s.scalars(select(ReceivedOriginal)).one()
        assert b"as sent" not in row.ciphertext and row.content_size == len(PIVOT)
        assert row.key_id == "mk-test"
    # idempotent re-submission: nothing new, neither document nor original
    dispense(dispensing)
    assert (count(records, Document), count(records, ReceivedOriginal)) == (2, 1)
    # discard leaves the evidence in place
    dispensing.discard(PHARMACY, dispensation_unique_id="ED-1", discard_unique_id="D-1",
                       prescription_id="RX-1", patient_id=pid, organisation="Apotheek Centrum",
                       country="BE")
    assert Originals(records).read(me, uid).content == PIVOT


def test_reading_the_original_is_the_documents_policy(records: Records) -> None:
    dispensing, _pid, _me = prepared(records)
    dispense(dispensing)
    uid = stored_document(records)
    stranger = professional(records, name="Paul Hoffmann")
    with pytest.raises(AccessDenied):
        Originals(records).read(stranger, uid)
    with pytest.raises(NotFound):
        Originals(records).read(stranger, "2.25.404")


def test_a_document_without_original_and_a_moved_ciphertext(records: Records) -> None:
    dispensing, _pid, me = prepared(records, packages=3)
    dispense(dispensing, "ED-1")
    dispense(dispensing, "ED-2", original=None)  # a caller that stores no transformed form
    with pytest.raises(NotFound):
        Originals(records).read(me, stored_document(records, "ED-2"))
    dispense(dispensing, "ED-3")
    first, third = stored_document(records, "ED-1"), stored_document(records, "ED-3")
    with records._sessions() as s, s.begin():
        ids = {u: s.scalar(select(Document.id).where(Document.unique_id == u))
               for u in (first, third)}
        source = s.scalars(select(ReceivedOriginal).where(
            ReceivedOriginal.document_id == ids[third])).one()
        s.execute(update(ReceivedOriginal).where(ReceivedOriginal.document_id == ids[first])
                  .values(key_id=source.key_id, wrapped_key=source.wrapped_key,
                          nonce=source.nonce, ciphertext=source.ciphertext))
    with pytest.raises(ContentTampered):
        Originals(records).read(me, first)


def test_concurrent_dispenses_keep_one_original(records: Records) -> None:
    dispensing, _pid, _me = prepared(records)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            dispense(dispensing, f"ED-C{n}", packages=2)
            outcomes.append("ok")
        except NotDispensable:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["ok"] + ["refused"] * 3
    assert count(records, Dispensation) == count(records, ReceivedOriginal) == 1


def test_rotation_rewraps_the_originals(any_db_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first = KeyRing.load_or_create(path)
    records = Records(session_factory(any_db_engine), KeyRingSource.from_file(path))
    dispensing, _pid, me = prepared(records, packages=2)
    dispense(dispensing, "ED-1")
    dispense(dispensing, "ED-2")
    report = rotate(session_factory(any_db_engine), path, batch=1)
    # the prescription, two dispensation documents and their two originals; the
    # prescription's row and the four access-log rows (sealed too: issue 14, finding 8)
    assert report.rewrapped == 10 and report.retired == [first.active]
    assert KeyRing.load(path).key_ids == [report.new_key_id]
    with records._sessions() as s:
        assert set(s.scalars(select(ReceivedOriginal.key_id))) == {report.new_key_id}
    for uid in ("ED-1", "ED-2"):
        assert Originals(records).read(me, stored_document(records, uid)).content == PIVOT
