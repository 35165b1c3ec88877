"""A unit of work on one pooled connection: the fewest statements, run by the driver itself.

Why this exists: on the hot paths (a gateway retrieve, a DSP list or read, the replay cache,
the audit record) the SQL itself is cheap; the cost was the number of statements and the
bookkeeping around each one. Measured here: SQLAlchemy's execution layer costs about 0.2 ms a
statement (a multi-row INSERT, which its cache does not keep, 0.5 ms to compile again), the
ORM session more; a prepared statement sent by psycopg itself 0.05 ms, an INSERT through the
sqlite3 module 0.03 ms. One DSP read used to be seven statements (BEGIN, document, patient,
facts, access-log row, content, COMMIT); through a unit it is one query, the access-log row
and the commit.

Statements are SQLAlchemy Core objects wrapped once in a :class:`Query` and compiled once per
dialect, with SQLAlchemy's own type conversions (bind and result processors: SQLite keeps
dates as text, booleans as integers), so each statement has one definition for both back ends
and the values are stored exactly as the ORM stores them. A unit then hands the compiled text
to the DBAPI connection it checked out of SQLAlchemy's pool:

- PostgreSQL (psycopg 3): server-side prepared statements, results in the binary format.
  psycopg's pipeline mode was measured too and was slower here (0.51 ms against 0.24 ms for an
  insert and its commit).
- SQLite (sqlite3): ``BEGIN IMMEDIATE`` as every store transaction (:mod:`ncp.store.db`).

A :class:`Unit` runs in steps: :meth:`Unit.fetch` runs queries and returns each one's rows,
:meth:`Unit.write` runs a write (its ``RETURNING`` rows readable later), :meth:`Unit.commit`
ends the transaction. The access-log row of a read is written in the same transaction as the
read, and the caller commits before anything leaves the store. Driver errors are raised as
SQLAlchemy's (``IntegrityError``...), as callers of the store expect.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

__all__ = ["Pending", "Query", "Unit", "unit"]

Row = Sequence[Any]
Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One statement for one dialect: text, parameter order, conversions."""

    sql: str
    #: parameter names in placeholder order (qmark drivers), or None (named: pyformat)
    order: tuple[str, ...] | None
    defaults: dict[str, Any]
    binds: tuple[tuple[str, Processor], ...]
    results: tuple[tuple[int, Processor], ...]

    def parameters(self, given: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values = {**self.defaults, **given} if self.defaults else dict(given)
        for name, process in self.binds:
            if name in values:
                values[name] = process(values[name])
        if self.order is None:
            return values
        return tuple(values[name] for name in self.order)

    def rows(self, raw: list[Any]) -> list[Row]:
        if not self.results:
            return raw
        out = []
        for row in raw:
            values = list(row)
            for i, process in self.results:
                values[i] = process(values[i])
            out.append(values)
        return out


class Query:
    """One Core statement, compiled for a dialect on first use there."""

    __slots__ = ("_compiled", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        done = self._compiled.get(dialect.name)
        if done is None:
            done = self._compiled[dialect.name] = self._compile(dialect)
        return done

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        binds = []
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None and name in compiled.params:
                binds.append((name, process))
        results = []
        for i, column in enumerate(getattr(self.statement, "selected_columns", ())):
            process = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if process is not None:
                results.append((i, process))
        return _Compiled(
            sql=str(compiled),
            order=tuple(compiled.positiontup) if compiled.positiontup is not None else None,
            defaults={k: v for k, v in compiled.params.items() if v is not None},
            binds=tuple(binds), results=tuple(results))


class Pending:
    """The rows a write returned (``RETURNING``), read at once: SQLite finishes a statement,
    and may commit it, only when its rows have been read."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list[Row]) -> None:
        self._rows = rows

    def rows(self) -> list[Row]:
        return self._rows


class Unit:
    """One transaction on one pooled DBAPI connection; see the module docstring.
    Not thread-safe (one per request)."""

    def __init__(self, engine: Engine, *, single_statements: bool = False) -> None:
        self._dialect = engine.dialect
        self._proxy = engine.raw_connection()
        self._conn = self._proxy.driver_connection
        self._psycopg = self._dialect.driver == "psycopg"
        self._single = single_statements
        self._open = True
        with self._errors():
            if self._psycopg:
                self._conn.autocommit = single_statements
            elif not single_statements:
                self._conn.execute("BEGIN IMMEDIATE")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        dbapi = self._dialect.loaded_dbapi
        try:
            yield
        except dbapi.Error as exc:
            if self._dialect.is_disconnect(exc, self._conn, None):
                self._proxy.invalidate()
            raise DBAPIError.instance(None, None, exc, dbapi.Error) from exc

    def _execute(self, query: Query, params: Mapping[str, Any]) -> tuple[Any, _Compiled]:
        compiled = query.compiled(self._dialect)
        cursor = self._conn.cursor()
        if self._psycopg:
            # binary results: a bytea column (sealed content, cached pivots) comes as its bytes,
            # not hex text twice its size to encode on the server and decode here
            cursor.execute(compiled.sql, compiled.parameters(params), prepare=True, binary=True)
        else:
            cursor.execute(compiled.sql, compiled.parameters(params))
        return cursor, compiled

    def fetch(self, *steps: tuple[Query, Mapping[str, Any]]) -> list[list[Row]]:
        """Run each query and return its rows (converted as SQLAlchemy would)."""
        with self._errors():
            out = []
            for query, params in steps:
                cursor, compiled = self._execute(query, params)
                out.append(compiled.rows(cursor.fetchall()))
            return out

    def write(self, query: Query, params: Mapping[str, Any]) -> Pending:
        """Run a write; its ``RETURNING`` rows are read from the result."""
        with self._errors():
            cursor, compiled = self._execute(query, params)
            return Pending(compiled.rows(cursor.fetchall()) if cursor.description else [])

    def commit(self) -> None:
        with self._errors():
            if self._psycopg:
                self._conn.commit()  # nothing to do in autocommit or when idle
            elif self._conn.in_transaction:
                self._conn.execute("COMMIT")

    def rollback(self) -> None:
        with self._errors():
            if self._psycopg:
                self._conn.rollback()
            elif self._conn.in_transaction:
                self._conn.execute("ROLLBACK")

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        try:
            if self._psycopg and self._conn.autocommit and not self._conn.closed:
                self._conn.autocommit = False  # as the pool hands connections out
        finally:
            self._proxy.close()  # back to the pool (which rolls back anything left open)


@contextmanager
def unit(engine: Engine, *, single_statements: bool = False) -> Iterator[Unit]:
    """A :class:`Unit` on ``engine``: committed at the end of the block, rolled back if the
    block raises (a refusal that must keep its log row commits before it raises).

    ``single_statements``: every statement of the block is atomic on its own and commits by
    itself (no BEGIN and COMMIT round trips on PostgreSQL). Only for blocks whose statements
    need no common transaction, e.g. one multi-row INSERT.
    """
    if engine.dialect.driver not in ("psycopg", "pysqlite"):
        raise NotImplementedError(f"no unit of work for the {engine.dialect.driver} driver")
    u = Unit(engine, single_statements=single_statements)
    try:
        yield u
        u.commit()
    except BaseException:
        try:
            u.rollback()
        except Exception:
            u._proxy.invalidate()
        raise
    finally:
        u.close()
