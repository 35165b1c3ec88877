"""Identity: the patients and their DSPs (opened, found, imported).

The rest of the identity aggregate lives beside it: the population feed
(:mod:`ncp.store.population`), a DSP opened at a visit with a provisional identifier
(:mod:`ncp.store.visits`, :mod:`ncp.store.provisional`) and the merge that follows
(:mod:`ncp.store.merge`); the matricule's rules are in :mod:`ncp.store.matricule`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import (
    exists,
    insert,
    select,
)

from ncp.store import matricule as matricule_rules
from ncp.store import policy
from ncp.store.access_log import AccessLogRecords
from ncp.store.errors import InvalidInput, NotFound
from ncp.store.models import (
    DspStateChange,
    Patient,
    TherapeuticRelationship,
)
from ncp.store.policy import Actor
from ncp.store.record_service import _outcome
from ncp.store.visits import PatientMerge
from ncp.store.vocabulary import (
    AccessAction,
    DspState,
    Gender,
    Outcome,
    RelationshipSource,
)

if TYPE_CHECKING:
    from ncp.store.documents import DocumentInfo


@dataclass(frozen=True, slots=True)
class PatientInfo:
    id: int
    matricule: str
    given_name: str
    family_name: str
    birth_date: dt.date
    gender: str
    street: str | None
    postal_code: str | None
    city: str | None
    country: str
    preferred_language: str
    dsp_state: str
    referring_doctor_id: int | None



@dataclass(frozen=True, slots=True)
class PatientImport:
    matricule: str
    given_name: str
    family_name: str
    gender: str
    city: str | None = None
    referring_doctor: int | None = None



#: A provisional record merged into another answers as unknown by its identifier (ncp.store.merge).
_NOT_MERGED_AWAY = ~exists().where(PatientMerge.source_patient_id == Patient.id,
                                   PatientMerge.target_patient_id != Patient.id)



def _patient_info(p: Patient) -> PatientInfo:
    return PatientInfo(
        id=p.id, matricule=p.matricule, given_name=p.given_name, family_name=p.family_name,
        birth_date=p.birth_date, gender=p.gender, street=p.street, postal_code=p.postal_code,
        city=p.city, country=p.country, preferred_language=p.preferred_language,
        dsp_state=p.dsp_state, referring_doctor_id=p.referring_doctor_id)



class IdentityRecords(AccessLogRecords):
    """Opening, finding and importing patients' DSPs."""

    def add_patient(
        self,
        *,
        matricule: str,
        given_name: str,
        family_name: str,
        gender: str,
        birth_date: dt.date | None = None,
        street: str | None = None,
        postal_code: str | None = None,
        city: str | None = None,
        country: str = "LU",
        preferred_language: str = "fr",
        referring_doctor: int | None = None,
    ) -> int:
        """Open a DSP for a patient. The birth date, if given, must agree with the matricule."""
        try:
            matricule_rules.validate(matricule)
        except matricule_rules.InvalidMatricule as exc:
            raise InvalidInput(f"invalid matricule: {exc}") from None
        implied = matricule_rules.birth_date_of(matricule)
        if birth_date is not None and birth_date != implied:
            raise InvalidInput("the birth date does not agree with the matricule")
        try:
            gender_value = Gender(gender).value
        except ValueError:
            raise InvalidInput(f"unknown administrative gender {gender!r}") from None
        if not given_name.strip() or not family_name.strip():
            raise InvalidInput("a patient needs a given and a family name")
        now = self._clock()
        with self._tx() as s:
            if referring_doctor is not None:
                self._professional(s, referring_doctor)
            if s.scalar(select(Patient.id).where(Patient.matricule == matricule)):
                raise InvalidInput("a DSP already exists for this matricule")
            patient = Patient(
                matricule=matricule, given_name=given_name, family_name=family_name,
                birth_date=implied, gender=gender_value, street=street, postal_code=postal_code,
                city=city, country=country, preferred_language=preferred_language,
                referring_doctor_id=referring_doctor, dsp_state=DspState.OPEN.value,
                dsp_opened_at=now, activated_at=now,
            )
            s.add(patient)
            s.flush()
            s.add(DspStateChange(patient_id=patient.id, state=DspState.OPEN.value, at=now,
                                 reason="DSP created"))
            if referring_doctor is not None:
                s.add(TherapeuticRelationship(
                    patient_id=patient.id, professional_id=referring_doctor, valid_from=now,
                    source=RelationshipSource.REFERRING_DOCTOR.value))
            return patient.id

    def patient_id(self, matricule: str) -> int:
        """The internal id of a DSP by matricule (administrative lookup, no patient data)."""
        with self._read() as s:
            pid = s.scalar(select(Patient.id).where(Patient.matricule == matricule,
                                                    _NOT_MERGED_AWAY))
        if pid is None:
            raise NotFound("no DSP for this matricule")
        return pid

    def find_patient(self, actor: Actor, matricule: str) -> PatientInfo:
        """Identify a patient by matricule, as ``actor`` (logged as a search)."""
        with self._tx() as s:
            patient = s.execute(select(Patient).where(Patient.matricule == matricule,
                                                      _NOT_MERGED_AWAY)).scalar_one_or_none()
            if patient is None:
                self._log(s, actor, None, AccessAction.SEARCH, f"patient {matricule}",
                          self._default_context(actor), Outcome.ERROR, detail="no such patient")
                s.commit()
                raise NotFound("no DSP for this matricule")
            facts = self._facts(s, actor, patient)
            decision = policy.record_access(actor, facts)
            self._log(s, actor, patient.id, AccessAction.SEARCH, "patient identity",
                      decision.context, _outcome(decision), detail=decision.reason)
            self._enforce(s, decision)
            return _patient_info(patient)

    def get_patient(self, actor: Actor, patient_id: int) -> PatientInfo:
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            decision = policy.record_access(actor, self._facts(s, actor, patient))
            self._log(s, actor, patient.id, AccessAction.READ, "patient identity",
                      decision.context, _outcome(decision), detail=decision.reason)
            self._enforce(s, decision)
            return _patient_info(patient)

    def identity_of_read(self, info: DocumentInfo) -> PatientInfo:
        """The patient a document just read (through :meth:`read_document`, which decided and
        logged) belongs to, for the identified-patient banner beside it. Not logged again: it
        reveals nothing the read did not, and a banner per view would flood the access log."""
        with self._read() as s:
            return _patient_info(self._patient(s, info.patient_id))

    def import_patients(self, items: list[PatientImport]) -> list[int]:
        """Open DSPs in bulk (initial load from the national systems), in one transaction.

        Every item is validated first, as :meth:`add_patient` does; one bad item refuses the
        whole batch and nothing is written. Each patient gets a relationship with their
        referring doctor, if named.
        """
        now = self._clock()
        rows = []
        for item in items:
            try:
                matricule_rules.validate(item.matricule)
                gender = Gender(item.gender).value
            except (matricule_rules.InvalidMatricule, ValueError) as exc:
                raise InvalidInput(f"patient {item.matricule}: {exc}") from None
            rows.append({
                "matricule": item.matricule, "given_name": item.given_name,
                "family_name": item.family_name,
                "birth_date": matricule_rules.birth_date_of(item.matricule), "gender": gender,
                "city": item.city, "country": "LU", "preferred_language": "fr",
                "referring_doctor_id": item.referring_doctor, "dsp_state": DspState.OPEN.value,
                "dsp_opened_at": now,
            })
        with self._tx() as s:
            # Plain executemany, no RETURNING: psycopg pipelines it, while a multi-row
            # INSERT ... RETURNING costs more to build than to run at this size.
            s.execute(insert(Patient), rows)
            ids = dict(s.execute(select(Patient.matricule, Patient.id).where(
                Patient.matricule.in_([r["matricule"] for r in rows]))).all())
            rels = [{"patient_id": ids[r["matricule"]],
                     "professional_id": r["referring_doctor_id"], "valid_from": now,
                     "source": RelationshipSource.REFERRING_DOCTOR.value}
                    for r in rows if r["referring_doctor_id"] is not None]
            if rels:
                s.execute(insert(TherapeuticRelationship), rels)
            s.execute(insert(DspStateChange), [
                {"patient_id": ids[r["matricule"]], "state": DspState.OPEN.value, "at": now,
                 "reason": "imported"} for r in rows])
            return [ids[r["matricule"]] for r in rows]
