"""Shared fixtures: the specs folder, fresh migrated databases on SQLite and PostgreSQL.

PostgreSQL tests start one throwaway cluster per session with the installed ``initdb`` and
``pg_ctl`` (as the ``postgres`` system user when run as root, since PostgreSQL refuses root). Where
those programs are missing the PostgreSQL tests are skipped with the reason printed, unless
``NCP_TEST_REQUIRE_POSTGRES`` is set (CI), when their absence is a failure.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ncp.store.crypto import KeyRing
from ncp.store.db import make_engine, session_factory, upgrade
from ncp.store.records import Records
from ncp.testing.postgres import PostgresCluster

ROOT = Path(__file__).resolve().parents[1]
SPECS = (ROOT.parent / "shared" / "specs").resolve()
REQUIRE_POSTGRES = bool(os.environ.get("NCP_TEST_REQUIRE_POSTGRES"))


@pytest.fixture(scope="session", autouse=True)
def _one_clock_for_certificates() -> Iterator[None]:
    """Every certificate, CRL and card a test issues is dated from the suite's one clock
    (``tests/clock.py``), like the assertions and the PKI fixtures: material made from the real
    clock late in a long run would not yet be valid at ``NOW`` (issue 11)."""
    from ncp.security import pki
    from tests.clock import NOW

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pki, "_now", lambda: NOW)
        yield


@pytest.fixture(scope="session")
def specs_dir() -> Path:
    if not SPECS.is_dir():
        pytest.fail(f"the eHDSI specs folder is missing: expected {SPECS}")
    return SPECS


# --------------------------------------------------------------------------- SQLite


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per session; each test gets a copy (cheap, and isolated)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    with sqlite3.connect(path) as raw:  # fold the WAL into the file so a plain copy is whole
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def db_engine(_sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """A fresh, migrated SQLite database."""
    path = tmp_path / "ncp.sqlite"
    shutil.copyfile(_sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    try:
        cluster = PostgresCluster()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        reason = f"PostgreSQL tests need initdb/pg_ctl: {exc}"
        if REQUIRE_POSTGRES:
            pytest.fail(reason + " (NCP_TEST_REQUIRE_POSTGRES is set)")
        pytest.skip(reason)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def _postgres_template(postgres_cluster: PostgresCluster) -> str:
    url = postgres_cluster.create_database("ncp_template")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return "ncp_template"


@pytest.fixture
def pg_engine(postgres_cluster: PostgresCluster, _postgres_template: str) -> Iterator[Engine]:
    """A fresh, migrated PostgreSQL database."""
    url = postgres_cluster.create_database(f"t_{uuid.uuid4().hex[:12]}", _postgres_template)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db_engine(request: pytest.FixtureRequest) -> Engine:
    """The same test on SQLite and on PostgreSQL."""
    name = "db_engine" if request.param == "sqlite" else "pg_engine"
    return request.getfixturevalue(name)


@pytest.fixture
def keyring() -> KeyRing:
    return KeyRing({"mk-test": os.urandom(32)}, "mk-test")


@pytest.fixture
def records(any_db_engine: Engine, keyring: KeyRing) -> Records:
    """The record service over a fresh database (SQLite and PostgreSQL)."""
    return Records(session_factory(any_db_engine), keyring)
