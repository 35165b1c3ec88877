"""What every aggregate of the DSP record service shares: transactions, the clock, the key ring,
the policy's facts and the refusal rule.

Each public method of an aggregate is one transaction: it gathers the facts, asks
:mod:`ncp.store.policy`, does the work and writes the access-log row
(:mod:`ncp.store.access_log`), then commits, so that the log row and the access stand or fall
together. A refusal still commits its log row (and nothing else) before raising
:class:`~ncp.store.errors.AccessDenied`. Bad input is checked before anything is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import (
    Engine,
    select,
)
from sqlalchemy.orm import Session, sessionmaker

from ncp.store.crypto import KeyRing
from ncp.store.db import reading
from ncp.store.errors import AccessDenied, NotFound
from ncp.store.facts import _PATIENT_FACTS, _PATIENT_ROW, _fact_params, _facts_of, _PatientRow
from ncp.store.keys import KeyRingSource
from ncp.store.models import (
    Organisation,
    Patient,
    Professional,
)
from ncp.store.policy import Actor, Decision, Facts
from ncp.store.vocabulary import (
    AccessContext,
    ActorKind,
    Outcome,
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)



def _outcome(decision: Decision) -> Outcome:
    return Outcome.SUCCESS if decision else Outcome.DENIED



class RecordService:
    """The service over the record store. Thread-safe: it holds no per-request state."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        keys: KeyRing | KeyRingSource,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._engine: Engine = sessions.kw["bind"]
        self._keys = keys if isinstance(keys, KeyRingSource) else KeyRingSource.fixed(keys)
        self._clock = clock

    @property
    def keys(self) -> KeyRingSource:
        """The master key ring (shared with the other stores that seal data at rest)."""
        return self._keys

    @property
    def clock(self) -> Callable[[], dt.datetime]:
        """The clock every rule of the record service reads (one per service)."""
        return self._clock

    def reading(self) -> AbstractContextManager[Session]:
        """A read-only transaction, for the store's other modules (no patient content)."""
        return self._read()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def _read(self) -> AbstractContextManager[Session]:
        """A read-only transaction (:func:`ncp.store.db.reading`)."""
        return reading(self._sessions)

    def _facts(self, s: Session, actor: Actor, patient: Patient | _PatientRow) -> Facts:
        row = s.connection().execute(_PATIENT_FACTS, {
            "id": patient.id, **_fact_params(actor, self._clock())}).one()
        return _facts_of(actor, patient, row[4:])

    @staticmethod
    def _enforce(s: Session, decision: Decision) -> None:
        """On refusal: keep the log row (commit) and raise; nothing else was written."""
        if not decision:
            s.commit()
            raise AccessDenied(decision.reason)

    @staticmethod
    def _default_context(actor: Actor) -> AccessContext:
        if actor.kind is ActorKind.FOREIGN:
            return AccessContext.CROSS_BORDER
        if actor.kind in (ActorKind.PATIENT, ActorKind.HELPER):
            return AccessContext.PATIENT
        return AccessContext.TREATMENT

    @staticmethod
    def _patient(s: Session, patient_id: int) -> Patient:
        patient = s.get(Patient, patient_id)
        if patient is None:
            raise NotFound("unknown patient")
        return patient

    @staticmethod
    def _patient_row(s: Session, patient_id: int) -> _PatientRow:
        row = s.connection().execute(_PATIENT_ROW, {"id": patient_id}).first()
        if row is None:
            raise NotFound("unknown patient")
        return _PatientRow(*row)

    @staticmethod
    def _professional(s: Session, professional_id: int) -> Professional:
        prof = s.get(Professional, professional_id)
        if prof is None:
            raise NotFound("unknown professional")
        return prof

    @staticmethod
    def _organisation_id(s: Session, identifier: str) -> int:
        org_id = s.scalar(select(Organisation.id).where(Organisation.identifier == identifier))
        if org_id is None:
            raise NotFound(f"unknown organisation {identifier}")
        return org_id

