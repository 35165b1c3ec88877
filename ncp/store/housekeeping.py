"""Rows the gateway needs only for a while, deleted once their time is over.

Why: two tables gain rows on every gateway request and were never emptied (found by the soak of
issue 16, bench/faults.py ``soak``):

- ``assertion_replay``: about five keys per request (each assertion id, with its message and
  content keys), each needed only until its assertion's NotOnOrAfter. A soak of 2,463 requests
  left 11,790 rows; at 10 requests a second that is four million rows a day, kept forever.
- ``request_counts``: one row per (scope, key, window) of the discovery volume limits; only the
  current window is ever read.

Lookups in both go by primary key, so the per-request cost hardly grows with them (measured:
no difference with 270,000 replay rows), but the database does, without bound. The app purges
both once a minute, with the audit chain's sealer (ncp.app); each delete is one short
statement on an indexed column (``not_on_or_after``) or a small table, so a SQLite writer
waits for it a few milliseconds at most.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, delete

from ncp.store.models import AssertionReplay
from ncp.store.volumes import RequestCount, window_start

__all__ = ["Purged", "purge"]


@dataclass(frozen=True, slots=True)
class Purged:
    """How many rows each purge deleted."""

    replay_ids: int
    request_counts: int


def purge(engine: Engine, *, now: dt.datetime, window: dt.timedelta) -> Purged:
    """Delete replay ids whose lifetime is over at ``now``, and the request counts of the
    windows (of length ``window``) before the current one."""
    with engine.begin() as conn:
        replay = conn.execute(delete(AssertionReplay)
                              .where(AssertionReplay.not_on_or_after <= now)).rowcount
    with engine.begin() as conn:
        counts = conn.execute(delete(RequestCount)
                              .where(RequestCount.window_start < window_start(now, window))
                              ).rowcount
    return Purged(int(replay or 0), int(counts or 0))
