"""The access log: who saw or did what in a patient's record, and what the patient is told.

Every aggregate writes its log row through :meth:`AccessLogRecords._log` in its own
transaction; the patient (or their helper) reads the whole log, their notices (break the
glass, acts of a helper), and the data protection officer reads the alerts. The rows are
chained and sealed by :mod:`ncp.store.chain`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import (
    bindparam,
    insert,
    select,
)
from sqlalchemy.orm import Session, aliased

from ncp.store import policy
from ncp.store.models import (
    AccessLogEntry,
    Document,
    DpoAlert,
    PatientNotice,
    Professional,
)
from ncp.store.policy import Actor, Power
from ncp.store.record_service import RecordService, _outcome
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
        "context", "outcome", "detail")}))


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
            s.add(PatientNotice(patient_id=patient_id, at=self._clock(), kind="helper-act",
                                text=f"{actor.name or 'your assistant'} ({actor.delegation}): "
                                f"{what}"[:400]))

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
        """The access-log row of one access (see :class:`~ncp.store.models.AccessLogEntry`)."""
        return {
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
        }

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
            return [
                LogEntry(at=e.at, actor_kind=e.actor_kind,
                         actor_name=e.actor_name or (f"{g} {f}" if g else None),
                         actor_organisation=e.actor_organisation, actor_country=e.actor_country,
                         action=e.action, what=e.what, document_unique_id=uid,
                         context=e.context, outcome=e.outcome, detail=e.detail)
                for e, uid, g, f in rows
            ]

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
            return [NoticeInfo(r.id, r.at, r.kind, r.text, r.read_at) for r in rows]

    def dpo_alerts(self, *, open_only: bool = True) -> list[AlertInfo]:
        """The data protection officer's alerts (``ncp audit alerts``), newest first."""
        with self._read() as s:
            query = select(DpoAlert)
            if open_only:
                query = query.where(DpoAlert.acknowledged_at.is_(None))
            rows = s.scalars(query.order_by(DpoAlert.id.desc()).limit(1000))
            return [AlertInfo(r.id, r.at, r.kind, r.patient_id, r.professional_id, r.detail)
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
