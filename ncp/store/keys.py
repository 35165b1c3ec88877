"""Master key ring on disk, shared by every gateway process, and its online rotation.

Processes re-read the key ring file when it changes (one ``stat`` per use), so that after
``ncp keys rotate`` every process seals new documents under the new master key and can still
open rows that are not yet re-wrapped. A key that no row names any more leaves the ring for the
*archive* (``<ring>.archive.json``, 0600), never for oblivion: a database backup from before a
rotation stays readable, and a row written late under a retired key is still opened (and
re-wrapped by the next rotation).

Rotation is safe against itself and against writers: one rotation at a time (an exclusive lock
on ``<ring>.lock``); every file written through a unique temporary name, synced, renamed and the
folder synced; the last in-use check and the retirement made while the sealed tables are locked
against writers (PostgreSQL ``LOCK TABLE ... IN SHARE ROW EXCLUSIVE MODE``; SQLite's write lock),
then a last sweep re-wraps anything a writer sealed under a retired key just before the lock.

The master keys live in a file by default. A KMS or PKCS#11 token plugs in by overriding
:meth:`KeyRing.wrap` / :meth:`KeyRing.unwrap` (``ncp.store.crypto``), the only two operations
that use a master key.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from ncp.store import sealed
from ncp.store.crypto import KeyRing, UnknownMasterKey, write_private_json


def archive_path(path: Path) -> Path:
    return path.with_name(path.stem + ".archive.json")


def load_archive(path: Path) -> dict[str, dict[str, str]]:
    """The retired keys of the ring at ``path``: ``{id: {"key": base64, "retired_at": iso}}``."""
    archive = archive_path(path)
    if not archive.exists():
        return {}
    return dict(json.loads(archive.read_text())["retired"])


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
        """A ring holding ``key_id``: reloading once if another process has just rotated, then
        from the archive (a row restored from a backup, or written late under a retired key)."""
        ring = self.current()
        if key_id in ring.key_ids:
            return ring
        if self._path is not None:
            with self._lock:
                self._ring = KeyRing.load(self._path)
                self._stamp = None
            if key_id in self._ring.key_ids:
                return self._ring
            retired = load_archive(self._path).get(key_id)
            if retired is not None:
                return KeyRing({**{k: self._ring.master(k) for k in self._ring.key_ids},
                                key_id: base64.b64decode(retired["key"])}, self._ring.active)
        raise UnknownMasterKey(key_id)


@dataclass(frozen=True, slots=True)
class RotationReport:
    new_key_id: str
    rewrapped: int
    retired: list[str]


class UnregisteredSealedTable(RuntimeError):
    """The database has a table with wrapped data keys that :mod:`ncp.store.sealed` does not
    know: rotating now would retire master keys its rows still need."""


def _sealed_tables() -> list[Any]:
    """Every table whose rows carry a data key wrapped by a master key (the registry)."""
    return [entry.model for entry in sealed.tables()]


def _pk(table: Any) -> Any:
    return getattr(table, next(e.pk for e in sealed.tables() if e.model is table))


def _check_registry(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        missing = sealed.unregistered(s.connection())
    if missing:
        raise UnregisteredSealedTable(
            f"tables with wrapped data keys not registered with ncp.store.sealed: "
            f"{', '.join(missing)} (import ncp.store.schema before rotating)")


@contextmanager
def rotation_lock(path: Path) -> Iterator[None]:
    """One rotation at a time, across processes (``flock`` on ``<ring>.lock``)."""
    lock = path.with_name(path.name + ".lock")
    lock.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _rewrap_all(sessions: sessionmaker[Session], ring: KeyRing, batch: int) -> int:
    done = 0
    for table in _sealed_tables():
        while True:
            with sessions() as s, s.begin():
                pk = _pk(table)
                rows = s.execute(
                    select(pk.label("id"), table.key_id, table.wrapped_key)
                    .where(table.key_id.is_not(None), table.key_id != ring.active)
                    .limit(batch)).all()
                for row in rows:
                    s.execute(update(table).where(pk == row.id,
                                                  table.key_id == row.key_id)
                              .values(key_id=ring.active,
                                      wrapped_key=ring.rewrap(row.key_id, row.wrapped_key)))
            done += len(rows)
            if len(rows) < batch:
                break
    return done


def _lock_sealed_tables(s: Session) -> None:
    """Hold off writers of the sealed tables until the end of the transaction."""
    if s.get_bind().dialect.name == "postgresql":
        names = ", ".join(t.__tablename__ for t in _sealed_tables())  # type: ignore[attr-defined]
        s.execute(text(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE"))
    # SQLite: the transaction began with BEGIN IMMEDIATE, which is the database's write lock.


def rotate(sessions: sessionmaker[Session], path: Path, *, batch: int = 1000,
           now: dt.datetime | None = None) -> RotationReport:
    """Make a new master key active, re-wrap every data key under it, archive the old keys.

    Online: the new ring is written first (old keys kept), rows are re-wrapped in small
    committed batches, and old keys move to the archive only when no row names them, checked
    while writers are held off.
    """
    now = now or dt.datetime.now(dt.UTC)
    _check_registry(sessions)
    with rotation_lock(path):
        ring = KeyRing.load(path).with_new_active_key()
        ring.save(path)
        # In memory only: the archived keys too, for rows restored or written late under them.
        working = KeyRing({**{k: base64.b64decode(v["key"])
                              for k, v in load_archive(path).items()},
                           **{k: ring.master(k) for k in ring.key_ids}}, ring.active)
        done = _rewrap_all(sessions, working, batch)
        with sessions() as s, s.begin():
            _lock_sealed_tables(s)
            in_use: set[str] = set()
            for table in _sealed_tables():
                in_use |= set(s.scalars(select(table.key_id).where(table.key_id.is_not(None))
                                        .group_by(table.key_id)))
            retired = [k for k in ring.key_ids if k != ring.active and k not in in_use]
            if retired:
                archive = load_archive(path)
                for key_id in retired:
                    archive[key_id] = {"key": base64.b64encode(ring.master(key_id)).decode(),
                                       "retired_at": now.isoformat()}
                write_private_json(archive_path(path), {"retired": archive})
                ring.without(retired).save(path)
        # A writer that sealed under an old key before the ring changed, and committed after
        # the re-wrap: its row is opened through the archive and re-wrapped now.
        done += _rewrap_all(sessions, working, batch)
    return RotationReport(ring.active, done, retired)
