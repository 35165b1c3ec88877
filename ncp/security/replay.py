"""The assertion replay cache: an assertion id is accepted once within its lifetime.

The validator registers all ids of one request together, after every other check has passed,
so a refused request leaves no trace and a replay of any one id refuses the whole request.
The production cache lives in the database (``assertion_replay`` table) so that every gateway
process shares it; the in-memory cache serves single-process tools and unit tests.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

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

    ``session_factory`` is a SQLAlchemy ``sessionmaker`` (its engine is used); each call is one
    transaction, committed only if none of the ids was seen (the table's primary key
    arbitrates races, see :func:`ncp.store.replay.register_assertions`).
    """

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._engine: Engine = session_factory.kw["bind"]

    def register_all(self, entries: Sequence[ReplayEntry], *, now: dt.datetime) -> str | None:
        from ncp.store.replay import register_assertions

        return register_assertions(self._engine, list(entries), now=now)
