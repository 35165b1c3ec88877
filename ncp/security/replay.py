"""The replay cache: a SAML assertion id, or a wsa:MessageID, is accepted once in its lifetime.

An *identical* assertion may come again: portals on the reference gateway send the same HCP
assertion for discovery, query and retrieve, and the same TRC for a patient's query and
retrieve. An entry therefore carries a digest (of the peer and the assertion's exclusive
canonical form): a second use of a live id is a reuse when the digests are equal, and a replay
otherwise (another assertion under a seen id). Entries without a digest (the MessageIDs) are
never reusable: a message is processed once.

The validator registers all entries of one request together, after every other check has
passed, so a refused request leaves no trace and a replay of any one entry refuses the whole
request. The production cache lives in the database (``assertion_replay`` table) so that every
gateway process shares it; the in-memory cache serves single-process tools and unit tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["DatabaseReplayCache", "InMemoryReplayCache", "ReplayCache", "ReplayEntry",
           "digest_key", "short_key"]

#: (key, end of its lifetime) or (key, end of its lifetime, digest): with a digest, a second
#: use with the same digest is a lawful reuse; without, any second use is a replay.
ReplayEntry = tuple[str, dt.datetime] | tuple[str, dt.datetime, str | None]

#: Longest key stored as it is (the column holds 200 characters); longer ones are hashed.
_MAX_KEY = 150


def short_key(key: str) -> str:
    """``key``, or a fixed-length hash of it when it is too long for the column."""
    if len(key) <= _MAX_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def digest_key(key: str, digest: str) -> str:
    """The companion row of a reusable entry: present iff this exact content was seen.

    The ``#`` cannot occur in an xs:ID (an assertion id), so it never collides with one."""
    return "#" + hashlib.sha256(f"{key}\n{digest}".encode()).hexdigest()


def _split(entry: ReplayEntry) -> tuple[str, dt.datetime, str | None]:
    if len(entry) == 2:
        return entry[0], entry[1], None
    return entry[0], entry[1], entry[2]  # type: ignore[misc]


class ReplayCache(Protocol):
    def register_all(self, entries: Sequence[ReplayEntry], *, now: dt.datetime) -> str | None:
        """Record every entry; return None, or the first key replayed (recording nothing)."""
        ...


class InMemoryReplayCache:
    """A per-process cache; enough for one process, useless across several."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[dt.datetime, str | None]] = {}
        self._lock = threading.Lock()

    def register_all(self, entries: Sequence[ReplayEntry], *, now: dt.datetime) -> str | None:
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {k: v for k, v in self._seen.items() if v[0] > now}
            fresh = []
            for key, until, digest in map(_split, entries):
                seen = self._seen.get(key)
                if seen is not None and seen[0] > now:
                    if digest is None or seen[1] != digest:
                        return key
                    continue  # the same assertion again: a reuse, its first record stays
                fresh.append((key, until, digest))
            for key, until, digest in fresh:
                self._seen[key] = (until, digest)
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
        """One upsert of every key, plus, for a reusable entry, its companion
        :func:`digest_key` row. Seen and companion seen: a reuse. Seen but companion new:
        another content under a seen id, a replay. Two requests racing still serialise on
        the primary keys (:func:`ncp.store.replay.register_assertions`)."""
        from ncp.store.replay import register_assertions

        rows: list[tuple[str, dt.datetime]] = []
        companions: dict[str, str] = {}
        for key, until, digest in map(_split, entries):
            rows.append((key, until))
            if digest is not None:
                companions[key] = digest_key(key, digest)
                rows.append((companions[key], until))
        return register_assertions(self._engine, rows, now=now, companions=companions)
