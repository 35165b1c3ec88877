"""Master key rotation: online re-wrap, old rows still readable, retired keys dropped."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

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
    # the seven documents and their seven access-log rows (sealed too: issue 14, finding 8)
    assert report.rewrapped == 14 and report.new_key_id != first.active
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


# --------------------------------------------------------------------------- issue 14, item 9

def _doc(records: Records, doctor, pid: int, text: str):  # type: ignore[no-untyped-def]
    return records.add_document(doctor, pid, doc_type="visit-report", title=text,
                                media_type="text/plain", content=text.encode())


def test_a_late_writer_under_a_retired_key_stays_readable(any_db_engine: Engine,
                                                          tmp_path: Path) -> None:
    """A writer that sealed under the old key and committed after the in-use check: its key
    used to be deleted with the rotation, the row lost. Now the key is archived."""
    path = tmp_path / "keys.json"
    KeyRing.load_or_create(path)
    sessions = session_factory(any_db_engine)
    records = Records(sessions, KeyRingSource.from_file(path))
    doctor = professional(records)
    pid, me = patient(records, referring=doctor)
    stale = Records(sessions, KeyRingSource.fixed(KeyRing.load(path)))  # read before rotation
    report = rotate(sessions, path)
    late = _doc(stale, doctor, pid, "sealed under the retired key")
    assert report.retired and late.unique_id
    assert records.read_document(me, late.unique_id)[1] == b"sealed under the retired key"
    archive = tmp_path / "keys.archive.json"
    assert oct(archive.stat().st_mode & 0o777) == "0o600"
    assert set(report.retired) <= set(json.loads(archive.read_text())["retired"])
    # The next rotation re-wraps it under the new key; the archive keeps every old key.
    second = rotate(sessions, path)
    with sessions() as s:
        assert set(s.scalars(select(Document.key_id))) == {second.new_key_id}
    assert records.read_document(me, late.unique_id)[1] == b"sealed under the retired key"


def test_a_backup_from_before_a_rotation_is_still_readable(db_engine: Engine,
                                                           tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    KeyRing.load_or_create(path)
    sessions = session_factory(db_engine)
    records = Records(sessions, KeyRingSource.from_file(path))
    doctor = professional(records)
    pid, me = patient(records, referring=doctor)
    d = _doc(records, doctor, pid, "before")
    with sessions() as s:  # the backup: the row as it was before the rotation
        backup = s.execute(select(Document.key_id, Document.wrapped_key)
                           .where(Document.id == d.id)).one()
    rotate(sessions, path)
    rotate(sessions, path)
    with sessions() as s, s.begin():  # restored
        s.execute(update(Document).where(Document.id == d.id)
                  .values(key_id=backup.key_id, wrapped_key=backup.wrapped_key))
    assert records.read_document(me, d.unique_id)[1] == b"before"


def test_concurrent_rotations_and_writers_lose_nothing(any_db_engine: Engine,
                                                       tmp_path: Path) -> None:
    """Two rotations at once used to crash (a fixed temporary file name renamed away) and
    could drop a key in use; with the lock, unique names and the archive nothing is lost."""
    path = tmp_path / "keys.json"
    KeyRing.load_or_create(path)
    sessions = session_factory(any_db_engine)
    records = Records(sessions, KeyRingSource.from_file(path))
    doctor = professional(records)
    pid, me = patient(records, referring=doctor)
    written = [_doc(records, doctor, pid, "seed")]
    stop = threading.Event()

    def writer() -> None:
        own = Records(sessions, KeyRingSource.from_file(path))
        i = 0
        while not stop.is_set() and i < 200:
            written.append(_doc(own, doctor, pid, f"doc {i}"))
            i += 1

    with ThreadPoolExecutor(max_workers=3) as pool:
        w = pool.submit(writer)
        rotations = [pool.submit(rotate, sessions, path, batch=5) for _ in range(2)]
        reports = [r.result(timeout=120) for r in rotations]
        stop.set()
        w.result(timeout=120)
    assert len({r.new_key_id for r in reports}) == 2
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".keys*"))
    for d in written:
        assert records.read_document(me, d.unique_id)[1] == d.title.encode()


def test_ring_files_are_written_privately_and_synced(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    KeyRing.load_or_create(tmp_path / "var" / "keys.json")
    assert len(synced) == 2  # the file, then its folder
    assert oct((tmp_path / "var").stat().st_mode & 0o777) == "0o700"
    assert oct((tmp_path / "var" / "keys.json").stat().st_mode & 0o777) == "0o600"
