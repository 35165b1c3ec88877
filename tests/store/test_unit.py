"""The unit of work: steps, queued writes, commit and rollback, on both back ends."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, bindparam, func, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ncp.store.db import session_factory
from ncp.store.models import AssertionReplay, UtcDateTime
from ncp.store.unit import Query, unit

NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC)
_ADD = Query(insert(AssertionReplay).values(
    assertion_id=bindparam("id"), not_on_or_after=bindparam("until", type_=UtcDateTime()),
    seen_at=bindparam("until", type_=UtcDateTime())).returning(AssertionReplay.assertion_id))
_COUNT = Query(select(func.count()).select_from(AssertionReplay))
_BY_ID = Query(select(AssertionReplay.assertion_id, AssertionReplay.not_on_or_after,
                      literal("constant")).where(AssertionReplay.assertion_id == bindparam("id")))


def _count(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(AssertionReplay)) or 0)


def test_one_step_answers_each_query_in_order(any_db_engine: Engine) -> None:
    with unit(any_db_engine) as u:
        pending = u.write(_ADD, {"id": "a", "until": NOW})
        counts, rows, none = u.fetch((_COUNT, {}), (_BY_ID, {"id": "a"}), (_BY_ID, {"id": "z"}))
    assert pending.rows()[0][0] == "a"
    assert counts[0][0] == 1 and none == []
    # the literal bound in the statement itself reaches the server on both paths
    assert rows[0][0] == "a" and rows[0][2] == "constant"
    assert rows[0][1].astimezone(dt.UTC) == NOW
    assert _count(any_db_engine) == 1


def test_an_exception_rolls_back_every_queued_write(any_db_engine: Engine) -> None:
    with pytest.raises(RuntimeError), unit(any_db_engine) as u:
        u.write(_ADD, {"id": "a", "until": NOW})
        u.fetch((_COUNT, {}))
        raise RuntimeError("refused after the write")
    assert _count(any_db_engine) == 0


def test_a_failed_statement_leaves_nothing_and_the_pool_usable(any_db_engine: Engine) -> None:
    with unit(any_db_engine) as u:
        u.write(_ADD, {"id": "a", "until": NOW})
    with pytest.raises(IntegrityError), unit(any_db_engine) as u:
        u.write(_ADD, {"id": "b", "until": NOW})
        u.write(_ADD, {"id": "a", "until": NOW})  # duplicate key: fails at the commit
    assert _count(any_db_engine) == 1
    for n in range(8):  # every pooled connection still works
        with unit(any_db_engine) as u:
            assert u.fetch((_COUNT, {}))[0][0][0] == 1 + n
            u.write(_ADD, {"id": f"c{n}", "until": NOW})


def test_rollback_then_exit_commits_nothing(any_db_engine: Engine) -> None:
    with unit(any_db_engine) as u:
        u.write(_ADD, {"id": "a", "until": NOW})
        u.fetch((_COUNT, {}))
        u.rollback()
    assert _count(any_db_engine) == 0
    with session_factory(any_db_engine)() as s:
        assert s.scalar(select(func.count()).select_from(AssertionReplay)) == 0


def test_values_are_stored_as_the_orm_stores_them(any_db_engine: Engine) -> None:
    from sqlalchemy import text

    with unit(any_db_engine) as u:
        u.write(_ADD, {"id": "by-unit", "until": NOW})
    with session_factory(any_db_engine)() as s, s.begin():
        s.add(AssertionReplay(assertion_id="by-orm", not_on_or_after=NOW, seen_at=NOW))
    with any_db_engine.connect() as conn:
        stored = dict(conn.execute(text(
            "SELECT assertion_id, not_on_or_after FROM assertion_replay")).all())
    assert stored["by-unit"] == stored["by-orm"]  # same text on SQLite, same instant on PG


def test_dates_read_through_units_are_utc(records) -> None:  # type: ignore[no-untyped-def]
    # the unit applies the column types' own conversions (UtcDateTime) on both back ends
    from tests.store.factories import patient, professional

    doctor = professional(records)
    pid, _me = patient(records, referring=doctor)
    records.add_document(doctor, pid, doc_type="visit-report", title="V",
                         media_type="text/plain", content=b"x")
    listed = records.list_documents(doctor, pid)[0]
    read, _ = records.read_document(doctor, listed.unique_id)
    for when in (listed.created_at, read.created_at):
        assert when.tzinfo is not None and when.utcoffset() == dt.timedelta(0)
