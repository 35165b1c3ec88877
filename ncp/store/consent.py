"""Consent: the patient's cross-border consent per service, and the DSP itself (close, reopen).

Both are reserved to the patient or their legal representative (:class:`~ncp.store.policy.Power`
``CONSENT``). The cross-border service that reads consent is :mod:`ncp.consent`.
"""

from __future__ import annotations

from sqlalchemy import (
    and_,
    bindparam,
    or_,
    select,
)
from sqlalchemy.orm import Session

from ncp.store import policy
from ncp.store.access_log import AccessLogRecords
from ncp.store.errors import InvalidInput
from ncp.store.models import (
    CrossBorderConsent,
    DspStateChange,
    UtcDateTime,
)
from ncp.store.policy import Actor, Power
from ncp.store.record_service import _outcome
from ncp.store.vocabulary import (
    AccessAction,
    CrossBorderService,
    DspState,
)

_CONSENTS = select(CrossBorderConsent.service).where(
    CrossBorderConsent.patient_id == bindparam("patient_id"),
    CrossBorderConsent.given_at <= bindparam("now", type_=UtcDateTime()),
    or_(CrossBorderConsent.withdrawn_at.is_(None),
        CrossBorderConsent.withdrawn_at > bindparam("now", type_=UtcDateTime())))


def _active_consent(s: Session, patient_id: int,
                    svc: CrossBorderService) -> list[CrossBorderConsent]:
    return list(s.scalars(select(CrossBorderConsent).where(and_(
        CrossBorderConsent.patient_id == patient_id, CrossBorderConsent.service == svc.value,
        CrossBorderConsent.withdrawn_at.is_(None)))))



def _service(value: CrossBorderService | str) -> CrossBorderService:
    try:
        return CrossBorderService(value)
    except ValueError:
        raise InvalidInput(f"unknown cross-border service {value!r}") from None


class ConsentRecords(AccessLogRecords):
    """Giving and withdrawing cross-border consent; closing and reopening the DSP."""

    def give_consent(self, actor: Actor, patient_id: int, service: CrossBorderService | str,
                     channel: str = "portal", notice_version: str | None = None) -> None:
        """Explicit consent to cross-border sharing of one service, with the version of the
        Patient Information Notice the patient acknowledged (the portal gives no consent
        without it: :func:`ncp.portal.patient.set_consent`).

        A consent already in force under another notice version is renewed: its row is closed
        and a new one records the version now acknowledged (the history keeps both).
        """
        svc = _service(service)
        now = self._clock()
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            decision = policy.manage_record(actor, self._facts(s, actor, patient), Power.CONSENT)
            detail = f"{channel}, notice {notice_version}" if notice_version else channel
            self._log(s, actor, patient_id, AccessAction.POLICY, f"consent given: {svc.value}",
                      decision.context, _outcome(decision), detail=detail)
            self._enforce(s, decision)
            active = _active_consent(s, patient_id, svc)
            if active and (notice_version is None or
                           all(r.notice_version == notice_version for r in active)):
                return
            for row in active:
                row.withdrawn_at = now
            s.add(CrossBorderConsent(patient_id=patient_id, service=svc.value, given_at=now,
                                     channel=channel, notice_version=notice_version))

    def consent_notices(self, patient_id: int) -> dict[CrossBorderService, str | None]:
        """The services consented to now, each with the notice version acknowledged."""
        now = self._clock()
        with self._read() as s:
            rows = s.execute(select(CrossBorderConsent.service,
                                    CrossBorderConsent.notice_version).where(
                CrossBorderConsent.patient_id == patient_id, CrossBorderConsent.given_at <= now,
                or_(CrossBorderConsent.withdrawn_at.is_(None),
                    CrossBorderConsent.withdrawn_at > now))).all()
            return {CrossBorderService(r[0]): r[1] for r in rows}

    def withdraw_consent(self, actor: Actor, patient_id: int,
                         service: CrossBorderService | str) -> None:
        svc = _service(service)
        now = self._clock()
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            decision = policy.manage_record(actor, self._facts(s, actor, patient), Power.CONSENT)
            self._log(s, actor, patient_id, AccessAction.POLICY,
                      f"consent withdrawn: {svc.value}", decision.context, _outcome(decision),
                      detail=decision.reason)
            self._enforce(s, decision)
            for row in _active_consent(s, patient_id, svc):
                row.withdrawn_at = now

    def consents(self, patient_id: int) -> frozenset[CrossBorderService]:
        """The services the patient currently consents to share across borders."""
        with self._read() as s:
            rows = s.connection().execute(_CONSENTS, {"patient_id": patient_id,
                                                      "now": self._clock()}).scalars()
            return frozenset(CrossBorderService(r) for r in rows)

    def close_dsp(self, actor: Actor, patient_id: int, reason: str = "") -> None:
        self._set_state(actor, patient_id, DspState.CLOSED, reason)

    def reopen_dsp(self, actor: Actor, patient_id: int, reason: str = "") -> None:
        self._set_state(actor, patient_id, DspState.OPEN, reason)

    def _set_state(self, actor: Actor, patient_id: int, state: DspState, reason: str) -> None:
        now = self._clock()
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            decision = policy.manage_record(actor, self._facts(s, actor, patient), Power.CONSENT)
            self._log(s, actor, patient_id, AccessAction.POLICY, f"DSP {state.value}",
                      decision.context, _outcome(decision), detail=reason or decision.reason)
            self._enforce(s, decision)
            if patient.dsp_state == state.value:
                raise InvalidInput(f"the DSP is already {state.value}")
            patient.dsp_state = state.value
            if state is DspState.CLOSED:
                patient.dsp_closed_at = now
            else:
                patient.dsp_opened_at = now
                patient.dsp_closed_at = None
            s.add(DspStateChange(patient_id=patient_id, state=state.value, at=now,
                                 reason=reason or None))
