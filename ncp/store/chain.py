"""A hash chain over the access log and the audit messages: edits cannot go unseen.

Each row, once sealed, carries ``chain_seq`` (1, 2, 3 ... per table, no gap) and
``chain_hash = SHA-256(previous chain_hash || canonical row)``, the canonical row being the
sorted JSON of its non-null columns (id included; the chain columns and ``forwarded_at``, which
legitimately changes, excluded). Changing, deleting or reordering a sealed row breaks every
link after it; ``ncp audit verify`` names the first broken one.

Why sealing after the fact and not in the inserting transaction: a chain link needs the
previous row's hash, which would make every request of every process wait on one lock (the
access log is written on each read). The sealer (:func:`seal`, run by the app once a minute and
by ``ncp audit seal``) takes the rows not sealed yet in id order, under one lock (PostgreSQL
advisory lock; SQLite's write lock). A row is open to unseen edits only until then. The chain
head (``ncp audit verify`` prints it) is what an operator copies elsewhere to detect truncation
of the tail, which no chain can see by itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import Table, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from ncp.store.models import AccessLogEntry, AuditMessage

GENESIS = "0" * 64
#: Columns outside the hash: the chain itself, and what changes after the fact by design.
UNHASHED = frozenset({"chain_seq", "chain_hash", "forwarded_at"})
_LOCK_ID = 0x4E43505F43484149  # "NCP_CHAI": the sealers' advisory lock on PostgreSQL


def _tables() -> dict[str, Table]:
    return {"access_log": AccessLogEntry.__table__,  # type: ignore[dict-item]
            "audit_messages": AuditMessage.__table__}  # type: ignore[dict-item]


def _value(value: object) -> object:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def link(previous: str, row: dict[str, object]) -> str:
    """The chain hash of ``row`` after ``previous``."""
    canonical = json.dumps({k: _value(v) for k, v in sorted(row.items())
                            if v is not None and k not in UNHASHED},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(previous.encode() + b"\n" + canonical.encode()).hexdigest()


def _rows(s: Session, table: Table, where: object, limit: int | None = None,
          order: object = None) -> list[dict[str, object]]:
    from ncp.store.models import UtcDateTime

    # Raw column values, with dates read the way the store writes them (UTC).
    query = select(table).where(where).order_by(order if order is not None else table.c.id)
    if limit:
        query = query.limit(limit)
    rows = []
    for r in s.execute(query).mappings():
        row = dict(r)
        for c in table.columns:
            if isinstance(c.type, UtcDateTime) and row.get(c.name) is not None:
                row[c.name] = c.type.process_result_value(row[c.name], None)
        rows.append(row)
    return rows


def seal(sessions: sessionmaker[Session], *, batch: int = 5000) -> int:
    """Chain every row not sealed yet; returns how many were sealed."""
    sealed = 0
    for table in _tables().values():
        while True:
            with sessions() as s, s.begin():
                if s.get_bind().dialect.name == "postgresql":
                    s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
                head = s.execute(select(table.c.chain_seq, table.c.chain_hash)
                                 .where(table.c.chain_seq.is_not(None))
                                 .order_by(table.c.chain_seq.desc()).limit(1)).first()
                seq, previous = (head[0], head[1]) if head else (0, GENESIS)
                rows = _rows(s, table, table.c.chain_seq.is_(None), batch)
                for row in rows:
                    seq += 1
                    previous = link(previous, row)
                    s.execute(update(table).where(table.c.id == row["id"])
                              .values(chain_seq=seq, chain_hash=previous))
                sealed += len(rows)
            if len(rows) < batch:
                break
    return sealed


@dataclass(frozen=True, slots=True)
class ChainReport:
    table: str
    sealed: int
    unsealed: int
    head: str
    #: The first broken link: (chain_seq, row id, what is wrong), or None when intact.
    broken: tuple[int, int | None, str] | None


def verify(sessions: sessionmaker[Session], *, batch: int = 5000) -> list[ChainReport]:
    """Recompute both chains from the start; the first broken link of each, if any."""
    reports = []
    for name, table in _tables().items():
        previous, expected, broken = GENESIS, 1, None
        with sessions() as s:
            while broken is None:
                rows = _rows(s, table, table.c.chain_seq >= expected, batch,
                             order=table.c.chain_seq)
                for row in rows:
                    if row["chain_seq"] != expected:
                        broken = (expected, None, f"link {expected} is missing (row deleted)")
                        break
                    if link(previous, row) != row["chain_hash"]:
                        broken = (expected, int(row["id"]),  # type: ignore[call-overload]
                                  "row changed, or a row before it")
                        break
                    previous = str(row["chain_hash"])
                    expected += 1
                if len(rows) < batch:
                    break
            unsealed = s.scalar(select(func.count()).select_from(table)
                                .where(table.c.chain_seq.is_(None))) or 0
        reports.append(ChainReport(name, expected - 1, int(unsealed), previous, broken))
    return reports
