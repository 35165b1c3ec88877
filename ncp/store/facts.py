"""The facts the one policy (:mod:`ncp.store.policy`) reads about a patient and an actor.

As SQL columns, not a query of their own, so that the hot queries (a document read, a list)
answer the document, its patient and the facts at once (:mod:`ncp.store.unit`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import (
    ColumnElement,
    Exists,
    Integer,
    bindparam,
    exists,
    or_,
    select,
)

from ncp.store.models import (
    AccessRule,
    CrossBorderConsent,
    EmergencyAccess,
    Patient,
    TherapeuticRelationship,
    UtcDateTime,
)
from ncp.store.policy import Actor, Facts
from ncp.store.vocabulary import (
    AccessRuleKind,
    ActorKind,
    CrossBorderService,
    DspState,
)


class _PatientRow(NamedTuple):
    id: int
    dsp_state: str
    referring_doctor_id: int | None


def _fact_columns(patient_id: ColumnElement[int]) -> list[ColumnElement[bool]]:
    """The policy's facts about (patient, actor) as boolean columns, in :data:`_FACTS` order.

    Columns, not a query of their own, so that the hot queries answer the document, its
    patient and the facts at once. ``professional_id`` is NULL for actors other than a DSP
    professional (then the first five are false).
    """
    professional_id = bindparam("professional_id", type_=Integer)
    now = bindparam("now", type_=UtcDateTime())
    relationship = exists().where(
        TherapeuticRelationship.patient_id == patient_id,
        TherapeuticRelationship.professional_id == professional_id,
        TherapeuticRelationship.valid_from <= now,
        or_(TherapeuticRelationship.valid_to.is_(None), TherapeuticRelationship.valid_to > now))

    def rule(kind: AccessRuleKind) -> Exists:
        return exists().where(
            AccessRule.patient_id == patient_id, AccessRule.professional_id == professional_id,
            AccessRule.kind == kind.value, AccessRule.revoked_at.is_(None))

    emergency = exists().where(
        EmergencyAccess.patient_id == patient_id,
        EmergencyAccess.professional_id == professional_id,
        EmergencyAccess.started_at <= now, EmergencyAccess.expires_at > now)

    def consent(service: CrossBorderService) -> Exists:
        return exists().where(
            CrossBorderConsent.patient_id == patient_id,
            CrossBorderConsent.service == service.value, CrossBorderConsent.given_at <= now,
            or_(CrossBorderConsent.withdrawn_at.is_(None), CrossBorderConsent.withdrawn_at > now))

    return [relationship, rule(AccessRuleKind.GRANT), rule(AccessRuleKind.BLOCK),
            rule(AccessRuleKind.RESTRICTED), emergency,
            *(consent(service) for service in CrossBorderService)]


#: What the columns of :func:`_fact_columns` say, in order.
_FACTS = ("relationship", "granted", "blocked", "named_for_restricted", "emergency")


def _fact_params(actor: Actor, now: dt.datetime) -> dict[str, object]:
    professional = actor.professional_id if actor.kind is ActorKind.PROFESSIONAL else None
    return {"professional_id": professional, "now": now}


def _facts_of(actor: Actor, patient: Patient | _PatientRow,
              flags: Sequence[object]) -> Facts:
    """The policy's facts from the columns of :func:`_fact_columns`."""
    open_ = patient.dsp_state == DspState.OPEN.value
    if actor.kind is ActorKind.FOREIGN:
        consents = frozenset(service for service, flag in
                             zip(CrossBorderService, flags[len(_FACTS):], strict=True) if flag)
        return Facts(patient_id=patient.id, dsp_open=open_, consents=consents)
    if actor.kind is not ActorKind.PROFESSIONAL or actor.professional_id is None:
        return Facts(patient_id=patient.id, dsp_open=open_)
    return Facts(
        patient_id=patient.id, dsp_open=open_,
        **{name: bool(flag) for name, flag in zip(_FACTS, flags, strict=False)},
        referring_doctor=patient.referring_doctor_id == actor.professional_id,
    )



#: A patient (id, state, referring doctor, matricule) and the actor's facts.
_PATIENT_FACTS = select(Patient.id, Patient.dsp_state, Patient.referring_doctor_id,
                        Patient.matricule, *_fact_columns(Patient.id)).where(
    Patient.id == bindparam("id"))
_PATIENT_ROW = select(Patient.id, Patient.dsp_state, Patient.referring_doctor_id).where(
    Patient.id == bindparam("id"))
