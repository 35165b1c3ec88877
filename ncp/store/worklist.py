"""The referring doctor's worklist: the Patient Summaries they owe.

"Le médecin référent fait un résumé patient (au plus tard trois mois après la déclaration
médecin référent) ... régulièrement actualisé." For each patient who declared the professional
their referring doctor (and whom the access policy lets them see), the worklist says what is
due and when:

- no Patient Summary yet: due three months after the declaration;
- a summary older than a year: its update is due one year after it was written.

Items already due, and those due within :data:`SOON`, are listed, the most urgent first. The
patients come from :meth:`Records.patients_of` (the policy decides each one and the search is in
the access log); only the dates of their summaries are read here, never their content.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from ncp.store.dsp import Records
from ncp.store.identity import PatientInfo
from ncp.store.models import Document, TherapeuticRelationship
from ncp.store.policy import Actor
from ncp.store.vocabulary import DocumentType, RelationshipSource

LUXEMBOURG = ZoneInfo("Europe/Luxembourg")

__all__ = ["SOON", "WorklistItem", "referring_worklist"]

#: How far ahead the worklist looks.
SOON = dt.timedelta(days=30)


def _day(at: dt.datetime) -> dt.date:
    """The calendar day of ``at`` in Luxembourg: a declaration made on 1 March counts from
    1 March, even though its instant (midnight in Luxembourg) is 28 February in UTC."""
    return at.astimezone(LUXEMBOURG).date()


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus calendar months (31 January + 1 month = 28/29 February)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month,
                       day=min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class WorklistItem:
    patient: PatientInfo
    declared_at: dt.datetime | None
    summary_at: dt.datetime | None
    due: dt.date
    #: ``first-summary`` or ``summary-update``.
    task: str

    def overdue(self, today: dt.date) -> bool:
        return self.due < today


def referring_worklist(records: Records, actor: Actor, *, now: dt.datetime | None = None
                       ) -> list[WorklistItem]:
    """What the referring doctor ``actor`` owes, due now or within :data:`SOON`."""
    now = now or records.clock()
    mine = [p for p in records.patients_of(actor)
            if p.referring_doctor_id == actor.professional_id]
    if not mine:
        return []
    ids = [p.id for p in mine]
    with records.reading() as s:
        declared = dict(s.execute(
            select(TherapeuticRelationship.patient_id, func.max(TherapeuticRelationship.valid_from))
            .where(TherapeuticRelationship.patient_id.in_(ids),
                   TherapeuticRelationship.professional_id == actor.professional_id,
                   TherapeuticRelationship.source == RelationshipSource.REFERRING_DOCTOR.value)
            .group_by(TherapeuticRelationship.patient_id)).all())
        summaries = dict(s.execute(
            select(Document.patient_id, func.max(Document.created_at))
            .where(Document.patient_id.in_(ids), Document.is_current.is_(True),
                   Document.doc_type == DocumentType.PATIENT_SUMMARY.value)
            .group_by(Document.patient_id)).all())
    horizon = _day(now + SOON)
    items = []
    for p in mine:
        summary, since = summaries.get(p.id), declared.get(p.id)
        if summary is None:
            start = since or now
            item = WorklistItem(p, since, None, add_months(_day(start), 3), "first-summary")
        else:
            item = WorklistItem(p, since, summary, add_months(_day(summary), 12),
                                "summary-update")
        if item.due <= horizon:
            items.append(item)
    return sorted(items, key=lambda i: (i.due, i.patient.family_name, i.patient.given_name))
