"""Issue 14 findings 7 and 8 (files): SQLite commits are durable, the store's files private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import text

from ncp.store.db import make_engine, upgrade


def test_sqlite_syncs_every_commit(tmp_path: Path) -> None:
    """``synchronous=FULL`` (2): with WAL's ``NORMAL`` (1) an acknowledged commit can be lost on
    power loss. Power loss itself cannot be staged here; the setting that decides it can."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ncp.sqlite'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_database_folder_and_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, which gave 0644 files
    try:
        var = tmp_path / "var"
        engine = make_engine(f"sqlite:///{var / 'ncp.sqlite'}")
        upgrade(engine)
        with engine.begin() as conn:  # a write, so the -wal and -shm files exist
            conn.execute(text("CREATE TABLE t (x)"))
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in var.iterdir()}
        engine.dispose()
    finally:
        os.umask(old)
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    assert modes and set(modes.values()) == {0o600}, modes


def test_an_existing_readable_database_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "ncp.sqlite"
    path.write_bytes(b"")
    path.chmod(0o644)
    make_engine(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
