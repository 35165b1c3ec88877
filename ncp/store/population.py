"""Applying the social-security register to the DSPs: new persons, changes, deaths.

Idempotent and incremental: each person of the extract is compared with the DSP of the same
matricule. A new matricule opens a DSP (state open, *not activated*: the person activates their
account later with the letter they receive); changed identity or address fields are updated; a
date of death is recorded. A person sent again unchanged is left alone, so the same extract can
be applied twice, or a full extract after incremental ones, with the same end state.

Each chunk is one transaction with its access-log rows (actor: the system, context:
administration, what: which identity fields changed) and, for new DSPs, the state change that
opened them. Chunks are of a fixed size, so memory stays flat whatever the file's size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from ncp.registry.insured import InsuredPerson
from ncp.store.models import AccessLogEntry, DspStateChange, Patient
from ncp.store.vocabulary import AccessAction, AccessContext, ActorKind, DspState, Outcome

__all__ = ["Population", "SyncCounts"]

#: Identity fields the register owns (the birth date follows from the matricule).
_FIELDS = ("given_name", "family_name", "gender", "street", "postal_code", "city", "country",
           "death_date")


@dataclass(slots=True)
class SyncCounts:
    new: int = 0
    changed: int = 0
    deceased: int = 0
    unchanged: int = 0
    bad: int = 0
    bad_lines: list[str] = field(default_factory=list)

    def add(self, other: SyncCounts) -> None:
        self.new += other.new
        self.changed += other.changed
        self.deceased += other.deceased
        self.unchanged += other.unchanged

    def __str__(self) -> str:
        return (f"{self.new} new, {self.changed} changed ({self.deceased} deceased), "
                f"{self.unchanged} unchanged, {self.bad} bad")


def _log(patient_id: int, what: str, now: dt.datetime,
         action: AccessAction = AccessAction.WRITE) -> dict[str, object]:
    return {"at": now, "patient_id": patient_id, "actor_kind": ActorKind.SYSTEM.value,
            "actor_name": "social-security register", "action": action.value,
            "what": what, "context": AccessContext.ADMINISTRATION.value,
            "outcome": Outcome.SUCCESS.value, "detail": "register feed"}


class Population:
    """The register's side of the DSPs."""

    def __init__(self, sessions: sessionmaker[Session],
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self._sessions = sessions
        self._clock = clock

    def apply(self, people: Sequence[InsuredPerson]) -> SyncCounts:
        """Apply one chunk in one transaction (a matricule twice in it: the later line wins)."""
        latest = {p.matricule: p for p in people}
        counts = SyncCounts()
        now = self._clock()
        with self._sessions.begin() as s:
            existing = {row.matricule: row for row in s.execute(
                select(Patient.id, Patient.matricule, *(getattr(Patient, f) for f in _FIELDS))
                .where(Patient.matricule.in_(list(latest))))}
            new_rows, changes, logs = [], [], []
            for number, person in latest.items():
                row = existing.get(number)
                if row is None:
                    new_rows.append({
                        "matricule": number, "given_name": person.given_name,
                        "family_name": person.family_name, "birth_date": person.birth_date,
                        "gender": person.gender, "street": person.street,
                        "postal_code": person.postal_code, "city": person.city,
                        "country": person.country, "preferred_language": "fr",
                        "dsp_state": DspState.OPEN.value, "dsp_opened_at": now,
                        "death_date": person.death_date, "activated_at": None})
                    continue
                differ = [f for f in _FIELDS if getattr(row, f) != getattr(person, f)]
                if not differ:
                    counts.unchanged += 1
                    continue
                counts.changed += 1
                if person.death_date is not None and row.death_date is None:
                    counts.deceased += 1
                changes.append({"pid": row.id, **{f: getattr(person, f) for f in _FIELDS}})
                logs.append(_log(row.id, "identity updated: " + ", ".join(differ), now,
                                 AccessAction.UPDATE))
            if new_rows:
                s.execute(insert(Patient), new_rows)
                ids = dict(s.execute(select(Patient.matricule, Patient.id).where(
                    Patient.matricule.in_([r["matricule"] for r in new_rows]))).all())
                s.execute(insert(DspStateChange), [
                    {"patient_id": ids[r["matricule"]], "state": DspState.OPEN.value,
                     "at": now, "reason": "opened by the social-security register"}
                    for r in new_rows])
                logs.extend(_log(ids[r["matricule"]], "DSP opened (register)", now)
                            for r in new_rows)
                counts.new = len(new_rows)
                counts.deceased += sum(1 for r in new_rows if r["death_date"] is not None)
            if changes:
                s.connection().execute(
                    update(Patient).where(Patient.id == bindparam("pid"))
                    .values({f: bindparam(f) for f in _FIELDS}), changes)
            if logs:
                s.execute(insert(AccessLogEntry), logs)
        return counts
