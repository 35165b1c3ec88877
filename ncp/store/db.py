"""Engines, sessions and migrations, identical on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str, **kwargs: object) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys, durable commits, a busy timeout.

    Why those pragmas: foreign keys are off by default in SQLite, WAL lets the gateway's
    readers go on while the access log is written, and ``synchronous=FULL`` syncs the WAL at
    every commit: with ``NORMAL`` an acknowledged eDispensation or access-log row could vanish
    on power loss (only the last checkpoint is durable).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            private_file(Path(database))
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        event.listen(engine, "handle_error", _count_error)
        return engine
    if parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg"))
    # No pre-ping: it would add a round trip to every request; stale connections are
    # recycled instead, and a failed connection is discarded by the pool on error.
    engine = create_engine(url, pool_recycle=1800, **kwargs)
    event.listen(engine, "connect", _postgresql_generic_plans)
    event.listen(engine, "handle_error", _count_error)
    return engine


def _count_error(context: object) -> None:
    """Count every error the driver raises (the ``ncp_database_errors_total`` metric), by
    DB-API class: ``OperationalError`` is the database gone or the disk full, ``IntegrityError``
    a lost race the code handles, the others bugs."""
    from ncp.observability import database_error

    original = getattr(context, "original_exception", None)
    database_error(type(original).__name__ if original is not None else "unknown")


def private_file(path: Path) -> None:
    """Create ``path``'s folder (mode 0700) and the file itself (0600) if they are missing, and
    take group and other permissions off an existing file.

    Why: the SQLite file holds the whole record store; SQLite creates its ``-wal`` and ``-shm``
    files with the main file's mode, so creating that one 0600 keeps all three private whatever
    the umask.
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _postgresql_generic_plans(dbapi_connection: object, _record: object) -> None:
    """Plan each prepared statement once (``plan_cache_mode = force_generic_plan``).

    Why: the store's statements are key lookups whose best plan does not depend on the values.
    Left to itself (``auto``), PostgreSQL compared the generic plan's estimate with the custom
    ones and kept planning the read view (a document, its patient, seven EXISTS facts) again on
    every execution: 1.6 ms a read, against 0.65 ms with the one generic plan.
    """
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("SET plan_cache_mode = force_generic_plan")
    cursor.close()
    dbapi_connection.commit()  # type: ignore[attr-defined]


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (see _sqlite_begin_immediate).
    dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _sqlite_begin_immediate(conn: object) -> None:
    """Take SQLite's write lock at BEGIN.

    Why: every transaction of the store writes (at least its access-log row). A deferred
    transaction that reads first and writes later cannot wait for another writer in WAL mode
    (it fails with SQLITE_BUSY at once); an immediate one queues on the busy timeout instead,
    which is what makes the conditional updates (dispensing) safe under concurrency.
    """
    conn.exec_driver_sql("BEGIN IMMEDIATE")  # type: ignore[attr-defined]


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (``ncp db upgrade``)."""
    command.upgrade(alembic_config(engine), revision)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def reading(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reads only, whose transaction ends with COMMIT.

    Why not a plain ``with sessions() as s``: closing a session rolls its transaction back, and
    on PostgreSQL psycopg answers a ROLLBACK by dropping every prepared statement of the
    connection, so the hot paths (:mod:`ncp.store.unit`) would prepare theirs again. Committing
    a transaction that wrote nothing costs the same round trip and keeps them.
    """
    with sessions() as session, session.begin():
        yield session


def analyze(engine: Engine) -> None:
    """Refresh the planner statistics (after a bulk load, as an operator would)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
            conn.exec_driver_sql("CHECKPOINT")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def database_status(engine: Engine) -> str:
    """``ok`` or a short reason, for ``GET /health``."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"unavailable: {type(exc).__name__}"
    return "ok"
