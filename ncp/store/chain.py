"""A hash chain over the access log and the audit rows: edits cannot go unseen.

Three chains, one per table: ``access_log``, ``audit_messages`` and ``audit_partial_refusals``
(the reasons of the errors sent inside answers that otherwise succeeded, which ``ncp explain``
reads: an edited reason would mislead the operator who answers a peer).

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

Why in small batches, hashed outside the writing transaction, and written in one executemany:
every gateway request writes an audit row, and on SQLite every write waits for the one write
lock. The first sealer took the lock, then hashed and updated a minute's rows one ORM
statement at a time (0.4 ms a row, 2.6 s for 6,600 rows): every request of every process
stalled behind it once a minute (server-side 3-4 s), and an open-loop load at 80 % of the peak
never caught up (bench/faults.py soak, issue 16). Now a batch (``batch`` rows) is read in one
short transaction, its links are computed with no transaction open, and written in a second
short one that first checks the chain head has not moved (another process sealing meanwhile:
the batch is read again); between batches the sealer pauses so waiting writers get the lock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Column, Table, bindparam, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from ncp.store.models import AccessLogEntry, AuditMessage, PartialRefusal

GENESIS = "0" * 64
#: Columns outside the hash: the chain itself, and what changes after the fact by design (the
#: wrapped data key of a sealed row, re-wrapped by ``ncp keys rotate``; its sealed values are
#: hashed, and a wrapped key changed otherwise makes them fail to open).
UNHASHED = frozenset({"chain_seq", "chain_hash", "forwarded_at", "key_id", "wrapped_key"})
_LOCK_ID = 0x4E43505F43484149  # "NCP_CHAI": the sealers' advisory lock on PostgreSQL


def _tables() -> dict[str, Table]:
    return {"access_log": AccessLogEntry.__table__,  # type: ignore[dict-item]
            "audit_messages": AuditMessage.__table__,  # type: ignore[dict-item]
            "audit_partial_refusals": PartialRefusal.__table__}  # type: ignore[dict-item]


def _key(table: Table) -> Column[object]:
    """The row's identity: ``id``; a partial refusal's is its error id."""
    return table.c.id if "id" in table.c else table.c.error_id


def _arrival(table: Table) -> tuple[Column[object], ...]:
    """The order unsealed rows are chained in: as they were written (a partial refusal with
    the audit record it belongs to, which has an increasing id)."""
    if "id" in table.c:
        return (table.c.id,)
    return (table.c.audit_message_id, table.c.error_id)


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
          order: object = None, offset: int = 0) -> list[dict[str, object]]:
    from ncp.store.models import UtcDateTime

    # Raw column values, with dates read the way the store writes them (UTC).
    query = select(table).where(where).order_by(
        *((order,) if order is not None else _arrival(table)))
    if limit:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    rows = []
    for r in s.execute(query).mappings():
        row = dict(r)
        for c in table.columns:
            if isinstance(c.type, UtcDateTime) and row.get(c.name) is not None:
                row[c.name] = c.type.process_result_value(row[c.name], None)
        rows.append(row)
    return rows


def seal(sessions: sessionmaker[Session], *, batch: int = 500, pause: float = 0.01) -> int:
    """Chain every row not sealed yet; returns how many were sealed.

    ``batch`` rows per write transaction, ``pause`` seconds between batches (see the module
    docstring for why)."""
    sealed = 0
    for table in _tables().values():
        while True:
            n = _seal_batch(sessions, table, batch)
            if n is None:  # another sealer moved the head since the batch was read
                continue
            sealed += n
            if n < batch:
                break
            time.sleep(pause)
    return sealed


def _head(s: Session, table: Table) -> tuple[int, str]:
    row = s.execute(select(table.c.chain_seq, table.c.chain_hash)
                    .where(table.c.chain_seq.is_not(None))
                    .order_by(table.c.chain_seq.desc()).limit(1)).first()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


def _seal_batch(sessions: sessionmaker[Session], table: Table, batch: int) -> int | None:
    """Seal up to ``batch`` rows of ``table``: how many, or None if the head moved meanwhile."""
    with sessions() as s, s.begin():
        head = _head(s, table)
        rows = _rows(s, table, table.c.chain_seq.is_(None), batch)
    if not rows:
        return 0
    seq, previous = head
    links = []
    for row in rows:  # no transaction open: nobody waits on the hashing
        seq += 1
        previous = link(previous, row)
        links.append({"row_id": row[_key(table).name], "seq": seq, "link": previous})
    with sessions() as s, s.begin():
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
        if _head(s, table) != head:
            return None
        # unchanged head: nobody sealed since the read, so these rows are still unsealed
        s.execute(update(table).where(_key(table) == bindparam("row_id"))
                  .values(chain_seq=bindparam("seq"), chain_hash=bindparam("link")), links)
    return len(rows)


@dataclass(frozen=True, slots=True)
class ChainReport:
    table: str
    sealed: int
    unsealed: int
    head: str
    #: The first broken link: (chain_seq, row id, what is wrong), or None when intact (the row
    #: id of a partial refusal is its error id).
    broken: tuple[int, int | str | None, str] | None


def verify(sessions: sessionmaker[Session], *, batch: int = 5000) -> list[ChainReport]:
    """Recompute every chain from the start; the first broken link of each, if any."""
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
                        key = row[_key(table).name]
                        broken = (expected, key if isinstance(key, str) else int(key),  # type: ignore[call-overload]
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


class ChainBroken(Exception):
    """The chain was already broken where a rewrite would have re-linked it."""


def rewrite(sessions: sessionmaker[Session], name: str,
            change: Callable[[dict[str, object]], dict[str, object] | None], *,
            batch: int = 5000) -> int:
    """Change rows of the chained table ``name`` in place and re-link the chain after them:
    ``change(row)`` gives a row's new column values, or None to keep it. Returns how many
    rows changed.

    Why this exists: sealing the access log's plaintext values at rest (``ncp keys reseal``,
    issue 14 finding 8) changes rows the chain already covers. One transaction under the
    sealers' lock: every link is verified against the rows as they were before anything is
    changed after it, so a rewrite never launders an edit made before it (:class:`ChainBroken`
    and nothing written), and the new head is printed for the operator to keep.
    """
    table = _tables()[name]
    key = _key(table)
    changed = 0
    with sessions() as s, s.begin():
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
        old, new, expected = GENESIS, GENESIS, 1
        while True:
            rows = _rows(s, table, table.c.chain_seq >= expected, batch,
                         order=table.c.chain_seq)
            for row in rows:
                if row["chain_seq"] != expected or link(old, row) != row["chain_hash"]:
                    raise ChainBroken(f"{name}: link {expected} is broken; nothing rewritten "
                                      "(ncp audit verify)")
                old = str(row["chain_hash"])
                values = change(row) or {}
                row.update(values)
                new = link(new, row)
                if values or new != old:
                    s.execute(update(table).where(key == row[key.name])
                              .values(**values, chain_hash=new))
                changed += bool(values)
                expected += 1
            if len(rows) < batch:
                break
        seen = 0
        while True:  # rows not chained yet: the sealer links them as they are now
            # (paged by position: they stay unchained in this transaction, in arrival order)
            rows = _rows(s, table, table.c.chain_seq.is_(None), batch, offset=seen)
            for row in rows:
                values = change(row)
                if values:
                    s.execute(update(table).where(key == row[key.name]).values(**values))
                    changed += 1
            seen += len(rows)
            if len(rows) < batch:
                break
    return changed
