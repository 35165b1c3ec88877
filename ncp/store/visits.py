"""A DSP opened at a visit, for a person without a matricule, and the merges that follow.

"For all other persons a DSP will be created at the occasion of a visit at the doctor's or at
the hospital." The professional who sees the person opens the DSP with the identity the person
gives and receives a provisional identifier (:mod:`ncp.store.provisional`); the DSP is then an
ordinary record (documents, relationships, the patient's rules), reached by that identifier in
the national API and pages. It is not reachable across borders: XCPD answers only for the
national identifier domain, and a provisional identifier is not one.

The registration is the visit's therapeutic relationship too: the registering professional has
the usual visit period (:data:`~ncp.store.relationships.VISIT_PERIOD`) on the record, no more.
Both the opening and the relationship are rows of the new record's access log.

When the person later receives a matricule, the operator merges the provisional record into the
matricule's (:mod:`ncp.store.merge`); :class:`PatientMerge` keeps each merge, so that it is done
once, the provisional identifier is never issued again, and the identifier answers as unknown
from then on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Integer, String, exists, select
from sqlalchemy.orm import Mapped, mapped_column

from ncp.store.errors import AccessDenied, InvalidInput
from ncp.store.models import Base, DspStateChange, Patient, TherapeuticRelationship, UtcDateTime
from ncp.store.policy import Actor
from ncp.store.provisional import new_provisional_id
from ncp.store.vocabulary import (
    AccessAction,
    AccessContext,
    ActorKind,
    DspState,
    Gender,
    Outcome,
    Profession,
    RelationshipSource,
)

if TYPE_CHECKING:
    from ncp.store.dsp import Records

__all__ = ["REGISTERING_PROFESSIONS", "PatientMerge", "Registered", "VisitIdentity",
           "register_at_visit"]

#: Who opens a DSP at a visit: the professions a person consults at the doctor's or at the
#: hospital (a pharmacist, a laboratory or a radiologist works on a prescription, which needs
#: a record already).
REGISTERING_PROFESSIONS = frozenset({Profession.PHYSICIAN, Profession.DENTIST,
                                     Profession.MIDWIFE, Profession.NURSE})
_MAX = {"given_name": 100, "family_name": 100, "street": 200, "postal_code": 16, "city": 100}


class PatientMerge(Base):
    """A provisional record merged into a matricule's (or given the matricule in place)."""

    __tablename__ = "patient_merges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The provisional identifier, retired: never issued again, unknown from now on.
    provisional_id: Mapped[str] = mapped_column(String(13), unique=True)
    matricule: Mapped[str] = mapped_column(String(13), index=True)
    #: The provisional record (kept, closed, with its own access log: the hash chain forbids
    #: moving sealed rows) and the record it went into (the same row when re-identified).
    source_patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    target_patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    #: ``merged`` (into an existing DSP) or ``re-identified`` (no DSP had the matricule yet).
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    operator: Mapped[str] = mapped_column(String(100))
    #: A merge the rules refuse (into a deceased or closed record, birth dates that differ)
    #: that the operator forced.
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    #: What moved and which conflicts were resolved how (as printed by the command).
    detail: Mapped[str] = mapped_column(String(1000))


@dataclass(frozen=True, slots=True)
class VisitIdentity:
    """What the person tells the professional at the visit."""

    given_name: str
    family_name: str
    birth_date: dt.date
    gender: str
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str = "LU"
    preferred_language: str = "fr"

    def checked(self, today: dt.date) -> VisitIdentity:
        """The identity with its values trimmed, or :class:`InvalidInput` saying why."""
        values: dict = {k: (v.strip() if isinstance(v, str) else v)  # type: ignore[type-arg]
                        for k, v in asdict(self).items()}
        for name in ("given_name", "family_name"):
            if not values[name]:
                raise InvalidInput(f"{name} is missing")
        for name, width in _MAX.items():
            if len(values[name] or "") > width:
                raise InvalidInput(f"{name} is longer than {width} characters")
        if any(ch < " " for v in values.values() if isinstance(v, str) for ch in v):
            raise InvalidInput("control characters in a value")
        try:
            values["gender"] = Gender(str(values["gender"]).upper()).value
        except ValueError:
            raise InvalidInput(f"unknown administrative gender {self.gender!r}") from None
        if values["birth_date"] > today or values["birth_date"].year < 1880:
            raise InvalidInput("the birth date is not plausible")
        country = str(values["country"] or "LU").upper()
        if len(country) != 2 or not country.isascii() or not country.isalpha():
            raise InvalidInput(f"country is not an ISO 3166 alpha-2 code: {country!r}")
        values["country"] = country
        if values["preferred_language"] not in ("fr", "de", "en", "lb", "pt"):
            raise InvalidInput("preferred_language is one of fr, de, en, lb, pt")
        for name in ("street", "postal_code", "city"):
            values[name] = values[name] or None
        return VisitIdentity(**values)


@dataclass(frozen=True, slots=True)
class Registered:
    patient_id: int
    provisional_id: str
    relationship_id: int
    visit_from: dt.datetime
    visit_until: dt.datetime


def register_at_visit(records: Records, actor: Actor, identity: VisitIdentity) -> Registered:
    """Open a DSP with a provisional identifier for a person without a matricule.

    Only a registered, practising professional of :data:`REGISTERING_PROFESSIONS` registers;
    the DSP is open and not activated (the person has no eSanté account yet), and the
    registering professional has the visit's relationship with it.
    """
    from ncp.store.relationships import VISIT_PERIOD
    if actor.kind is not ActorKind.PROFESSIONAL or actor.professional_id is None:
        raise InvalidInput("only a professional registers a person at a visit")
    if actor.profession not in REGISTERING_PROFESSIONS:
        raise AccessDenied(f"a {actor.profession.value if actor.profession else 'caller'} does "
                           "not open DSPs at a visit")
    now = records.clock()
    person = identity.checked(now.date())
    with records._tx() as s:
        for _ in range(20):  # 10**10 identifiers: a clash is rare, twenty in a row impossible
            number = new_provisional_id()
            taken = s.scalar(select(exists().where(Patient.matricule == number))) or \
                s.scalar(select(exists().where(PatientMerge.provisional_id == number)))
            if not taken:
                break
        else:  # pragma: no cover
            raise RuntimeError("no free provisional identifier found")
        patient = Patient(
            matricule=number, given_name=person.given_name, family_name=person.family_name,
            birth_date=person.birth_date, gender=person.gender, street=person.street,
            postal_code=person.postal_code, city=person.city, country=person.country,
            preferred_language=person.preferred_language, dsp_state=DspState.OPEN.value,
            dsp_opened_at=now, activated_at=None)
        s.add(patient)
        s.flush()
        s.add(DspStateChange(patient_id=patient.id, state=DspState.OPEN.value, at=now,
                             reason=f"opened at a visit (provisional identifier {number})"))
        until = now + VISIT_PERIOD
        rel = TherapeuticRelationship(patient_id=patient.id,
                                      professional_id=actor.professional_id, valid_from=now,
                                      valid_to=until, source=RelationshipSource.VISIT.value)
        s.add(rel)
        s.flush()
        records._log(s, actor, patient.id, AccessAction.WRITE,
                     f"DSP opened at a visit (provisional identifier {number})",
                     AccessContext.TREATMENT, Outcome.SUCCESS, detail="no matricule")
        records._log(s, actor, patient.id, AccessAction.POLICY,
                     "therapeutic relationship declared: visit", AccessContext.TREATMENT,
                     Outcome.SUCCESS)
        return Registered(patient.id, number, rel.id, now, until)
