"""Master key ring on disk, shared by every gateway process, and its online rotation.

Processes re-read the key ring file when it changes (one ``stat`` per use), so that after
``ncp keys rotate`` every process seals new documents under the new master key and can still
open rows that are not yet re-wrapped. Retired keys are dropped only once no row names them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from ncp.store.crypto import KeyRing, UnknownMasterKey
from ncp.store.models import Document, ReceivedOriginal


class KeyRingSource:
    """The current key ring: fixed (tests) or read from a file and reloaded when it changes."""

    def __init__(self, path: Path | None, ring: KeyRing | None = None) -> None:
        self._path = path
        self._ring = ring
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()

    @classmethod
    def fixed(cls, ring: KeyRing) -> KeyRingSource:
        return cls(None, ring)

    @classmethod
    def from_file(cls, path: Path, *, create: bool = False) -> KeyRingSource:
        if create:
            KeyRing.load_or_create(path)
        source = cls(path)
        source.current()
        return source

    def current(self) -> KeyRing:
        if self._path is None:
            assert self._ring is not None
            return self._ring
        st = self._path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            with self._lock:
                self._ring = KeyRing.load(self._path)
                self._stamp = stamp
        assert self._ring is not None
        return self._ring

    def get(self, key_id: str) -> KeyRing:
        """A ring holding ``key_id`` (reloading once if another process has just rotated)."""
        ring = self.current()
        if key_id in ring.key_ids:
            return ring
        if self._path is not None:
            with self._lock:
                self._ring = KeyRing.load(self._path)
            if key_id in self._ring.key_ids:
                return self._ring
        raise UnknownMasterKey(key_id)


@dataclass(frozen=True, slots=True)
class RotationReport:
    new_key_id: str
    rewrapped: int
    retired: list[str]


def _sealed_tables() -> list[type]:
    """Every table whose rows carry a data key wrapped by a master key."""
    from ncp.store.accounts import Account
    from ncp.store.peers import SentDispensation
    from ncp.store.pivot_cache import PivotCacheEntry

    return [Document, ReceivedOriginal, PivotCacheEntry, SentDispensation, Account]


def rotate(sessions: sessionmaker[Session], path: Path, *, batch: int = 1000) -> RotationReport:
    """Make a new master key active, re-wrap every data key under it, retire the old keys.

    Online: the new ring is written first (old keys kept), rows are re-wrapped in small
    committed batches, and old keys leave the file only when no row names them any more.
    """
    ring = KeyRing.load(path).with_new_active_key()
    ring.save(path)
    done = 0
    in_use: set[str] = set()
    for table in _sealed_tables():
        while True:
            with sessions() as s, s.begin():
                rows = s.execute(
                    select(table.id, table.key_id, table.wrapped_key)
                    .where(table.key_id.is_not(None), table.key_id != ring.active)
                    .limit(batch)).all()
                for row in rows:
                    s.execute(update(table).where(table.id == row.id,
                                                  table.key_id == row.key_id)
                              .values(key_id=ring.active,
                                      wrapped_key=ring.rewrap(row.key_id, row.wrapped_key)))
            done += len(rows)
            if len(rows) < batch:
                break
        with sessions() as s:
            in_use |= set(s.scalars(select(table.key_id).where(table.key_id.is_not(None))
                                    .group_by(table.key_id)))
    retired = [k for k in ring.key_ids if k != ring.active and k not in in_use]
    ring.without(retired).save(path)
    return RotationReport(ring.active, done, retired)
