"""The assertion replay cache: an assertion id is accepted once within its lifetime.

The validator registers all ids of one request together, after every other check has passed,
so a refused request leaves no trace and a replay of any one id refuses the whole request.
The production cache lives in the database (``assertion_replay`` table) so that every gateway
process shares it; the in-memory cache serves single-process tools and unit tests.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from sqlalchemy.orm import Session

__all__ = ["DatabaseReplayCache", "InMemoryReplayCache", "ReplayCache", "ReplayEntry"]

#: (assertion id, end of its lifetime)
ReplayEntry = tuple[str, dt.datetime]


class ReplayCache(Protocol):
    def register_all(self, entries: Sequence[ReplayEntry], *, now: dt.datetime) -> str | None:
        """Record every id; return None, or the first id already seen (recording nothing)."""
        ...


class InMemoryReplayCache:
    """A per-process cache; enough for one process, useless across several."""

    def __init__(self) -> None:
        self._seen: dict[str, dt.datetime] = {}
        self._lock = threading.Lock()

    def register_all(self, entries: Sequence[ReplayEntry], *, now: dt.datetime) -> str | None:
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {k: v for k, v in self._seen.items() if v > now}
            for aid, _until in entries:
                until = self._seen.get(aid)
                if until is not None and until > now:
                    return aid
            for aid, until in entries:
                self._seen[aid] = until
        return None


class DatabaseReplayCache:
    """Replay cache on the ``assertion_replay`` table (shared by every gateway process).

    ``session_factory`` is a SQLAlchemy ``sessionmaker``; each call runs in its own transaction,
    committed only if none of the ids was seen (the table's primary key arbitrates races).
    """

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._session_factory = session_factory

    def register_all(self, entries: Sequence[ReplayEntry], *, now: dt.datetime) -> str | None:
        from sqlalchemy import select

        from ncp.store.models import AssertionReplay
        from ncp.store.replay import register_assertion

        ids = [aid for aid, _ in entries]
        try:
            with self._session_factory() as session, session.begin():
                # Look first, write after: a replay is then refused before anything is written,
                # even where the driver cannot roll back a released savepoint (pysqlite).
                live = set(session.scalars(select(AssertionReplay.assertion_id).where(
                    AssertionReplay.assertion_id.in_(ids),
                    AssertionReplay.not_on_or_after > now)))
                for aid in ids:
                    if aid in live:
                        return aid
                for aid, until in entries:
                    if not register_assertion(session, assertion_id=aid, not_on_or_after=until,
                                              now=now):
                        raise _AlreadySeen(aid)  # leaving the block rolls everything back
        except _AlreadySeen as seen:
            return seen.assertion_id
        return None


class _AlreadySeen(Exception):
    def __init__(self, assertion_id: str) -> None:
        super().__init__(assertion_id)
        self.assertion_id = assertion_id
