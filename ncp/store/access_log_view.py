"""The patient's access log as a person reads it: filtered, paged, their own reads folded.

:meth:`AccessLogRecords.access_log` gives the newest 500 rows of everything; on the portal that
was one long table where the patient's own page views outnumbered what matters, LU
professionals had a name but no profession or organisation, and a refused break-the-glass was a
line among the others (issue 15 item 16). This is the same read, under the same rule (the
patient or their assistant, :func:`policy.manage_record` with the read power), with:

- filters by who (professionals, abroad, me and my assistants), context, outcome and period;
- pages of :data:`PAGE_SIZE` rows and the total;
- the patient's own reads and searches folded unless asked for (their count is given);
- each LU professional's profession and organisation from the registry;
- emergency declarations, refused ones included, with the stated or refusal reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, not_, select
from sqlalchemy.orm import aliased

from ncp.store import policy
from ncp.store.access_log import open_log_row
from ncp.store.models import AccessLogEntry, Document, Organisation, Professional
from ncp.store.policy import Actor, Power
from ncp.store.record_service import RecordService
from ncp.store.vocabulary import AccessAction, AccessContext, ActorKind

PAGE_SIZE = 50
WHO = ("", "professionals", "abroad", "me")


@dataclass(frozen=True, slots=True)
class LogFilter:
    who: str = ""
    context: str = ""
    outcome: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    #: Show the patient's own reads and searches (folded by default).
    own: bool = False
    page: int = 1


@dataclass(frozen=True, slots=True)
class LogRow:
    at: dt.datetime
    actor_kind: str
    actor_name: str | None
    profession: str | None
    organisation: str | None
    country: str | None
    action: str
    what: str
    document_unique_id: str | None
    context: str
    outcome: str
    detail: str | None

    @property
    def emergency(self) -> bool:
        return self.context == AccessContext.EMERGENCY.value


@dataclass(frozen=True, slots=True)
class LogPage:
    rows: list[LogRow]
    total: int
    page: int
    pages: int
    #: How many of the patient's own reads and searches the filter folded away.
    own_folded: int


def _own_reads(patient_id: int) -> object:
    return and_(AccessLogEntry.actor_kind == ActorKind.PATIENT.value,
                AccessLogEntry.actor_patient_id == patient_id,
                AccessLogEntry.action.in_((AccessAction.READ.value, AccessAction.SEARCH.value)))


def access_log_page(records: RecordService, actor: Actor, patient_id: int,
                    wanted: LogFilter) -> LogPage:
    """One page of the patient's log under ``wanted`` (refused, and the refusal logged, for
    anyone but the patient and their assistant)."""
    if wanted.who not in WHO:
        raise ValueError(f"unknown filter {wanted.who!r}")
    with records._tx() as s:
        patient = records._patient(s, patient_id)
        records._enforce(s, policy.manage_record(actor, records._facts(s, actor, patient),
                                                 Power.READ))
        where = [AccessLogEntry.patient_id == patient_id]
        if wanted.who == "professionals":
            where.append(AccessLogEntry.actor_kind.in_(
                (ActorKind.PROFESSIONAL.value, ActorKind.FOREIGN.value)))
        elif wanted.who == "abroad":
            where.append(AccessLogEntry.actor_kind == ActorKind.FOREIGN.value)
        elif wanted.who == "me":
            where.append(AccessLogEntry.actor_kind.in_(
                (ActorKind.PATIENT.value, ActorKind.HELPER.value)))
        if wanted.context:
            where.append(AccessLogEntry.context == wanted.context)
        if wanted.outcome:
            where.append(AccessLogEntry.outcome == wanted.outcome)
        if wanted.since is not None:
            where.append(AccessLogEntry.at >= wanted.since)
        if wanted.until is not None:
            where.append(AccessLogEntry.at < wanted.until)
        own_folded = 0
        if not wanted.own:
            own_folded = s.scalar(select(func.count()).select_from(AccessLogEntry).where(
                *where, _own_reads(patient_id))) or 0
            where.append(not_(_own_reads(patient_id)))
        total = s.scalar(select(func.count()).select_from(AccessLogEntry).where(*where)) or 0
        pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        page = min(max(wanted.page, 1), pages)
        doc = aliased(Document)
        prof = aliased(Professional)
        org = aliased(Organisation)
        rows = s.execute(
            select(AccessLogEntry, doc.unique_id, prof.given_name, prof.family_name,
                   prof.profession, org.name)
            .outerjoin(doc, doc.id == AccessLogEntry.document_id)
            .outerjoin(prof, prof.id == AccessLogEntry.actor_professional_id)
            .outerjoin(org, org.id == prof.organisation_id)
            .where(*where)
            .order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc())
            .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
        shown = []
        for e, uid, g, f, profession, org_name in rows:
            what, detail = open_log_row(records._keys, e)  # sealed at rest
            shown.append(LogRow(at=e.at, actor_kind=e.actor_kind,
                                actor_name=e.actor_name or (f"{g} {f}" if g else None),
                                profession=profession,
                                organisation=e.actor_organisation or org_name,
                                country=e.actor_country, action=e.action, what=what,
                                document_unique_id=uid, context=e.context,
                                outcome=e.outcome, detail=detail))
        return LogPage(
            rows=shown,
            total=total, page=page, pages=pages, own_folded=own_folded)


__all__ = ["PAGE_SIZE", "WHO", "LogFilter", "LogPage", "LogRow", "access_log_page"]
