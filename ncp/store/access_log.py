"""The access log: who saw or did what in a patient's record, and what the patient is told.

Every aggregate writes its log row through :meth:`AccessLogRecords._log` in its own
transaction; the patient (or their helper) reads the whole log, their notices (break the
glass, acts of a helper), and the data protection officer reads the alerts. The rows are
chained and sealed by :mod:`ncp.store.chain`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    bindparam,
    insert,
    select,
)
from sqlalchemy.orm import Session, aliased

from ncp.store import policy
from ncp.store.crypto import KeyRing, TamperedContent
from ncp.store.keys import KeyRingSource
from ncp.store.models import (
    AccessLogEntry,
    Document,
    DpoAlert,
    PatientNotice,
    Professional,
)
from ncp.store.policy import Actor, Power
from ncp.store.record_service import RecordService, _outcome
from ncp.store.sealed import (
    binding,
    on_reseal,
    open_obj,
    reseal_plaintext,
    seal_fields,
    seal_obj,
)
from ncp.store.unit import Query
from ncp.store.vocabulary import (
    AccessAction,
    AccessContext,
    ActorKind,
    Outcome,
)


@dataclass(frozen=True, slots=True)
class NoticeInfo:
    id: int
    at: dt.datetime
    kind: str
    text: str
    read_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class AlertInfo:
    id: int
    at: dt.datetime
    kind: str
    patient_id: int | None
    professional_id: int | None
    detail: str



@dataclass(frozen=True, slots=True)
class LogEntry:
    at: dt.datetime
    actor_kind: str
    actor_name: str | None
    actor_organisation: str | None
    actor_country: str | None
    action: str
    what: str
    document_unique_id: str | None
    context: str
    outcome: str
    detail: str | None



_LOG_INSERT = insert(AccessLogEntry)
_LOG_Q = Query(insert(AccessLogEntry).values({
    c: bindparam(c) for c in (
        "at", "patient_id", "actor_kind", "actor_professional_id", "actor_patient_id",
        "actor_name", "actor_organisation", "actor_country", "action", "what", "document_id",
        "context", "outcome", "detail", "key_id", "wrapped_key", "what_sealed",
        "detail_sealed")}))
#: The sealed values of an access-log row (issue 14, finding 8): what was seen (a document's
#: title, a professional's name) and the detail (a reason, an emergency's stated cause).
LOG_FIELDS = ("what", "detail")


def log_aad(patient_id: int | None, document_id: int | None, actor_kind: str, action: str,
            context: str, outcome: str) -> bytes:
    """An access-log row's binding: its patient, document and the access's kind and outcome,
    so a sealed row moved to another patient (or made to look like another access) fails."""
    return binding("ncp-access-log-v1", patient_id, document_id, actor_kind, action, context,
                   outcome)


def row_aad(row: Any) -> bytes:
    get = row.get if isinstance(row, Mapping) else lambda k: getattr(row, k)
    return log_aad(get("patient_id"), get("document_id"), get("actor_kind"), get("action"),
                   get("context"), get("outcome"))


def seal_log_row(ring: KeyRing, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` (an access-log row as a dict) with ``what`` and ``detail`` sealed."""
    values = {name: row.get(name) for name in LOG_FIELDS}
    row.update(seal_fields(ring, row_aad(row), values))
    row["what"] = row["detail"] = None
    return row


def open_log_row(keys: KeyRingSource, row: Any) -> tuple[str, str | None]:
    """``what`` and ``detail`` of a stored row (sealed, or plaintext: a feed's administrative
    row, or a row from before the sealing not yet re-sealed); a row that fails to open reads
    as such, never as its neighbour's text."""
    try:
        values = open_obj(keys.get, row, LOG_FIELDS, row_aad(row))
    except TamperedContent:
        return "(entry failed its integrity check)", None
    return values["what"] or "", values["detail"]


def notice_aad(patient_id: int, kind: str) -> bytes:
    return binding("ncp-notice-v1", patient_id, kind)


def alert_aad(patient_id: int | None, professional_id: int | None, kind: str) -> bytes:
    return binding("ncp-alert-v1", patient_id, professional_id, kind)


def new_notice(ring: KeyRing, patient_id: int, at: dt.datetime, kind: str,
               text: str) -> PatientNotice:
    notice = PatientNotice(patient_id=patient_id, at=at, kind=kind)
    seal_obj(ring, notice, notice_aad(patient_id, kind), {"text": text[:400]})
    return notice


def new_alert(ring: KeyRing, at: dt.datetime, kind: str, patient_id: int | None,
              professional_id: int | None, detail: str) -> DpoAlert:
    alert = DpoAlert(at=at, kind=kind, patient_id=patient_id, professional_id=professional_id)
    seal_obj(ring, alert, alert_aad(patient_id, professional_id, kind), {"detail": detail[:400]})
    return alert


def _text(keys: KeyRingSource, obj: Any, field: str, aad: bytes) -> str:
    try:
        return open_obj(keys.get, obj, (field,), aad)[field] or ""
    except TamperedContent:
        return "(failed its integrity check)"


class AccessLogRecords(RecordService):
    """Writing and reading the access log, the patient's notices and the DPO's alerts."""

    def _log(
        self,
        s: Session,
        actor: Actor,
        patient_id: int | None,
        action: AccessAction,
        what: str,
        context: AccessContext,
        outcome: Outcome,
        *,
        document_id: int | None = None,
        detail: str | None = None,
    ) -> None:
        s.connection().execute(_LOG_INSERT, self._log_row(
            actor, patient_id, action, what, context, outcome, document_id=document_id,
            detail=detail))
        if actor.kind is ActorKind.HELPER and patient_id and outcome is Outcome.SUCCESS and \
                action in (AccessAction.POLICY, AccessAction.WRITE, AccessAction.UPDATE):
            # The patient hears of every act done in their name (issue 14, finding 11).
            s.add(new_notice(self._keys.current(), patient_id, self._clock(), "helper-act",
                             f"{actor.name or 'your assistant'} ({actor.delegation}): {what}"))

    def _log_row(
        self,
        actor: Actor,
        patient_id: int | None,
        action: AccessAction,
        what: str,
        context: AccessContext,
        outcome: Outcome,
        *,
        document_id: int | None = None,
        detail: str | None = None,
        at: dt.datetime | None = None,
    ) -> dict[str, object]:
        """The access-log row of one access (see :class:`~ncp.store.models.AccessLogEntry`),
        its ``what`` and ``detail`` sealed."""
        return seal_log_row(self._keys.current(), {
            "at": at or self._clock(), "patient_id": patient_id, "actor_kind": actor.kind.value,
            "actor_professional_id": actor.professional_id,
            "actor_patient_id": actor.patient_id if actor.kind in (
                ActorKind.PATIENT, ActorKind.HELPER) else None,
            "actor_name": actor.name if actor.kind in (ActorKind.FOREIGN, ActorKind.HELPER)
            else None,
            "actor_organisation": actor.organisation if actor.kind is ActorKind.FOREIGN
            else None,
            "actor_country": actor.country, "action": action.value, "what": what[:300],
            "document_id": document_id, "context": context.value, "outcome": outcome.value,
            "detail": (detail or "")[:400] or None,
        })

    def access_log(self, actor: Actor, patient_id: int, *, limit: int = 500) -> list[LogEntry]:
        """Who saw what, when: the patient (or their helper) sees the whole log."""
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            decision = policy.manage_record(actor, self._facts(s, actor, patient), Power.READ)
            self._enforce(s, decision)
            doc = aliased(Document)
            prof = aliased(Professional)
            rows = s.execute(
                select(AccessLogEntry, doc.unique_id, prof.given_name, prof.family_name)
                .outerjoin(doc, doc.id == AccessLogEntry.document_id)
                .outerjoin(prof, prof.id == AccessLogEntry.actor_professional_id)
                .where(AccessLogEntry.patient_id == patient_id)
                .order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc()).limit(limit)
            ).all()
            entries = []
            for e, uid, g, f in rows:
                what, detail = open_log_row(self._keys, e)
                entries.append(LogEntry(
                    at=e.at, actor_kind=e.actor_kind,
                    actor_name=e.actor_name or (f"{g} {f}" if g else None),
                    actor_organisation=e.actor_organisation, actor_country=e.actor_country,
                    action=e.action, what=what, document_unique_id=uid,
                    context=e.context, outcome=e.outcome, detail=detail))
            return entries

    def notices(self, actor: Actor, patient_id: int, *, unread_only: bool = False
                ) -> list[NoticeInfo]:
        """What the patient is told: break-the-glass accesses, acts of their helpers."""
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            decision = policy.manage_record(actor, self._facts(s, actor, patient), Power.READ)
            self._enforce(s, decision)
            query = select(PatientNotice).where(PatientNotice.patient_id == patient_id)
            if unread_only:
                query = query.where(PatientNotice.read_at.is_(None))
            rows = s.scalars(query.order_by(PatientNotice.id.desc()).limit(200))
            return [NoticeInfo(r.id, r.at, r.kind,
                               _text(self._keys, r, "text", notice_aad(r.patient_id, r.kind)),
                               r.read_at) for r in rows]

    def dpo_alerts(self, *, open_only: bool = True) -> list[AlertInfo]:
        """The data protection officer's alerts (``ncp audit alerts``), newest first."""
        with self._read() as s:
            query = select(DpoAlert)
            if open_only:
                query = query.where(DpoAlert.acknowledged_at.is_(None))
            rows = s.scalars(query.order_by(DpoAlert.id.desc()).limit(1000))
            return [AlertInfo(r.id, r.at, r.kind, r.patient_id, r.professional_id,
                              _text(self._keys, r, "detail",
                                    alert_aad(r.patient_id, r.professional_id, r.kind)))
                    for r in rows]

    def note_policy_change(self, actor: Actor, patient_id: int, what: str) -> None:
        """Log a change the patient made outside the record tables (e.g. naming an assistant);
        refused, and logged as refused, for anyone but the patient."""
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            decision = policy.manage_record(actor, self._facts(s, actor, patient), Power.CONSENT)
            self._log(s, actor, patient_id, AccessAction.POLICY, what, decision.context,
                      _outcome(decision), detail=decision.reason)
            self._enforce(s, decision)


@on_reseal("access_log")
def _reseal_access_log(records: AccessLogRecords, batch: int) -> int:
    """Seal the access-log rows stored with ``what``/``detail`` in plaintext (before ``0021``,
    and the national feeds' administrative rows), re-linking the hash chain over them."""
    from ncp.store.chain import rewrite

    ring = records.keys.current()

    def change(row: dict[str, Any]) -> dict[str, Any] | None:
        if row.get("key_id") is not None:
            return None
        sealed = seal_log_row(ring, {k: row.get(k) for k in (
            "patient_id", "document_id", "actor_kind", "action", "context", "outcome",
            *LOG_FIELDS)})
        return {k: sealed[k] for k in ("key_id", "wrapped_key", "what_sealed",
                                       "detail_sealed", "what", "detail")}

    return rewrite(records._sessions, "access_log", change, batch=max(batch, 1000))


@on_reseal("patient_notices")
def _reseal_notices(records: AccessLogRecords, batch: int) -> int:
    return reseal_plaintext(records, PatientNotice, ("text",),
                            lambda r: notice_aad(r.patient_id, r.kind), batch)


@on_reseal("dpo_alerts")
def _reseal_alerts(records: AccessLogRecords, batch: int) -> int:
    return reseal_plaintext(records, DpoAlert, ("detail",),
                            lambda r: alert_aad(r.patient_id, r.professional_id, r.kind), batch)
