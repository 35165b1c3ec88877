"""Durable storage of ATNA audit messages, and the queue of those not yet forwarded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Engine, bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from ncp.store.db import reading
from ncp.store.models import AuditMessage, PartialRefusal, UtcDateTime
from ncp.store.unit import Query, unit


@dataclass(frozen=True, slots=True)
class StoredAudit:
    id: int
    at: dt.datetime
    transaction: str
    event_code: str
    outcome: str
    patient_ref: str | None
    message: str


_COLUMNS = ("at", "transaction", "event_code", "outcome", "patient_ref", "message", "error_id",
            "refusal_check", "refusal_element", "refusal_detail")


@lru_cache(maxsize=4)
def _insert(n: int) -> Query:
    """One INSERT of ``n`` rows (built once per n: one or two rows are on every request's
    path), returning the ids."""
    return Query(insert(AuditMessage).values([
        {c: bindparam(f"{c}{i}", type_=UtcDateTime()) if c == "at" else bindparam(f"{c}{i}")
         for c in _COLUMNS} for i in range(n)]).returning(AuditMessage.id))


@lru_cache(maxsize=4)
def _insert_partial(n: int) -> Query:
    return Query(insert(PartialRefusal).values([
        {c: bindparam(f"{c}{i}") for c in ("error_id", "audit_message_id", "check", "element",
                                           "detail")} for i in range(n)]))


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit message to store."""

    at: dt.datetime
    transaction: str
    event_code: str
    outcome: int
    patient_ref: str | None
    message: bytes
    refusal: Refusal | None = None
    #: Errors sent inside the answer (per document, warnings), each with its own error id.
    partial: tuple[Refusal, ...] = ()


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request was refused: stored with its audit record, never sent to the peer."""

    error_id: str
    check: str
    element: str | None
    detail: str


class AuditLog:
    """Writes each audit record in its own committed transaction (it must outlive a rollback
    of the work it describes), and hands out the ones still to forward."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._engine: Engine = sessions.kw["bind"]

    def record(self, *, at: dt.datetime, transaction: str, event_code: str, outcome: int,
               patient_ref: str | None, message: bytes) -> int:
        return self.record_all([AuditRecord(at, transaction, event_code, outcome, patient_ref,
                                            message)])[0]

    def record_all(self, records: list[AuditRecord]) -> list[int]:
        """Store the audit messages of one exchange, all or none, in one statement (one round
        trip on PostgreSQL); returns their ids in order."""
        params: dict[str, object] = {}
        for i, r in enumerate(records):
            params.update({f"at{i}": r.at, f"transaction{i}": r.transaction,
                           f"event_code{i}": r.event_code, f"outcome{i}": str(r.outcome),
                           f"patient_ref{i}": r.patient_ref,
                           f"message{i}": r.message.decode("utf-8"),
                           f"error_id{i}": r.refusal.error_id if r.refusal else None,
                           f"refusal_check{i}": r.refusal.check[:64] if r.refusal else None,
                           f"refusal_element{i}": (r.refusal.element or None)
                           if r.refusal else None,
                           f"refusal_detail{i}": r.refusal.detail if r.refusal else None})
        partial = [(i, p) for i, r in enumerate(records) for p in r.partial]
        with unit(self._engine, single_statements=True) as u:
            rows = u.write(_insert(len(records)), params).rows()
            ids = sorted(int(row[0]) for row in rows)
            if partial:  # only answers that carried errors pay a second statement
                u.write(_insert_partial(len(partial)), {
                    k: v for n, (i, p) in enumerate(partial) for k, v in (
                        (f"error_id{n}", p.error_id), (f"audit_message_id{n}", ids[i]),
                        (f"check{n}", p.check[:64]), (f"element{n}", (p.element or None)),
                        (f"detail{n}", p.detail))})
        return ids

    def pending(self, limit: int = 100) -> list[StoredAudit]:
        with reading(self._sessions) as s:
            rows = s.scalars(select(AuditMessage).where(AuditMessage.forwarded_at.is_(None))
                             .order_by(AuditMessage.id).limit(limit)).all()
            return [_stored(r) for r in rows]

    def mark_forwarded(self, ids: list[int], at: dt.datetime) -> None:
        if not ids:
            return
        with self._sessions() as s, s.begin():
            s.execute(update(AuditMessage).where(AuditMessage.id.in_(ids))
                      .values(forwarded_at=at))

    def for_patient(self, patient_ref: str, limit: int = 100) -> list[StoredAudit]:
        with reading(self._sessions) as s:
            rows = s.scalars(select(AuditMessage).where(AuditMessage.patient_ref == patient_ref)
                             .order_by(AuditMessage.id.desc()).limit(limit)).all()
            return [_stored(r) for r in rows]

    def refusal(self, error_id: str) -> tuple[StoredAudit, Refusal] | None:
        """The audit record of the refusal a peer quotes by its error id, and its reason."""
        with reading(self._sessions) as s:
            r = s.scalars(select(AuditMessage).where(AuditMessage.error_id == error_id)
                          .order_by(AuditMessage.id).limit(1)).first()
            if r is not None:
                return _stored(r), Refusal(error_id, r.refusal_check or "", r.refusal_element,
                                           r.refusal_detail or "")
            found = s.execute(select(AuditMessage, PartialRefusal).join(
                PartialRefusal, PartialRefusal.audit_message_id == AuditMessage.id)
                .where(PartialRefusal.error_id == error_id)).first()
            if found is None:
                return None
            record, p = found
            return _stored(record), Refusal(error_id, p.check, p.element, p.detail)

    def recent(self, limit: int = 100) -> list[StoredAudit]:
        with reading(self._sessions) as s:
            rows = s.scalars(select(AuditMessage).order_by(AuditMessage.id.desc())
                             .limit(limit)).all()
            return [_stored(r) for r in rows]


def _stored(r: AuditMessage) -> StoredAudit:
    return StoredAudit(r.id, r.at, r.transaction, r.event_code, r.outcome, r.patient_ref,
                       r.message)
