"""The audit trail's hash chain (issue 14, "Also"): an edit made with direct database access
(here ``sqlite3``/SQL, as an intruder or a careless operator would) is found by ``ncp audit
verify``, which names the first broken link; forwarding an audit message breaks nothing."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from ncp.cli import app
from ncp.store.audit import AuditLog
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


def _broken(engine: Engine) -> dict[str, tuple[int, int | None, str] | None]:
    return {r.table: r.broken for r in verify(session_factory(engine))}


def test_chain_finds_the_first_edited_row(records: Records, any_db_engine: Engine) -> None:
    _activity(records, any_db_engine)
    sessions = session_factory(any_db_engine)
    assert seal(sessions) > 8
    assert _broken(any_db_engine) == {"access_log": None, "audit_messages": None}
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
    assert [r.sealed for r in verify(sessions)] == [2 * (first - 3), 6]


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
