"""Applying the insurer's referring-doctor declarations to the DSPs.

A declaration is a therapeutic relationship of source ``referring-doctor`` (the record is open
to the doctor while it runs, :mod:`ncp.store.policy`) and, while it runs, the patient's
``referring_doctor_id`` (the one professional who writes the Patient Summary, and whose
worklist counts the three months from the declaration, :mod:`ncp.store.worklist`).

Idempotent like the other feeds: the same declaration sent again (same patient, doctor and
start) changes nothing, or only its end. A declaration of another doctor, or of the same doctor
from another day, ends the patient's earlier one on its start day. Each change leaves an
access-log row in the patient's log (actor: the insurer), so the patient sees who became their
referring doctor, from when and until when.

Why :meth:`ReferringDeclarations.refresh`: declarations start and end on days that need not be
the day of the feed (a declaration sent today for next month, an end date reached tomorrow).
Every import ends with it, and the insurer's feed runs daily; ``ncp registry import-referring``
with an empty file applies it alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from ncp.registry.referring import Declaration
from ncp.store.models import AccessLogEntry, Patient, Professional, TherapeuticRelationship
from ncp.store.vocabulary import (
    AccessAction,
    AccessContext,
    ActorKind,
    Outcome,
    Profession,
    RelationshipSource,
)
from ncp.store.worklist import LUXEMBOURG

__all__ = ["ReferringCounts", "ReferringDeclarations", "day_start"]

_SOURCE = RelationshipSource.REFERRING_DOCTOR.value
#: Who may be declared a referring doctor ("médecin référent"): a physician.
_REFERRING_PROFESSIONS = frozenset({Profession.PHYSICIAN.value})


def day_start(day: dt.date) -> dt.datetime:
    """Midnight of ``day`` in Luxembourg, in UTC (declarations are days of the insurer)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=LUXEMBOURG).astimezone(dt.UTC)


@dataclass(slots=True)
class ReferringCounts:
    new: int = 0
    changed: int = 0
    #: Earlier declarations ended by a new one.
    ended: int = 0
    unchanged: int = 0
    bad: int = 0
    #: (line, reason) of lines whose patient or doctor the database refuses.
    refused: list[tuple[int, str]] = field(default_factory=list)

    def add(self, other: ReferringCounts) -> None:
        self.new += other.new
        self.changed += other.changed
        self.ended += other.ended
        self.unchanged += other.unchanged

    def __str__(self) -> str:
        return (f"{self.new} new, {self.changed} changed, {self.ended} earlier ended, "
                f"{self.unchanged} unchanged, {self.bad} bad")


def _log(patient_id: int, what: str, now: dt.datetime) -> dict[str, object]:
    return {"at": now, "patient_id": patient_id, "actor_kind": ActorKind.SYSTEM.value,
            "actor_name": "health insurer (CNS)", "action": AccessAction.POLICY.value,
            "what": what, "context": AccessContext.ADMINISTRATION.value,
            "outcome": Outcome.SUCCESS.value, "detail": "referring-doctor feed"}


class ReferringDeclarations:
    """The insurer's side of the referring-doctor relationships."""

    def __init__(self, sessions: sessionmaker[Session],
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self._sessions = sessions
        self._clock = clock

    def refusals(self, declarations: Sequence[Declaration]) -> list[tuple[int, str]]:
        """(line, reason) of the lines the database refuses: no DSP for the matricule, an
        unknown, retired or non-physician doctor (checked before anything is written)."""
        with self._sessions() as s:
            return self._refusals(s, declarations)[0]

    def _refusals(self, s: Session, declarations: Sequence[Declaration]
                  ) -> tuple[list[tuple[int, str]], dict[str, int], dict[str, int]]:
        patients = dict(s.execute(select(Patient.matricule, Patient.id).where(
            Patient.matricule.in_({d.matricule for d in declarations}))).all())
        pros = {r.registry_id: r for r in s.execute(
            select(Professional.registry_id, Professional.id, Professional.profession,
                   Professional.retired_at)
            .where(Professional.registry_id.in_({d.registry_id for d in declarations})))}
        refused = []
        for d in declarations:
            pro = pros.get(d.registry_id)
            if d.matricule not in patients:
                refused.append((d.line, "no DSP for this matricule"))
            elif pro is None:
                refused.append((d.line, f"unknown professional {d.registry_id}"))
            elif pro.retired_at is not None:
                refused.append((d.line, f"{d.registry_id} is retired"))
            elif pro.profession not in _REFERRING_PROFESSIONS:
                refused.append((d.line, f"{d.registry_id} is a {pro.profession}, not a "
                                "physician"))
        return refused, patients, {k: r.id for k, r in pros.items()}

    def apply(self, declarations: Sequence[Declaration]) -> ReferringCounts:
        """Apply one chunk in one transaction (a patient twice in it: the later line wins).
        Lines the database refuses are skipped and listed in ``refused``."""
        counts = ReferringCounts()
        now = self._clock()
        with self._sessions.begin() as s:
            refused, patients, pros = self._refusals(s, declarations)
            counts.refused = refused
            skip = {line for line, _ in refused}
            latest = {d.matricule: d for d in declarations if d.line not in skip}
            ids = [patients[m] for m in latest]
            held: dict[int, list[TherapeuticRelationship]] = {}
            for rel in s.scalars(select(TherapeuticRelationship).where(
                    TherapeuticRelationship.patient_id.in_(ids),
                    TherapeuticRelationship.source == _SOURCE)):
                held.setdefault(rel.patient_id, []).append(rel)
            logs = []
            for number, d in latest.items():
                pid, doctor = patients[number], pros[d.registry_id]
                start = day_start(d.start)
                end = day_start(d.end + dt.timedelta(days=1)) if d.end else None
                same = next((r for r in held.get(pid, ())
                             if r.professional_id == doctor and r.valid_from == start), None)
                if same is not None:
                    if same.valid_to == end:
                        counts.unchanged += 1
                        continue
                    same.valid_to = end
                    counts.changed += 1
                    changed = (f"referring-doctor declaration changed: {d.registry_id} from "
                               f"{d.start} to {d.end}" if d.end else
                               f"referring-doctor declaration changed: {d.registry_id} from "
                               f"{d.start}")
                    logs.append(_log(pid, changed, now))
                    continue
                for r in held.get(pid, ()):
                    if r.valid_to is None or r.valid_to > start:
                        r.valid_to = max(start, r.valid_from)
                        counts.ended += 1
                s.add(TherapeuticRelationship(patient_id=pid, professional_id=doctor,
                                              valid_from=start, valid_to=end, source=_SOURCE))
                counts.new += 1
                # The forms are translated for the patient by ncp.portal.logtext.
                declared = (f"referring doctor declared: {d.registry_id} from {d.start} to "
                            f"{d.end}" if d.end else
                            f"referring doctor declared: {d.registry_id} from {d.start}")
                logs.append(_log(pid, declared, now))
            s.flush()
            if logs:
                s.execute(insert(AccessLogEntry), logs)
            self._refresh(s, now, ids)
        return counts

    def refresh(self) -> int:
        """Make every patient's referring doctor the one whose declaration runs now (or none);
        the number of patients changed."""
        with self._sessions.begin() as s:
            return self._refresh(s, self._clock(), None)

    @staticmethod
    def _refresh(s: Session, now: dt.datetime, ids: list[int] | None) -> int:
        """Only patients with at least one declaration are touched: a referring doctor set by
        other means (the demo, a merge) with no declaration row is left as it is."""
        r = TherapeuticRelationship
        running = (select(r.professional_id)
                   .where(r.patient_id == Patient.id, r.source == _SOURCE, r.valid_from <= now,
                          or_(r.valid_to.is_(None), r.valid_to > now))
                   .order_by(r.valid_from.desc()).limit(1).scalar_subquery())
        declared = select(r.patient_id).where(r.source == _SOURCE)
        if ids is not None:
            if not ids:
                return 0
            declared = declared.where(r.patient_id.in_(ids))
        changed = s.execute(
            update(Patient).where(
                Patient.id.in_(declared),
                or_(and_(running.is_not(None),
                         or_(Patient.referring_doctor_id.is_(None),
                             Patient.referring_doctor_id != running)),
                    and_(running.is_(None), Patient.referring_doctor_id.is_not(None))))
            .values(referring_doctor_id=running).execution_options(synchronize_session=False))
        return int(changed.rowcount or 0)  # type: ignore[attr-defined]
