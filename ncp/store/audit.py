"""Durable storage of ATNA audit messages, and the queue of those not yet forwarded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from ncp.store.db import reading
from ncp.store.keys import KeyRingSource
from ncp.store.models import AuditMessage, PartialRefusal, UtcDateTime
from ncp.store.sealed import binding, on_reseal, open_obj, seal_fields
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
                                           "detail", "key_id", "wrapped_key", "detail_sealed")}
        for i in range(n)]))


#: What a partial refusal's detail reads as without the key ring (``ncp explain`` run without
#: ``NCP_MASTER_KEYS``): the check, the element and the rule are still there.
SEALED_DETAIL = "(sealed at rest: run with the key ring, NCP_MASTER_KEYS)"


def partial_aad(error_id: str, audit_message_id: int, check: str) -> bytes:
    """A partial refusal's binding: its error id, its exchange's audit record and its check."""
    return binding("ncp-partial-refusal-v1", error_id, audit_message_id, check)


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

    def __init__(self, sessions: sessionmaker[Session],
                 keys: KeyRingSource | None = None) -> None:
        """With ``keys`` (the gateway's key ring), the detail of each partial refusal is
        sealed at rest (issue 14, finding 8; it may quote a document's codes); without, it is
        written as it is and sealed ones cannot be read."""
        self._sessions = sessions
        self._engine: Engine = sessions.kw["bind"]
        self._keys = keys

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
                params = {}
                for n, (i, p) in enumerate(partial):
                    values: dict[str, object] = {
                        "detail": p.detail, "key_id": None, "wrapped_key": None,
                        "detail_sealed": None}
                    if self._keys is not None:
                        values.update(seal_fields(self._keys.current(), partial_aad(
                            p.error_id, ids[i], p.check[:64]), {"detail": p.detail}))
                        values["detail"] = None
                    params.update({f"error_id{n}": p.error_id, f"audit_message_id{n}": ids[i],
                                   f"check{n}": p.check[:64],
                                   f"element{n}": (p.element or None),
                                   **{f"{k}{n}": v for k, v in values.items()}})
                u.write(_insert_partial(len(partial)), params)
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
            detail = p.detail
            if p.key_id is not None:
                detail = SEALED_DETAIL if self._keys is None else open_obj(
                    self._keys.get, p, ("detail",),
                    partial_aad(p.error_id, p.audit_message_id, p.check))["detail"]
            return _stored(record), Refusal(error_id, p.check, p.element, detail or "")

    def recent(self, limit: int = 100) -> list[StoredAudit]:
        with reading(self._sessions) as s:
            rows = s.scalars(select(AuditMessage).order_by(AuditMessage.id.desc())
                             .limit(limit)).all()
            return [_stored(r) for r in rows]


def _stored(r: AuditMessage) -> StoredAudit:
    return StoredAudit(r.id, r.at, r.transaction, r.event_code, r.outcome, r.patient_ref,
                       r.message)


@on_reseal("audit_partial_refusals")
def _reseal_partial(records: Any, batch: int) -> int:
    """Seal the reasons stored in plaintext before ``0021``; the table is hash-chained
    (``0023``), so the rows change through the chain's rewrite, which re-links it."""
    from ncp.store.chain import rewrite

    ring = records.keys.current()

    def change(row: dict[str, Any]) -> dict[str, Any] | None:
        if row.get("key_id") is not None:
            return None
        aad = partial_aad(str(row["error_id"]), int(row["audit_message_id"]), str(row["check"]))
        return {**seal_fields(ring, aad, {"detail": row.get("detail")}), "detail": None}

    return rewrite(records._sessions, "audit_partial_refusals", change, batch=max(batch, 1000))
