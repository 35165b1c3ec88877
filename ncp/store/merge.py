"""Merging a provisional DSP (opened at a visit) into the record of the person's matricule.

The operator runs it (``ncp registry merge PROVISIONAL MATRICULE``) once the person has a
matricule: it came in the population feed (the register opened a DSP for it), or the operator
names it before the feed does (then no DSP has the matricule yet, and the provisional record
simply takes it: *re-identified*). One transaction; nothing is written when it is refused.

What moves to the matricule's record, and the rules for what could conflict (docs/registry.md):

- **documents** (every version, masks and confidentiality kept): each is re-sealed, because its
  ciphertext's associated data names its patient. Of the documents a record has one current
  of (the Patient Summary, the insurer's summary of services), **the most recently written
  stays current**; the other stops being current and stays readable by its id, never deleted.
- **relationships, prescriptions, notices, alerts** move as they are; the matricule's
  referring doctor stays, the provisional one's is taken only when there is none.
- **the patient's rules** (grants, blocks, restricted naming): the union, one row per rule; a
  block still wins over any relationship.
- **cross-border consent**: the matricule's record keeps its own state. A consent given in the
  provisional record moves as history, closed at the merge, and the patient is told to give it
  again if they wish: consent is explicit, and it never covered the matricule's documents.
- **emergency accesses** move, and a running one ends at the merge (it was declared for what
  the provisional record held).
- **the login**: it moves when the matricule's record has none; otherwise the provisional
  record's login is disabled (the person keeps the matricule's) and its sessions end.
- **the access log**: the hash chain forbids changing a sealed row, so every row of the
  provisional record's log is *copied* into the matricule's log (same time, actor and action,
  its detail saying where it came from); the originals stay with the provisional record.
- Any other table that refers to a patient (found in the database's own schema, so a table a
  later feature adds is not forgotten) has its rows moved.

The provisional record stays, closed ("merged into ..."), with its identity and its log; its
identifier answers as unknown everywhere from then on (the API, the pages, XCPD), and
:class:`~ncp.store.visits.PatientMerge` keeps the merge: running the command again changes
nothing. Refused unless ``force``: a merge into a deceased or closed record, out of a closed
one, or between different birth dates (the matricule's birth date is then kept).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import column, delete, func, inspect, select, table, update
from sqlalchemy.orm import Session

from ncp.store import matricule as matricule_rules
from ncp.store import provisional
from ncp.store.access_log import (
    alert_aad,
    new_notice,
    notice_aad,
    open_log_row,
    seal_log_row,
)
from ncp.store.accounts import Account, AuthSession, HelperLink
from ncp.store.dispensing import PRESCRIPTION_FIELDS, prescription_aad
from ncp.store.errors import InvalidInput, NotFound
from ncp.store.models import (
    AccessLogEntry,
    AccessRule,
    CrossBorderConsent,
    Document,
    DpoAlert,
    DspStateChange,
    EmergencyAccess,
    Patient,
    PatientNotice,
    Prescription,
    TherapeuticRelationship,
)
from ncp.store.originals import opener, reseal_originals
from ncp.store.pivot_cache import PivotCacheEntry
from ncp.store.relationships import emergency_aad
from ncp.store.sealed import open_obj, seal_obj
from ncp.store.visits import PatientMerge
from ncp.store.vocabulary import (
    AccessAction,
    AccessContext,
    ActorKind,
    DocumentType,
    DspState,
    Outcome,
)

if TYPE_CHECKING:
    from ncp.store.dsp import Records

__all__ = ["ONE_CURRENT_TYPES", "Candidate", "MergeRefused", "MergeReport", "merge_candidates",
           "merge_records"]

#: Document types a record has one current document of (the newest written wins a merge).
ONE_CURRENT_TYPES = frozenset({DocumentType.PATIENT_SUMMARY.value,
                               DocumentType.SERVICES_SUMMARY.value})

#: (table, column) referring to a patient that the merge handles by a rule of its own.
_HANDLED = frozenset({
    ("documents", "patient_id"), ("prescriptions", "patient_id"),
    ("therapeutic_relationships", "patient_id"), ("access_rules", "patient_id"),
    ("cross_border_consents", "patient_id"), ("emergency_accesses", "patient_id"),
    ("patient_notices", "patient_id"), ("dpo_alerts", "patient_id"),
    ("helper_links", "patient_id"), ("accounts", "patient_id"),
    ("auth_sessions", "acting_for_patient_id"), ("access_log", "patient_id"),
    ("access_log", "actor_patient_id"), ("dsp_state_changes", "patient_id"),
    ("patient_merges", "source_patient_id"), ("patient_merges", "target_patient_id"),
})


class MergeRefused(InvalidInput):
    """The merge breaks a rule; the message says which (and whether ``force`` overrides it)."""


@dataclass(slots=True)
class MergeReport:
    provisional_id: str
    matricule: str
    #: ``merged``, ``re-identified``, or ``already`` (done before: nothing written now).
    kind: str
    forced: bool = False
    moved: Counter[str] = field(default_factory=Counter)
    rules: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.kind == "already":
            return f"{self.provisional_id} was already merged into {self.matricule}: nothing to do"
        if self.kind == "re-identified":
            head = f"{self.provisional_id} re-identified as {self.matricule} (no DSP had it)"
        else:
            head = f"{self.provisional_id} merged into {self.matricule}"
        parts = [f"{n} {what}" for what, n in sorted(self.moved.items()) if n]
        lines = [head + (" (forced)" if self.forced else "")]
        if parts:
            lines.append("moved: " + ", ".join(parts))
        lines.extend(f"rule: {r}" for r in self.rules)
        return "\n".join(lines)


def _system(patient_id: int, what: str, operator: str, now: dt.datetime,
            detail: str | None = None) -> dict[str, object]:
    return {"at": now, "patient_id": patient_id, "actor_kind": ActorKind.SYSTEM.value,
            "actor_name": f"operator {operator}"[:200], "action": AccessAction.POLICY.value,
            "what": what[:300], "context": AccessContext.ADMINISTRATION.value,
            "outcome": Outcome.SUCCESS.value, "detail": (detail or "")[:400] or None}


def _locked(s: Session, number: str) -> Patient | None:
    return s.scalars(select(Patient).where(Patient.matricule == number).with_for_update()
                     ).one_or_none()


def merge_records(records: Records, provisional_id: str, matricule: str, *, operator: str,
                  force: bool = False) -> MergeReport:
    """Merge the DSP of ``provisional_id`` into the DSP of ``matricule`` (see the module)."""
    try:
        pid = provisional.validate(provisional_id)
    except provisional.InvalidProvisionalId as exc:
        raise InvalidInput(str(exc)) from None
    try:
        number = matricule_rules.validate(matricule.strip())
    except matricule_rules.InvalidMatricule as exc:
        raise InvalidInput(f"invalid matricule: {exc}") from None
    if not operator.strip():
        raise InvalidInput("the operator's name is needed for the access log")
    now = records.clock()
    with records._tx() as s:
        # The provisional record's row lock first, then the merges: a second merge of the same
        # record run at the same time waits here and then finds the first one's merge.
        source = _locked(s, pid)
        done = s.scalars(select(PatientMerge).where(PatientMerge.provisional_id == pid)
                         ).one_or_none()
        if done is not None:
            if done.matricule != number:
                raise MergeRefused(f"{pid} was already merged into another matricule "
                                   f"({done.matricule})")
            return MergeReport(pid, number, "already")
        if source is None:
            raise NotFound(f"no DSP has the provisional identifier {pid}")
        target = _locked(s, number)
        report = MergeReport(pid, number, "merged" if target is not None else "re-identified",
                             forced=False)
        refusals = _refusals(source, target, number)
        if refusals and not force:
            raise MergeRefused("; ".join(refusals) + " (--force merges all the same)")
        report.forced = bool(refusals)
        report.rules.extend(f"forced: {r}" for r in refusals)
        if target is None:
            _reidentify(s, source, number, operator, now, report)
        else:
            _merge(records, s, source, target, operator, now, report)
        s.add(PatientMerge(provisional_id=pid, matricule=number, source_patient_id=source.id,
                           target_patient_id=(target or source).id, kind=report.kind, at=now,
                           operator=operator.strip()[:100], forced=report.forced,
                           detail=str(report)[:1000]))
        return report


def _refusals(source: Patient, target: Patient | None, number: str) -> list[str]:
    found = []
    if source.dsp_state != DspState.OPEN.value:
        found.append("the provisional DSP is closed")
    if target is not None and target.death_date is not None:
        found.append(f"the DSP of {number} is of a deceased person ({target.death_date})")
    if target is not None and target.dsp_state != DspState.OPEN.value:
        found.append(f"the DSP of {number} is closed")
    if source.birth_date != matricule_rules.birth_date_of(number):
        found.append(f"the birth dates differ ({source.birth_date} given at the visit, "
                     f"{matricule_rules.birth_date_of(number)} in the matricule)")
    return found


def _reidentify(s: Session, source: Patient, number: str, operator: str, now: dt.datetime,
                report: MergeReport) -> None:
    old = source.matricule
    source.matricule = number
    source.birth_date = matricule_rules.birth_date_of(number)
    s.add(DspStateChange(patient_id=source.id, state=source.dsp_state, at=now,
                         reason=f"re-identified: provisional {old} is now matricule {number}"))
    s.execute(AccessLogEntry.__table__.insert(), [_system(  # type: ignore[attr-defined]
        source.id, f"identified by matricule {number} (was provisional {old})", operator, now,
        "provisional record re-identified; the register feed brings the identity")])
    report.rules.append("no DSP had the matricule: the provisional DSP takes it, with its "
                        "birth date; the register feed updates the identity later")


def _move(s: Session, model: type, source: int, target: int, column_name: str = "patient_id"
          ) -> int:
    col = getattr(model, column_name)
    return s.execute(update(model).where(col == source).values({column_name: target})
                     ).rowcount or 0


def _merge(records: Records, s: Session, source: Patient, target: Patient, operator: str,
           now: dt.datetime, report: MergeReport) -> None:
    src, dst = source.id, target.id
    moved = report.moved
    # Documents: re-sealed under their new patient (the associated data names it).
    for doc in s.scalars(select(Document).where(Document.patient_id == src)
                         .order_by(Document.id).with_for_update()):
        content, title = records._open_document(doc), records._open_title(doc)
        original = opener(records, doc)
        doc.patient_id = dst
        records._seal_document(doc, content, title)
        reseal_originals(records, s, doc, original)
        # cached pivots are bound to the patient too: dropped, made again on the next read
        s.execute(delete(PivotCacheEntry).where(PivotCacheEntry.document_id == doc.id))
        moved["document versions"] += 1
    s.flush()
    for doc_type in sorted(ONE_CURRENT_TYPES):
        current = s.scalars(select(Document).where(
            Document.patient_id == dst, Document.doc_type == doc_type,
            Document.is_current.is_(True)).order_by(Document.created_at.desc(),
                                                    Document.id.desc())).all()
        for older in current[1:]:
            older.is_current = False
            report.rules.append(f"two current {doc_type} documents: the newest "
                                f"({current[0].created_at:%Y-%m-%d}) stays current; "
                                f"{older.unique_id} is kept, no longer current")
    moved["prescriptions"] += _move_sealed(records, s, Prescription, PRESCRIPTION_FIELDS,
                                           prescription_aad, src, dst)
    moved["relationships"] += _move(s, TherapeuticRelationship, src, dst)
    if source.referring_doctor_id is not None:
        if target.referring_doctor_id is None:
            target.referring_doctor_id = source.referring_doctor_id
            report.rules.append("the provisional record's referring doctor is taken (the "
                                "matricule's record had none)")
        source.referring_doctor_id = None
    moved["notices"] += _move_sealed(records, s, PatientNotice, ("text",),
                                     lambda r: notice_aad(r.patient_id, r.kind), src, dst)
    moved["alerts"] += _move_sealed(records, s, DpoAlert, ("detail",),
                                    lambda r: alert_aad(r.patient_id, r.professional_id, r.kind),
                                    src, dst)
    # Rules: the union, one active row per (professional, kind).
    moved["rules"] += _move(s, AccessRule, src, dst)
    seen: set[tuple[int, str]] = set()
    for rule in s.scalars(select(AccessRule).where(AccessRule.patient_id == dst,
                                                   AccessRule.revoked_at.is_(None))
                          .order_by(AccessRule.id)):
        if (rule.professional_id, rule.kind) in seen:
            rule.revoked_at = now
        seen.add((rule.professional_id, rule.kind))
    # Consent: the matricule's record keeps its state; the provisional consents are history.
    closed = []
    for consent in s.scalars(select(CrossBorderConsent).where(
            CrossBorderConsent.patient_id == src)):
        consent.patient_id = dst
        moved["consents"] += 1
        if consent.withdrawn_at is None:
            consent.withdrawn_at = now
            closed.append(consent.service)
    if closed:
        report.rules.append("cross-border consent given in the provisional record ("
                            + ", ".join(sorted(closed)) + ") closed at the merge; the "
                            "matricule's record keeps its own")
        s.add(new_notice(records.keys.current(), dst, now, "record-merged", (
            "Your consent to cross-border sharing given in your provisional record ("
            + ", ".join(sorted(closed)) + ") was not carried over to your record: give it "
            "again in your portal if you wish.")))
    ring = records.keys.current()
    for access in s.scalars(select(EmergencyAccess).where(EmergencyAccess.patient_id == src)):
        reason = open_obj(records.keys.get, access, ("reason",), emergency_aad(
            access.patient_id, access.professional_id, access.reason_code))
        access.patient_id = dst
        seal_obj(ring, access, emergency_aad(dst, access.professional_id, access.reason_code),
                 reason)
        moved["emergency accesses"] += 1
        if access.expires_at > now:
            access.expires_at = max(now, access.started_at)
            report.rules.append("a running emergency access ended at the merge")
    # Helpers: the union, one active link per helper.
    moved["helpers"] += _move(s, HelperLink, src, dst)
    helpers: set[int] = set()
    for link in s.scalars(select(HelperLink).where(HelperLink.patient_id == dst,
                                                   HelperLink.revoked_at.is_(None))
                          .order_by(HelperLink.id)):
        if link.helper_account_id in helpers:
            link.revoked_at = now
        helpers.add(link.helper_account_id)
    s.execute(update(AuthSession).where(AuthSession.acting_for_patient_id == src,
                                        AuthSession.ended_at.is_(None)).values(ended_at=now))
    s.execute(update(AuthSession).where(AuthSession.acting_for_patient_id == src)
              .values(acting_for_patient_id=dst))
    login = s.scalars(select(Account).where(Account.patient_id == src)).one_or_none()
    if login is not None:
        if s.scalar(select(func.count()).select_from(Account)
                    .where(Account.patient_id == dst)):
            login.disabled_at = login.disabled_at or now
            s.execute(update(AuthSession).where(AuthSession.account_id == login.id,
                                                AuthSession.ended_at.is_(None))
                      .values(ended_at=now))
            report.rules.append("both records had a login: the provisional one is disabled")
        else:
            login.patient_id = dst
            moved["logins"] += 1
    _copy_access_log(records, s, source, target, now)
    moved["access-log rows (copied)"] += s.scalar(
        select(func.count()).select_from(AccessLogEntry).where(
            AccessLogEntry.patient_id == src)) or 0
    # Whatever else refers to a patient (a table this module does not know by name).
    for name, col in _patient_columns(s):
        if (name, col) not in _HANDLED:
            moved[f"{name} rows"] += s.execute(
                update(table(name, column(col))).where(column(col) == src)
                .values({col: dst})).rowcount or 0
    # The provisional record: closed, identity and log kept, its identifier retired.
    source.dsp_state = DspState.CLOSED.value
    source.dsp_closed_at = now
    s.add(DspStateChange(patient_id=src, state=DspState.CLOSED.value, at=now,
                         reason=f"merged into the DSP of matricule {target.matricule}"))
    log = AccessLogEntry.__table__  # type: ignore[attr-defined]
    s.execute(log.insert(), [
        _system(dst, f"provisional record {source.matricule} merged into this DSP", operator,
                now, "; ".join(f"{n} {w}" for w, n in sorted(moved.items()) if n)),
        _system(src, f"merged into the DSP of matricule {target.matricule}", operator, now,
                "this provisional record is closed; its identifier is retired")])


def _move_sealed(records: Records, s: Session, model: Any, fields: tuple[str, ...],
                 aad: Callable[[Any], bytes], src: int, dst: int) -> int:
    """Move a table's rows to the matricule's record, their sealed values re-sealed (their
    associated data names the patient)."""
    ring, moved = records.keys.current(), 0
    for row in s.scalars(select(model).where(model.patient_id == src).with_for_update()):
        values = open_obj(records.keys.get, row, fields, aad(row))
        row.patient_id = dst
        seal_obj(ring, row, aad(row), values)
        moved += 1
    return moved


def _copy_access_log(records: Records, s: Session, source: Patient, target: Patient,
                     now: dt.datetime) -> None:
    """Every row of the provisional record's log, copied into the matricule's log (a sealed
    row opened and sealed again under the matricule's record)."""
    log = AccessLogEntry.__table__  # type: ignore[attr-defined]
    copied = [c.name for c in log.columns if c.name not in ("id", "chain_seq", "chain_hash")]
    last, ring = 0, records.keys.current()
    while True:  # in slices: a record's log can be long
        rows = s.execute(select(log).where(log.c.patient_id == source.id, log.c.id > last)
                         .order_by(log.c.id).limit(1000)).mappings().all()
        if not rows:
            return
        batch = []
        for row in rows:
            item = {c: row[c] for c in copied}
            item["patient_id"] = target.id
            if item["actor_patient_id"] == source.id:
                item["actor_patient_id"] = target.id
            what, detail = open_log_row(records.keys, row)
            item["what"] = what
            item["detail"] = (f"from provisional record {source.matricule}"
                              + (f": {detail}" if detail else ""))[:400]
            if row["key_id"] is not None:
                seal_log_row(ring, item)
            batch.append(item)
        s.execute(log.insert(), batch)
        last = rows[-1]["id"]


def _patient_columns(s: Session) -> list[tuple[str, str]]:
    """(table, column) of every foreign key to ``patients.id`` in the database itself."""
    inspector = inspect(s.connection())
    found = []
    for name in inspector.get_table_names():
        for fk in inspector.get_foreign_keys(name):
            if fk["referred_table"] == "patients" and fk["referred_columns"] == ["id"]:
                found.extend((name, c) for c in fk["constrained_columns"])
    return sorted(found)



@dataclass(frozen=True, slots=True)
class Candidate:
    """An open provisional DSP and the register's DSPs of the same person, as far as the
    identity given at the visit tells (same birth date, same names once accents and case are
    set aside). Only a hint for the operator: the merge is never made from it."""

    provisional_id: str
    name: str
    birth_date: dt.date
    opened_at: dt.datetime
    matricules: tuple[str, ...]


def _folded(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if c.isalnum() or c.isspace()).split())


def merge_candidates(records: Records) -> list[Candidate]:
    """Every open provisional DSP, with the matricules that look like the same person."""
    found = []
    with records.reading() as s:
        merged = select(PatientMerge.source_patient_id)
        provisional_rows = s.scalars(select(Patient).where(
            Patient.matricule.like("P%"), Patient.dsp_state == DspState.OPEN.value,
            Patient.id.not_in(merged)).order_by(Patient.dsp_opened_at)).all()
        for p in provisional_rows:
            if not provisional.is_provisional(p.matricule):
                continue
            same_day = s.scalars(select(Patient).where(
                Patient.birth_date == p.birth_date, Patient.id != p.id,
                Patient.matricule.not_like("P%"))).all()
            key = (_folded(p.given_name), _folded(p.family_name))
            found.append(Candidate(
                p.matricule, f"{p.given_name} {p.family_name}", p.birth_date, p.dsp_opened_at,
                tuple(sorted(o.matricule for o in same_day
                             if (_folded(o.given_name), _folded(o.family_name)) == key))))
    return found
