"""Master key rotation: online re-wrap, old rows still readable, retired keys dropped."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select

from ncp.store.crypto import KeyRing
from ncp.store.db import session_factory
from ncp.store.keys import KeyRingSource, rotate
from ncp.store.models import Document
from ncp.store.records import Records
from tests.store.factories import patient, professional


def test_rotation_rewraps_every_row_and_keeps_content(any_db_engine: Engine,
                                                      tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first = KeyRing.load_or_create(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    sessions = session_factory(any_db_engine)
    records = Records(sessions, KeyRingSource.from_file(path))
    doctor = professional(records)
    pid, me = patient(records, referring=doctor)
    docs = [records.add_document(doctor, pid, doc_type="visit-report", title=f"V{i}",
                                 media_type="text/plain", content=f"content {i}".encode())
            for i in range(7)]
    report = rotate(sessions, path, batch=3)
    assert report.rewrapped == 7 and report.new_key_id != first.active
    assert report.retired == [first.active]
    ring = KeyRing.load(path)
    assert ring.key_ids == [report.new_key_id]
    with sessions() as s:
        assert set(s.scalars(select(Document.key_id))) == {report.new_key_id}
    # the running service picks up the new ring from disk without a restart
    for i, d in enumerate(docs):
        assert records.read_document(me, d.unique_id)[1] == f"content {i}".encode()
    new = records.add_document(doctor, pid, doc_type="visit-report", title="after",
                               media_type="text/plain", content=b"after rotation")
    with sessions() as s:
        assert s.scalar(select(Document.key_id).where(Document.id == new.id)) == \
            report.new_key_id


def test_process_with_stale_ring_still_reads_rewrapped_rows(db_engine: Engine,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    KeyRing.load_or_create(path)
    sessions = session_factory(db_engine)
    writer = Records(sessions, KeyRingSource.from_file(path))
    doctor = professional(writer)
    pid, me = patient(writer, referring=doctor)
    d = writer.add_document(doctor, pid, doc_type="visit-report", title="V",
                            media_type="text/plain", content=b"x")
    other_process = Records(sessions, KeyRingSource.from_file(path))
    rotate(sessions, path)
    assert other_process.read_document(me, d.unique_id)[1] == b"x"


def test_rotation_covers_sent_dispensations(db_engine: Engine, tmp_path: Path) -> None:
    import datetime as dt

    from ncp.store.peers import CrossBorderStore

    path = tmp_path / "keys.json"
    KeyRing.load_or_create(path)
    sessions = session_factory(db_engine)
    store = CrossBorderStore(sessions, KeyRingSource.from_file(path))
    sent = store.record_dispensation(
        account_id=1, country="BE", patient_cx="1^^^&1.2&ISO", prescription_id="p",
        document_unique_id="1.2.3", document_id="1.2^3", product="X", packages=1,
        substituted=False, content=b"<eD/>", status="sent", outcome="accepted",
        now=dt.datetime.now(dt.UTC))
    report = rotate(sessions, path)
    assert report.rewrapped == 1 and report.retired
    assert store.dispensation(sent.id, account_id=1).content == b"<eD/>"
