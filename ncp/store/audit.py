"""Durable storage of ATNA audit messages, and the queue of those not yet forwarded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from ncp.store.models import AuditMessage


@dataclass(frozen=True, slots=True)
class StoredAudit:
    id: int
    at: dt.datetime
    transaction: str
    event_code: str
    outcome: str
    patient_ref: str | None
    message: str


#: Built once: one audit row per transaction is on every request's path.
_INSERT = insert(AuditMessage).returning(AuditMessage.id)


class AuditLog:
    """Writes each audit record in its own committed transaction (it must outlive a rollback
    of the work it describes), and hands out the ones still to forward."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def record(self, *, at: dt.datetime, transaction: str, event_code: str, outcome: int,
               patient_ref: str | None, message: bytes) -> int:
        with self._sessions() as s, s.begin():
            return int(s.connection().execute(_INSERT, {
                "at": at, "transaction": transaction, "event_code": event_code,
                "outcome": str(outcome), "patient_ref": patient_ref,
                "message": message.decode("utf-8")}).scalar_one())

    def pending(self, limit: int = 100) -> list[StoredAudit]:
        with self._sessions() as s:
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
        with self._sessions() as s:
            rows = s.scalars(select(AuditMessage).where(AuditMessage.patient_ref == patient_ref)
                             .order_by(AuditMessage.id.desc()).limit(limit)).all()
            return [_stored(r) for r in rows]

    def recent(self, limit: int = 100) -> list[StoredAudit]:
        with self._sessions() as s:
            rows = s.scalars(select(AuditMessage).order_by(AuditMessage.id.desc())
                             .limit(limit)).all()
            return [_stored(r) for r in rows]


def _stored(r: AuditMessage) -> StoredAudit:
    return StoredAudit(r.id, r.at, r.transaction, r.event_code, r.outcome, r.patient_ref,
                       r.message)
