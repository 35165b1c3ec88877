"""The audit trail's hash chain (issue 14, "Also"): an edit made with direct database access
(here ``sqlite3``/SQL, as an intruder or a careless operator would) is found by ``ncp audit
verify``, which names the first broken link; forwarding an audit message breaks nothing."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from ncp.cli import app
from ncp.store.audit import AuditLog, AuditRecord, Refusal
from ncp.store.chain import seal, verify
from ncp.store.crypto import KeyRing
from ncp.store.db import session_factory
from ncp.store.records import Records
from tests.clock import NOW
from tests.store.factories import patient, professional


def _activity(records: Records, engine: Engine) -> None:
    doctor = professional(records)
    pid, _ = patient(records, referring=doctor)
    for i in range(5):
        records.add_document(doctor, pid, doc_type="visit-report", title=f"V{i}",
                             media_type="text/plain", content=b"x")
    records.list_documents(doctor, pid)
    audit = AuditLog(session_factory(engine))
    for i in range(3):
        audit.record(at=NOW + dt.timedelta(seconds=i), transaction="ITI-55",
                     event_code="110112", outcome=0,
                     patient_ref=f"p{i}", message=f"<AuditMessage n='{i}'/>".encode())
    # a retrieve that answered one document and refused two (PartialSuccess)
    audit.record_all([AuditRecord(
        NOW, "ITI-39", "110106", 4, "p0", b"<AuditMessage/>",
        partial=tuple(Refusal(uuid.uuid4().hex, "masked", f"doc{n}", "the document is masked")
                      for n in range(2)))])


INTACT = {"access_log": None, "audit_messages": None, "audit_partial_refusals": None}


def _broken(engine: Engine) -> dict[str, tuple[int, int | str | None, str] | None]:
    return {r.table: r.broken for r in verify(session_factory(engine))}


def test_chain_finds_the_first_edited_row(records: Records, any_db_engine: Engine) -> None:
    _activity(records, any_db_engine)
    sessions = session_factory(any_db_engine)
    assert seal(sessions) > 8
    assert _broken(any_db_engine) == INTACT
    with any_db_engine.begin() as conn:  # an edit of the 3rd access-log row, unseen before
        third = conn.execute(text("SELECT id FROM access_log WHERE chain_seq = 3")).scalar()
        conn.execute(text("UPDATE access_log SET outcome = 'denied' WHERE id = :id"),
                     {"id": third})
        conn.execute(text("UPDATE audit_messages SET forwarded_at = :now"), {"now": NOW})
    broken = _broken(any_db_engine)
    assert broken["access_log"] is not None and broken["access_log"][:2] == (3, third)
    assert broken["audit_messages"] is None  # forwarding is no edit


def test_deleting_a_row_breaks_the_chain(records: Records, any_db_engine: Engine) -> None:
    _activity(records, any_db_engine)
    seal(session_factory(any_db_engine))
    with any_db_engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_messages WHERE chain_seq = 2"))
    broken = _broken(any_db_engine)["audit_messages"]
    assert broken is not None and broken[0] == 2 and "missing" in broken[2]


def test_rows_after_the_seal_are_chained_on(records: Records, any_db_engine: Engine) -> None:
    _activity(records, any_db_engine)
    sessions = session_factory(any_db_engine)
    first = seal(sessions)
    _activity(records, any_db_engine)
    assert seal(sessions) == first and seal(sessions) == 0
    assert [r.sealed for r in verify(sessions)] == [2 * (first - 6), 8, 4]


def test_ncp_audit_verify_reports_the_broken_link(db_engine: Engine, keyring: KeyRing,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _activity(Records(session_factory(db_engine), keyring), db_engine)
    monkeypatch.setenv("NCP_DATABASE_URL", str(db_engine.url))
    from ncp.settings import get_settings

    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert "rows sealed" in runner.invoke(app, ["audit", "seal"]).output
        ok = runner.invoke(app, ["audit", "verify"])
        assert ok.exit_code == 0 and "access_log: intact" in ok.output
        with sqlite3.connect(db_engine.url.database) as raw:  # the tool an intruder has
            raw.execute("UPDATE access_log SET what = 'nothing to see' WHERE chain_seq = 4")
        bad = runner.invoke(app, ["audit", "verify"])
        assert bad.exit_code == 1
        assert "access_log: BROKEN at link 4" in bad.output and "3 links before" in bad.output
    finally:
        get_settings.cache_clear()


def test_the_sealer_hashes_with_no_transaction_open_and_writes_small_batches(
        records: Records, any_db_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Why (issue 16, the soak): every request writes an audit row, and on SQLite every write
    waits for the one write lock. A sealer that hashed a minute's rows inside its transaction
    held that lock for seconds and every request stalled behind it once a minute."""
    from sqlalchemy import event

    from ncp.store import chain

    _activity(records, any_db_engine)
    _activity(records, any_db_engine)
    open_tx, updated, batches = [False], [0], []

    def begin(conn: object) -> None:
        open_tx[0], updated[0] = True, 0

    def end(conn: object) -> None:
        if updated[0]:
            batches.append(updated[0])
        open_tx[0] = False

    def count(conn: object, cursor: object, statement: str, parameters: object,
              context: object, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            updated[0] += len(parameters) if executemany else 1  # type: ignore[arg-type]

    hashed_inside = []
    real_link = chain.link

    def link(previous: str, row: dict[str, object]) -> str:
        hashed_inside.append(open_tx[0])
        return real_link(previous, row)

    monkeypatch.setattr(chain, "link", link)
    event.listen(any_db_engine, "begin", begin)
    event.listen(any_db_engine, "commit", end)
    event.listen(any_db_engine, "rollback", end)
    event.listen(any_db_engine, "before_cursor_execute", count)
    try:
        sealed = seal(session_factory(any_db_engine), batch=4, pause=0)
    finally:
        for name, fn in (("begin", begin), ("commit", end), ("rollback", end),
                         ("before_cursor_execute", count)):
            event.remove(any_db_engine, name, fn)
    assert sealed > 12 and len(hashed_inside) == sealed and not any(hashed_inside)
    assert sum(batches) == sealed and max(batches) <= 4
    assert _broken(any_db_engine) == INTACT


def test_a_batch_sealed_meanwhile_by_another_process_is_read_again(
        records: Records, any_db_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two processes seal (each app runs a sealer): one that computed its links while the
    other sealed the same rows must not write them (two rows with one link, or a fork)."""
    from ncp.store import chain

    _activity(records, any_db_engine)
    sessions = session_factory(any_db_engine)
    real_link, other = chain.link, []

    def link(previous: str, row: dict[str, object]) -> str:
        if not other:  # the other process seals everything between our read and our write
            monkeypatch.setattr(chain, "link", real_link)
            other.append(seal(sessions))
            monkeypatch.setattr(chain, "link", link)
        return real_link(previous, row)

    monkeypatch.setattr(chain, "link", link)
    ours = seal(sessions)
    total = sum(r.sealed for r in verify(sessions))
    assert other[0] == total > 0 and ours == 0
    assert _broken(any_db_engine) == INTACT


def test_an_edited_partial_refusal_breaks_its_chain(records: Records,
                                                   any_db_engine: Engine) -> None:
    """The reasons of errors sent inside a successful answer are audit rows too: ``ncp
    explain`` reads them, so an edit would mislead the operator who answers the peer."""
    _activity(records, any_db_engine)
    seal(session_factory(any_db_engine))
    assert _broken(any_db_engine) == INTACT
    with any_db_engine.begin() as conn:
        second = conn.execute(text("SELECT error_id FROM audit_partial_refusals "
                                   "WHERE chain_seq = 2")).scalar()
        conn.execute(text("UPDATE audit_partial_refusals SET \"check\" = 'unknown-document' "
                          "WHERE error_id = :e"), {"e": second})
    broken = _broken(any_db_engine)
    assert broken["audit_partial_refusals"] is not None
    assert broken["audit_partial_refusals"][:2] == (2, second)
    assert broken["access_log"] is None and broken["audit_messages"] is None
