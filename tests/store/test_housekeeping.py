"""Expired replay ids and past request-count windows are deleted (ncp.store.housekeeping), by
the app's once-a-minute round too; live ones stay and still refuse a replay."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from sqlalchemy import Engine, func, insert, select

from ncp.store.housekeeping import purge
from ncp.store.models import AssertionReplay
from ncp.store.replay import register_assertions
from ncp.store.volumes import RequestCount, RequestVolumes, window_start
from tests.clock import NOW

HOUR = dt.timedelta(hours=1)


def _fill(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(insert(AssertionReplay), [
            {"assertion_id": "_expired", "not_on_or_after": NOW - dt.timedelta(seconds=1),
             "seen_at": NOW - HOUR},
            {"assertion_id": "_ends-now", "not_on_or_after": NOW, "seen_at": NOW - HOUR},
            {"assertion_id": "_live", "not_on_or_after": NOW + HOUR, "seen_at": NOW},
        ])
        current = window_start(NOW, HOUR)
        c.execute(insert(RequestCount), [
            {"scope": "peer", "key": "BE", "window_start": current - 2 * HOUR, "count": 5},
            {"scope": "peer", "key": "BE", "window_start": current - HOUR, "count": 7},
            {"scope": "peer", "key": "BE", "window_start": current, "count": 3},
        ])


def _left(engine: Engine) -> tuple[list[str], list[int]]:
    with engine.connect() as c:
        ids = sorted(c.scalars(select(AssertionReplay.assertion_id)))
        counts = sorted(c.scalars(select(RequestCount.count)))
    return ids, counts


def test_purge_deletes_only_what_has_expired(any_db_engine: Engine) -> None:
    _fill(any_db_engine)
    purged = purge(any_db_engine, now=NOW, window=HOUR)
    assert (purged.replay_ids, purged.request_counts) == (2, 2)
    assert _left(any_db_engine) == (["_live"], [3])
    # the live id still refuses a replay; the current window still counts on from 3
    assert register_assertions(any_db_engine, [("_live", NOW + HOUR)], now=NOW) == "_live"
    volumes = RequestVolumes(any_db_engine)
    volumes.count(at=NOW, peer="BE", professional="dr", patient="p")
    with any_db_engine.connect() as c:
        assert c.scalar(select(RequestCount.count).where(
            RequestCount.scope == "peer", RequestCount.key == "BE")) == 4
    # nothing more to delete: a second round is a no-op
    assert purge(any_db_engine, now=NOW, window=HOUR) == type(purged)(0, 0)


def test_the_apps_periodic_round_purges(any_db_engine: Engine) -> None:
    from ncp.app import _maintain

    _fill(any_db_engine)
    runtime = SimpleNamespace(engine=any_db_engine,
                              settings=SimpleNamespace(request_window_minutes=60))
    _maintain(runtime, now=NOW)  # type: ignore[arg-type]
    assert _left(any_db_engine) == (["_live"], [3])
    with any_db_engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(AssertionReplay)) == 1
