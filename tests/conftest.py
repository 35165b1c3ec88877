"""Shared fixtures: the specs folder, fresh migrated databases on SQLite and PostgreSQL.

PostgreSQL tests start one throwaway cluster per session with the installed ``initdb`` and
``pg_ctl`` (as the ``postgres`` system user when run as root, since PostgreSQL refuses root). Where
those programs are missing the PostgreSQL tests are skipped with the reason printed, unless
``NCP_TEST_REQUIRE_POSTGRES`` is set (CI), when their absence is a failure.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from ncp.store.crypto import KeyRing
from ncp.store.db import make_engine, session_factory, upgrade
from ncp.store.records import Records

ROOT = Path(__file__).resolve().parents[1]
SPECS = (ROOT.parent / "shared" / "specs").resolve()
REQUIRE_POSTGRES = bool(os.environ.get("NCP_TEST_REQUIRE_POSTGRES"))


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
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
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


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    """A throwaway PostgreSQL cluster on loopback, stopped and deleted at the end."""

    def __init__(self) -> None:
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise FileNotFoundError("initdb/pg_ctl not found (PostgreSQL server binaries)")
        self.pg_ctl = pg_ctl
        self.dir = Path(tempfile.mkdtemp(prefix="ncp-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "postgres"
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run([initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres",
                   "--no-sync", "-E", "UTF8", "--locale=C"])
        self._run([pg_ctl, "-D", str(self.data), "-w", "-l", str(self.dir / "log"), "-o",
                   f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                   "-c fsync=on -c max_connections=50", "start"])
        self.admin_url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, argv: list[str]) -> None:
        if self.user:
            argv = ["runuser", "-u", self.user, "--", *argv]
        subprocess.run(argv, check=True, capture_output=True, cwd=self.dir)

    def create_database(self, name: str, template: str | None = None) -> str:
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            suffix = f" TEMPLATE {template}" if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
        admin.dispose()
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run([self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


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
