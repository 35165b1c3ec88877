"""Issue 14 finding 8: a document's ciphertext is bound to its patient and access fields.
Someone who can write the database file (``sqlite3``) but has no key can neither move a
document to another record nor unmask it nor lower its confidentiality unseen: the read is
refused as tampered. The patient's own changes re-seal and keep working."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import Engine, select, update

from ncp.store.crypto import KeyRing
from ncp.store.db import session_factory
from ncp.store.errors import ContentTampered
from ncp.store.models import Document
from ncp.store.records import Records
from tests.store.factories import patient, professional


@pytest.fixture
def store(db_engine: Engine, keyring: KeyRing) -> Records:
    return Records(session_factory(db_engine), keyring)


def _edit(engine: Engine, sql: str, **params: object) -> None:
    with sqlite3.connect(str(engine.url.database)) as raw:  # no key, only the file
        raw.execute(sql, params)


@pytest.mark.parametrize(("column", "value"), [
    ("patient_id", "other"), ("masked", 0), ("confidentiality", "N"),
    ("doc_type", "patient-summary")])
def test_an_edited_access_field_makes_the_read_fail(store: Records, db_engine: Engine,
                                                    column: str, value: object) -> None:
    doctor = professional(store)
    pid, me = patient(store, referring=doctor)
    other, other_me = patient(store, referring=doctor)
    doc = store.add_document(doctor, pid, doc_type="visit-report", title="Psychiatrie",
                             media_type="text/plain", content=b"diagnosis: depression")
    store.set_confidentiality(me, doc.unique_id, "V")
    store.set_masked(me, doc.unique_id, True)
    assert store.read_document(me, doc.unique_id)[1] == b"diagnosis: depression"
    _edit(db_engine, f"UPDATE documents SET {column} = :v WHERE unique_id = :uid",  # noqa: S608
          v=other if value == "other" else value, uid=doc.unique_id)
    reader = other_me if value == "other" else me
    with pytest.raises(ContentTampered):
        store.read_document(reader, doc.unique_id)
    with pytest.raises(ContentTampered):  # nor through the professional who wrote it
        store.read_document(doctor, doc.unique_id)


def test_legacy_rows_are_resealed_and_cannot_be_downgraded(store: Records,
                                                           db_engine: Engine) -> None:
    doctor = professional(store)
    pid, me = patient(store, referring=doctor)
    doc = store.add_document(doctor, pid, doc_type="visit-report", title="V",
                             media_type="text/plain", content=b"x")
    # A v1 row passed off as v0 (the unique id alone) does not open either.
    _edit(db_engine, "UPDATE documents SET aad_version = 0 WHERE unique_id = :uid",
          uid=doc.unique_id)
    with pytest.raises(ContentTampered):
        store.read_document(me, doc.unique_id)
    # A real legacy row (sealed under the unique id before 0015) is read, then re-sealed.
    sessions = session_factory(db_engine)
    legacy = store.keys.current().seal(b"old content", aad=doc.unique_id.encode())
    with sessions() as s, s.begin():
        s.execute(update(Document).where(Document.id == doc.id).values(
            aad_version=0, key_id=legacy.key_id, wrapped_key=legacy.wrapped_key,
            nonce=legacy.nonce, ciphertext=legacy.ciphertext))
    assert store.read_document(me, doc.unique_id)[1] == b"old content"
    assert store.reseal_legacy_documents() == 1 and store.reseal_legacy_documents() == 0
    with sessions() as s:
        assert s.scalar(select(Document.aad_version).where(Document.id == doc.id)) == 2
    assert store.read_document(me, doc.unique_id)[1] == b"old content"
    _edit(db_engine, "UPDATE documents SET masked = 1 WHERE unique_id = :uid",
          uid=doc.unique_id)
    with pytest.raises(ContentTampered):
        store.read_document(me, doc.unique_id)
