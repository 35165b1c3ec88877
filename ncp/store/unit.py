"""A unit of work on one pooled connection, with the fewest statements and no ORM on the way.

Why this exists: on the hot paths (a gateway retrieve, a DSP list or read, the replay cache,
the audit record) the SQL itself is cheap; the cost was the number of statements, each a round
trip to PostgreSQL, and the per-statement bookkeeping of the ORM session and of SQLAlchemy's
execution layer (about 0.2 ms a statement here, against 0.05 ms for a prepared statement sent
by psycopg itself). One DSP read used to be seven round trips (BEGIN, document, patient,
facts, access-log row, content, COMMIT); through a unit it is five, of cheaper statements.

A :class:`Unit` runs in *steps*: :meth:`Unit.fetch` runs the queries of a step and returns
each one's rows, :meth:`Unit.write` runs a write (its ``RETURNING`` rows readable later),
:meth:`Unit.commit` ends the transaction. The access-log row of a read is written in the same
transaction as the read, and the caller commits before anything leaves the store.

- On PostgreSQL (psycopg 3) the statements go straight to psycopg as server-side prepared
  statements on a connection checked out of SQLAlchemy's pool. psycopg's pipeline mode was
  measured too and was slower here (0.51 ms against 0.24 ms for an insert and its commit):
  its extra synchronisation costs more than the round trips it saves on loopback.
- On SQLite (in process, no round trips) the same statements run through SQLAlchemy Core on one
  connection, which gives SQLite its type handling (dates are stored as text) and its
  ``BEGIN IMMEDIATE`` (:mod:`ncp.store.db`).

Statements are SQLAlchemy Core objects wrapped once in a :class:`Query`; the PostgreSQL text is
compiled from the same object, so each statement has one definition for both back ends.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

__all__ = ["Pending", "Query", "Unit", "unit"]

Row = Sequence[Any]


class Query:
    """One Core statement, with its PostgreSQL text compiled on first use."""

    __slots__ = ("_psycopg", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._psycopg: tuple[str, dict[str, Any]] | None = None

    def psycopg(self, dialect: Dialect) -> tuple[str, dict[str, Any]]:
        """SQL text (pyformat placeholders) and the values bound in the statement itself
        (literals); the caller's parameters complete them."""
        if self._psycopg is None:
            compiled = self.statement.compile(dialect=dialect)
            defaults = {k: v for k, v in compiled.params.items() if v is not None}
            self._psycopg = (str(compiled), defaults)
        return self._psycopg


class Pending:
    """The rows a queued write returns (``RETURNING``), readable once the unit committed."""

    __slots__ = ("_cursor", "_rows")

    def __init__(self, rows: list[Row] | None = None, cursor: Any = None) -> None:
        self._rows = rows
        self._cursor = cursor

    def rows(self) -> list[Row]:
        if self._rows is None:
            self._rows = list(self._cursor.fetchall()) if self._cursor is not None else []
        return self._rows


class Unit:
    """One transaction; see the module docstring. Not thread-safe (one per request)."""

    def fetch(self, *steps: tuple[Query, Mapping[str, Any]]) -> list[list[Row]]:
        """Run the queries of one step (sent together) and return each one's rows."""
        raise NotImplementedError

    def write(self, query: Query, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]
              ) -> Pending:
        """Queue a write (sent with the next step or the commit)."""
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _CoreUnit(Unit):
    """SQLAlchemy Core on one connection (SQLite, and any driver other than psycopg)."""

    def __init__(self, engine: Engine) -> None:
        self._conn = engine.connect()
        self._tx = self._conn.begin()

    def fetch(self, *steps: tuple[Query, Mapping[str, Any]]) -> list[list[Row]]:
        return [list(self._conn.execute(q.statement, dict(p)).all()) for q, p in steps]

    def write(self, query: Query, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]
              ) -> Pending:
        multi = not isinstance(params, Mapping)
        result = self._conn.execute(query.statement,
                                    [dict(p) for p in params] if multi else dict(params))
        return Pending(list(result.all()) if result.returns_rows else [])

    def commit(self) -> None:
        if self._tx.is_active:
            self._tx.commit()

    def rollback(self) -> None:
        if self._tx.is_active:
            self._tx.rollback()

    def close(self) -> None:
        self._conn.close()


class _PsycopgUnit(Unit):
    """psycopg 3 on a pooled connection, with server-side prepared statements."""

    def __init__(self, engine: Engine, *, autocommit: bool = False) -> None:
        self._dialect = engine.dialect
        self._proxy = engine.raw_connection()
        self._conn = self._proxy.driver_connection
        self._conn.autocommit = autocommit
        self._open = True

    def _execute(self, query: Query, params: Mapping[str, Any]) -> Any:
        sql, defaults = query.psycopg(self._dialect)
        cursor = self._conn.cursor()
        cursor.execute(sql, {**defaults, **params} if defaults else params, prepare=True)
        return cursor

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Driver errors as SQLAlchemy's (IntegrityError...), as callers of the store expect."""
        dbapi = self._dialect.loaded_dbapi
        try:
            yield
        except dbapi.Error as exc:
            if self._dialect.is_disconnect(exc, self._conn, None):
                self._proxy.invalidate()
            raise DBAPIError.instance(None, None, exc, dbapi.Error) from exc

    def fetch(self, *steps: tuple[Query, Mapping[str, Any]]) -> list[list[Row]]:
        with self._errors():
            cursors = [self._execute(q, p) for q, p in steps]
            return [cursor.fetchall() for cursor in cursors]

    def write(self, query: Query, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]
              ) -> Pending:
        with self._errors():
            if isinstance(params, Mapping):
                return Pending(cursor=self._execute(query, params))
            sql, defaults = query.psycopg(self._dialect)
            cursor = self._conn.cursor()
            cursor.executemany(sql, [{**defaults, **p} for p in params])
            return Pending([])

    def commit(self) -> None:
        with self._errors():
            self._conn.commit()

    def rollback(self) -> None:
        with self._errors():
            self._conn.rollback()

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        try:
            if self._conn.autocommit and not self._conn.closed:
                self._conn.autocommit = False  # as the pool hands connections out
        finally:
            self._proxy.close()  # back to the pool (which rolls back anything left open)


@contextmanager
def unit(engine: Engine, *, single_statements: bool = False) -> Iterator[Unit]:
    """A :class:`Unit` on ``engine``: committed at the end of the block, rolled back if the
    block raises (a refusal that must keep its log row commits before it raises).

    ``single_statements``: every statement of the block is atomic on its own and commits by
    itself (PostgreSQL autocommit: no BEGIN and COMMIT round trips). Only for blocks whose
    statements need no common transaction, e.g. one multi-row INSERT.
    """
    u: Unit = (_PsycopgUnit(engine, autocommit=single_statements)
               if engine.dialect.driver == "psycopg" else _CoreUnit(engine))
    try:
        yield u
        u.commit()
    except BaseException:
        try:
            u.rollback()
        except Exception:
            if isinstance(u, _PsycopgUnit):
                u._proxy.invalidate()
        raise
    finally:
        u.close()
