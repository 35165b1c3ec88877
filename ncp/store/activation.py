"""Activation letters: the one-time codes with which a person activates the DSP the register
opened for them (issue 17 item 2).

A DSP opened by the social-security register (:mod:`ncp.store.population`) has no account and
``patients.activated_at`` empty. The operator issues letters (``ncp registry
activation-letters``); each carries a code that is good once, until a date, for that matricule
only. Only the SHA-256 of the code (salted with the matricule) is stored: the mail house's file
is the one place the code is written in clear. A newer letter replaces the older ones (their
codes stop working), so a lost letter is answered by sending another.

Using a code is two steps: the code opens a short *ticket* (its hash kept on the letter) that
carries the person to the page where they choose a password and enrol their authenticator; the
letter is used up, the account created and the DSP marked activated in one transaction, only
when that second step succeeds (a person who stops half-way can start again with the letter).
Attempts are counted by :class:`ncp.auth.activation.Activation` in the login throttle.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import ForeignKey, Index, Integer, String, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from ncp.store.accounts import Account, add_account
from ncp.store.keys import KeyRingSource
from ncp.store.models import AccessLogEntry, Base, Patient, UtcDateTime
from ncp.store.vocabulary import AccessAction, AccessContext, ActorKind, DspState, Outcome

__all__ = ["ActivationLetter", "ActivationLetters", "LetterCheck", "Recipient", "code_hash",
           "is_activated"]


class _Gone(Exception):
    """The letter or the DSP changed under a completion: roll everything back."""


class ActivationLetter(Base):
    """One letter sent to a person whose DSP is not activated."""

    __tablename__ = "activation_letters"
    __table_args__ = (Index("ix_activation_letters_patient", "patient_id", "used_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    #: SHA-256 of the matricule and the code (:func:`code_hash`), never the code.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    #: Set when the person completed the activation with this letter.
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    #: Set when a newer letter replaced this one.
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    #: SHA-256 of the ticket of a good code whose second step is pending, and its end.
    ticket_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    ticket_expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


def code_hash(matricule: str, code: str) -> str:
    """The stored form of a code: SHA-256 over the matricule and the code (normalised by the
    caller). The code has 80 random bits, so a copy of the table yields no code."""
    return hashlib.sha256(f"ncp-activation:{matricule}:{code}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a letter goes to (the register's address and language)."""

    patient_id: int
    matricule: str
    given_name: str
    family_name: str
    street: str | None
    postal_code: str | None
    city: str | None
    country: str
    language: str


@dataclass(frozen=True, slots=True)
class LetterCheck:
    """What a presented code matched: ``status`` ``ok``, ``invalid`` (no such code for this
    matricule), ``expired``, ``used``, ``replaced`` or ``activated`` (the DSP already is)."""

    status: str
    letter_id: int | None = None
    patient_id: int | None = None


def _log(patient_id: int, what: str, now: dt.datetime, *, actor: ActorKind = ActorKind.SYSTEM,
         outcome: Outcome = Outcome.SUCCESS, detail: str | None = None) -> dict[str, object]:
    return {"at": now, "patient_id": patient_id, "actor_kind": actor.value,
            "actor_patient_id": patient_id if actor is ActorKind.PATIENT else None,
            "actor_name": "activation letters" if actor is ActorKind.SYSTEM else None,
            "action": AccessAction.POLICY.value, "what": what[:300],
            "context": AccessContext.ADMINISTRATION.value if actor is ActorKind.SYSTEM
            else AccessContext.PATIENT.value,
            "outcome": outcome.value, "detail": detail}


class ActivationLetters:
    """The letters' table; each method is one short transaction."""

    def __init__(self, sessions: sessionmaker[Session], keys: KeyRingSource,
                 clock: Callable[[], dt.datetime]) -> None:
        self._sessions = sessions
        self._keys = keys
        self._clock = clock

    def recipients(self, matricules: Sequence[str] | None = None, *,
                   reissue: bool = False) -> list[Recipient]:
        """The persons a letter is due to: a DSP of the register (a matricule, not a visit's
        provisional number), not activated, the person alive and without an account, and
        open (a closed DSP only when named in ``matricules``: the person asked); without
        ``reissue`` only those with no letter still valid."""
        now = self._clock()
        with self._sessions() as s:
            live = select(ActivationLetter.id).where(
                ActivationLetter.patient_id == Patient.id, ActivationLetter.used_at.is_(None),
                ActivationLetter.revoked_at.is_(None), ActivationLetter.expires_at > now)
            has_account = select(Account.id).where(Account.patient_id == Patient.id)
            query = select(Patient).where(
                Patient.activated_at.is_(None), Patient.death_date.is_(None),
                ~Patient.matricule.startswith("P"), ~has_account.exists())
            if not reissue:
                query = query.where(~live.exists())
            if matricules is not None:
                query = query.where(Patient.matricule.in_(list(matricules)))
            else:  # a person who closed their DSP gets a letter only when they ask for one
                query = query.where(Patient.dsp_state == DspState.OPEN.value)
            return [Recipient(p.id, p.matricule, p.given_name, p.family_name, p.street,
                              p.postal_code, p.city, p.country, p.preferred_language)
                    for p in s.scalars(query.order_by(Patient.id))]

    def issue(self, letters: Sequence[tuple[int, str]], expires_at: dt.datetime) -> None:
        """Record letters (patient id, code hash); earlier valid letters of the same persons
        are replaced. One transaction, with an access-log row per person."""
        now = self._clock()
        with self._sessions.begin() as s:
            ids = [pid for pid, _ in letters]
            s.execute(update(ActivationLetter).where(
                ActivationLetter.patient_id.in_(ids), ActivationLetter.used_at.is_(None),
                ActivationLetter.revoked_at.is_(None)).values(revoked_at=now))
            s.execute(insert(ActivationLetter), [
                {"patient_id": pid, "code_hash": digest, "issued_at": now,
                 "expires_at": expires_at} for pid, digest in letters])
            s.execute(insert(AccessLogEntry), [
                _log(pid, f"activation letter issued (valid until {expires_at:%Y-%m-%d})", now)
                for pid in ids])

    def check(self, matricule: str, digest: str) -> LetterCheck:
        """Which letter a (matricule, code hash) names, and whether it is still good."""
        now = self._clock()
        with self._sessions() as s:
            row = s.execute(select(ActivationLetter, Patient.activated_at)
                            .join(Patient, Patient.id == ActivationLetter.patient_id)
                            .where(ActivationLetter.code_hash == digest,
                                   Patient.matricule == matricule)).first()
        if row is None:
            return LetterCheck("invalid")
        letter, activated_at = row
        status = ("used" if letter.used_at else "activated" if activated_at else
                  "replaced" if letter.revoked_at else
                  "expired" if letter.expires_at <= now else "ok")
        return LetterCheck(status, letter.id, letter.patient_id)

    def open_ticket(self, letter_id: int, ticket_digest: str, until: dt.datetime) -> None:
        with self._sessions.begin() as s:
            s.execute(update(ActivationLetter).where(ActivationLetter.id == letter_id)
                      .values(ticket_hash=ticket_digest, ticket_expires_at=until))

    def by_ticket(self, ticket_digest: str) -> tuple[int, Recipient] | None:
        """The letter and person of a live ticket whose letter is still good."""
        now = self._clock()
        with self._sessions() as s:
            row = s.execute(select(ActivationLetter.id, Patient)
                            .join(Patient, Patient.id == ActivationLetter.patient_id)
                            .where(ActivationLetter.ticket_hash == ticket_digest,
                                   ActivationLetter.ticket_expires_at > now,
                                   ActivationLetter.expires_at > now,
                                   ActivationLetter.used_at.is_(None),
                                   ActivationLetter.revoked_at.is_(None),
                                   Patient.activated_at.is_(None))).first()
        if row is None:
            return None
        letter_id, p = row
        return letter_id, Recipient(p.id, p.matricule, p.given_name, p.family_name, p.street,
                                    p.postal_code, p.city, p.country, p.preferred_language)

    def complete(self, letter_id: int, *, login: str, display_name: str, password_hash: str,
                 totp_secret: str, totp_step: int, language: str) -> int | None:
        """Use the letter up, create the patient's account and mark the DSP activated, all in
        one transaction; None when the letter was used, replaced or expired in between (a
        conditional UPDATE, so two parallel completions make one account)."""
        now = self._clock()
        try:
            with self._sessions.begin() as s:
                return self._complete(s, letter_id, now, login=login,
                                      display_name=display_name, password_hash=password_hash,
                                      totp_secret=totp_secret, totp_step=totp_step,
                                      language=language)
        except _Gone:
            return None

    def _complete(self, s: Session, letter_id: int, now: dt.datetime, *, login: str,
                  display_name: str, password_hash: str, totp_secret: str, totp_step: int,
                  language: str) -> int:
        patient_id = s.scalar(select(ActivationLetter.patient_id)
                              .where(ActivationLetter.id == letter_id))
        claimed = s.execute(update(ActivationLetter).where(
            ActivationLetter.id == letter_id, ActivationLetter.used_at.is_(None),
            ActivationLetter.revoked_at.is_(None), ActivationLetter.expires_at > now)
            .values(used_at=now, ticket_hash=None, ticket_expires_at=None))
        if not claimed.rowcount or patient_id is None:  # type: ignore[attr-defined]
            raise _Gone()
        done = s.execute(update(Patient).where(Patient.id == patient_id,
                                               Patient.activated_at.is_(None))
                         .values(activated_at=now))
        if not done.rowcount:  # type: ignore[attr-defined]
            raise _Gone()  # rolls the letter back too
        account_id = add_account(s, self._keys, login=login, kind="patient",
                                 display_name=display_name, password_hash=password_hash,
                                 totp_secret=totp_secret, now=now, patient_id=patient_id,
                                 language=language, totp_last_step=totp_step)
        s.execute(insert(AccessLogEntry), [_log(
            patient_id, "DSP activated with the activation letter", now,
            actor=ActorKind.PATIENT, detail="portal")])
        return account_id

    def mark_activated(self, patient_id: int, how: str) -> None:
        """An activation outside the letters (an operator who checked the person's identity
        at a counter, ``ncp accounts add``): the DSP counts as activated, logged."""
        now = self._clock()
        with self._sessions.begin() as s:
            done = s.execute(update(Patient).where(Patient.id == patient_id,
                                                   Patient.activated_at.is_(None))
                             .values(activated_at=now))
            if done.rowcount:  # type: ignore[attr-defined]
                s.execute(update(ActivationLetter).where(
                    ActivationLetter.patient_id == patient_id,
                    ActivationLetter.used_at.is_(None), ActivationLetter.revoked_at.is_(None))
                    .values(revoked_at=now))
                s.execute(insert(AccessLogEntry), [_log(patient_id, f"DSP activated ({how})",
                                                        now)])

    def is_activated(self, patient_id: int) -> bool:
        return is_activated(self._sessions, patient_id)


def is_activated(sessions: sessionmaker[Session], patient_id: int) -> bool:
    """Whether the person activated this DSP (the login of its account is refused until)."""
    with sessions() as s:
        return s.scalar(select(Patient.activated_at).where(Patient.id == patient_id)) \
            is not None
