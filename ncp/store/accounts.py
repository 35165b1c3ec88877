"""Logins of the DSP portal and API: accounts, certificates, sessions, tokens, helpers, login log.

The tables live beside the record store's (same ``Base``, same migrations) so that several
processes share sessions and the login-failure counters through the database. This module is the
only place that speaks SQL about them; the rules (password hashing, TOTP, expiry, rate limits)
are in :mod:`ncp.auth`, which calls :class:`AccountStore`.

Secrets are never stored as given: passwords as argon2 hashes, session and API tokens as SHA-256
digests of random tokens (a copy of the database cannot replay a session). The TOTP secret must
be kept as is (the server recomputes codes from it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from ncp.observability import login_done
from ncp.store import sealed
from ncp.store.crypto import Sealed, TamperedContent
from ncp.store.db import reading
from ncp.store.errors import ContentTampered
from ncp.store.keys import KeyRingSource
from ncp.store.models import Base, Patient, Professional, UtcDateTime


@sealed.table('totp_ciphertext')
class Account(Base):
    """A login: a patient, a professional, or a helper acting for patients who named them."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # patient, professional, helper
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), unique=True)
    professional_id: Mapped[int | None] = mapped_column(ForeignKey("professionals.id"),
                                                        unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    #: The TOTP secret, sealed like document contents (AES-256-GCM under a data key wrapped by
    #: the master key ``key_id``): a copy of the database does not yield second factors.
    key_id: Mapped[str] = mapped_column(String(40))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary(64))
    totp_nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    totp_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    #: The last TOTP time step accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(2), default="fr")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class AccountCertificate(Base):
    """A professional's registered client certificate (national professional card).

    Matched by the SHA-256 fingerprint of the certificate, or by the pair (issuer DN, subject
    serialNumber) so that a renewed card of the same issuer keeps working. The issuer is part of
    the key on purpose: every TLS-client anchor of the trust list (foreign gateways included)
    passes the TLS layer, and a subject serial alone could be claimed by any of them.
    """

    __tablename__ = "account_certificates"
    __table_args__ = (Index("ix_account_certificates_issuer_serial", "issuer", "subject_serial"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64), unique=True)
    issuer: Mapped[str | None] = mapped_column(String(400))
    subject_serial: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class AuthSession(Base):
    """A portal session. ``id`` is the SHA-256 of the cookie's token, never the token itself."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    #: ``second-factor`` after a good password, ``full`` once the TOTP code (or card) is in.
    stage: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16))
    acting_for_patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class LoginEvent(Base):
    """Every login attempt, good or bad; also the rate limiter's counter (shared by processes)."""

    __tablename__ = "login_events"
    __table_args__ = (
        Index("ix_login_events_login_at", "login", "at"),
        Index("ix_login_events_client_at", "client", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    login: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    method: Mapped[str] = mapped_column(String(16))  # password, totp, certificate, token
    outcome: Mapped[str] = mapped_column(String(16))  # success, failure, locked
    reason: Mapped[str | None] = mapped_column(String(200))
    client: Mapped[str | None] = mapped_column(String(64))


class LoginThrottle(Base):
    """The back-off state of one (login name, client address): the rate limiter's counter.

    One row per pair, updated under a row lock before the attempt is evaluated, so that
    parallel attempts cannot all pass a check made before any of them was counted.
    """

    __tablename__ = "login_throttle"

    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    client: Mapped[str] = mapped_column(String(64), primary_key=True)  # "" when unknown
    attempts: Mapped[int] = mapped_column(Integer)
    next_allowed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)


class HelperLink(Base):
    """A patient's DSP assistant: the helper account may act for the patient until revoked."""

    __tablename__ = "helper_links"
    __table_args__ = (Index("ix_helper_links_helper", "helper_account_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    helper_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    #: What the patient delegated: ``read``, ``manage`` or ``legal`` (ncp.store.policy).
    delegation: Mapped[str] = mapped_column(String(10), default="read")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class ApiToken(Base):
    """A bearer token of professional software; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


@dataclass(frozen=True, slots=True)
class AccountInfo:
    id: int
    login: str
    kind: str
    patient_id: int | None
    professional_id: int | None
    display_name: str
    password_hash: str
    totp_secret: str
    totp_last_step: int | None
    language: str
    disabled: bool


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: str
    account: AccountInfo
    stage: str
    method: str
    acting_for_patient_id: int | None
    csrf_token: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class LoginRecord:
    at: dt.datetime
    login: str
    method: str
    outcome: str
    reason: str | None
    client: str | None


def _totp_aad(login: str) -> bytes:
    return b"totp:" + login.encode()


def _info(a: Account, keys: KeyRingSource) -> AccountInfo:
    try:
        secret = keys.get(a.key_id).open(
            Sealed(a.key_id, a.wrapped_key, a.totp_nonce, a.totp_ciphertext),
            aad=_totp_aad(a.login)).decode()
    except TamperedContent:
        raise ContentTampered("a stored second factor failed its integrity check") from None
    return AccountInfo(id=a.id, login=a.login, kind=a.kind, patient_id=a.patient_id,
                       professional_id=a.professional_id, display_name=a.display_name,
                       password_hash=a.password_hash, totp_secret=secret,
                       totp_last_step=a.totp_last_step, language=a.language,
                       disabled=a.disabled_at is not None)


def add_account(s: Session, keys: KeyRingSource, *, login: str, kind: str, display_name: str,
                password_hash: str, totp_secret: str, now: dt.datetime,
                patient_id: int | None = None, professional_id: int | None = None,
                language: str = "fr", totp_last_step: int | None = None) -> int:
    """Insert one account in the caller's transaction (the activation of a DSP creates the
    patient's account in the same transaction that uses up the letter)."""
    if s.scalar(select(Account.id).where(Account.login == login)):
        raise ValueError(f"login {login!r} is taken")
    if patient_id is not None and s.get(Patient, patient_id) is None:
        raise ValueError("unknown patient")
    if professional_id is not None and s.get(Professional, professional_id) is None:
        raise ValueError("unknown professional")
    sealed = keys.current().seal(totp_secret.encode(), aad=_totp_aad(login))
    account = Account(login=login, kind=kind, display_name=display_name,
                      password_hash=password_hash, key_id=sealed.key_id,
                      wrapped_key=sealed.wrapped_key, totp_nonce=sealed.nonce,
                      totp_ciphertext=sealed.ciphertext, totp_last_step=totp_last_step,
                      patient_id=patient_id, professional_id=professional_id,
                      language=language, created_at=now)
    s.add(account)
    s.flush()
    return account.id


class AccountStore:
    """Queries over the account tables; each method is one short transaction."""

    def __init__(self, sessions: sessionmaker[Session], keys: KeyRingSource) -> None:
        self._sessions = sessions
        self._keys = keys

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    # ------------------------------------------------------------------ accounts

    def create(self, *, login: str, kind: str, display_name: str, password_hash: str,
               totp_secret: str, now: dt.datetime, patient_id: int | None = None,
               professional_id: int | None = None, language: str = "fr") -> int:
        with self._tx() as s:
            return add_account(s, self._keys, login=login, kind=kind,
                               display_name=display_name, password_hash=password_hash,
                               totp_secret=totp_secret, now=now, patient_id=patient_id,
                               professional_id=professional_id, language=language)

    def by_login(self, login: str) -> AccountInfo | None:
        with reading(self._sessions) as s:
            a = s.scalar(select(Account).where(Account.login == login))
            return _info(a, self._keys) if a else None

    def by_id(self, account_id: int) -> AccountInfo | None:
        with reading(self._sessions) as s:
            a = s.get(Account, account_id)
            return _info(a, self._keys) if a else None

    def set_password_hash(self, account_id: int, password_hash: str) -> None:
        with self._tx() as s:
            s.execute(update(Account).where(Account.id == account_id)
                      .values(password_hash=password_hash))

    def set_language(self, account_id: int, language: str) -> None:
        with self._tx() as s:
            s.execute(update(Account).where(Account.id == account_id).values(language=language))

    def set_disabled(self, account_id: int, now: dt.datetime | None) -> None:
        """Disable (``now``) or re-enable (None) a login; disabling ends its sessions."""
        with self._tx() as s:
            s.execute(update(Account).where(Account.id == account_id).values(disabled_at=now))
            if now is not None:
                s.execute(update(AuthSession).where(AuthSession.account_id == account_id,
                                                    AuthSession.ended_at.is_(None))
                          .values(ended_at=now))

    def claim_totp_step(self, account_id: int, step: int) -> bool:
        """Record ``step`` as used; False if it (or a later one) was used already.

        One conditional UPDATE, so two processes cannot both accept the same code.
        """
        with self._tx() as s:
            result = s.execute(update(Account).where(
                Account.id == account_id,
                or_(Account.totp_last_step.is_(None), Account.totp_last_step < step))
                .values(totp_last_step=step))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ certificates

    def add_certificate(self, account_id: int, *, fingerprint: str | None, issuer: str | None,
                        subject_serial: str | None, now: dt.datetime) -> None:
        if not fingerprint and not (issuer and subject_serial):
            raise ValueError("a certificate needs a fingerprint or an issuer and subject serial")
        with self._tx() as s:
            s.add(AccountCertificate(account_id=account_id, fingerprint=fingerprint,
                                     issuer=issuer, subject_serial=subject_serial,
                                     created_at=now))

    def by_professional(self, professional_id: int) -> AccountInfo | None:
        with reading(self._sessions) as s:
            a = s.scalar(select(Account).where(Account.professional_id == professional_id))
            return _info(a, self._keys) if a else None

    def serial_cards(self, account_id: int, issuers: Collection[str]) -> set[str]:
        """The subject serials registered (not revoked) for the account under ``issuers``."""
        with reading(self._sessions) as s:
            return set(s.scalars(select(AccountCertificate.subject_serial).where(
                AccountCertificate.account_id == account_id,
                AccountCertificate.issuer.in_(list(issuers)),
                AccountCertificate.subject_serial.is_not(None),
                AccountCertificate.revoked_at.is_(None))))

    def set_serial_cards(self, account_id: int, issuers: Collection[str],
                         serials: Collection[str], now: dt.datetime) -> tuple[int, int]:
        """Make the account's cards under ``issuers`` exactly ``serials`` (one transaction):
        new ones registered for every issuer, the others revoked at ``now`` (kept for the
        record). Cards registered by fingerprint are not touched. (registered, revoked)."""
        issuers, wanted = list(issuers), set(serials)
        with self._tx() as s:
            rows = list(s.scalars(select(AccountCertificate).where(
                AccountCertificate.account_id == account_id,
                AccountCertificate.issuer.in_(issuers),
                AccountCertificate.subject_serial.is_not(None),
                AccountCertificate.revoked_at.is_(None))))
            have = {(r.issuer, r.subject_serial) for r in rows}
            for r in rows:
                if r.subject_serial not in wanted:
                    r.revoked_at = now
            added = [(i, serial) for serial in sorted(wanted) for i in issuers
                     if (i, serial) not in have]
            s.add_all(AccountCertificate(account_id=account_id, issuer=i, subject_serial=serial,
                                         created_at=now) for i, serial in added)
            return len({serial for _, serial in added}), len({r.subject_serial for r in rows
                                                              if r.subject_serial not in wanted})

    def by_certificate(self, *, fingerprint: str, issuer: str,
                       subject_serial: str | None) -> AccountInfo | None:
        """The account a presented certificate belongs to (fingerprint first)."""
        with reading(self._sessions) as s:
            match = AccountCertificate.fingerprint == fingerprint
            if subject_serial:
                match = or_(match, (AccountCertificate.issuer == issuer)
                            & (AccountCertificate.subject_serial == subject_serial))
            a = s.scalar(select(Account).join(AccountCertificate,
                                              AccountCertificate.account_id == Account.id)
                         .where(match, AccountCertificate.revoked_at.is_(None))
                         .order_by(AccountCertificate.fingerprint.is_(None)).limit(1))
            return _info(a, self._keys) if a else None

    # ------------------------------------------------------------------ sessions

    def open_session(self, *, session_id: str, account_id: int, stage: str, method: str,
                     csrf_token: str, now: dt.datetime, expires_at: dt.datetime,
                     acting_for_patient_id: int | None = None) -> None:
        with self._tx() as s:
            s.add(AuthSession(id=session_id, account_id=account_id, stage=stage, method=method,
                              csrf_token=csrf_token, created_at=now, last_seen_at=now,
                              expires_at=expires_at,
                              acting_for_patient_id=acting_for_patient_id))

    def session(self, session_id: str) -> SessionInfo | None:
        """A session that was not ended (expiry is the caller's rule)."""
        with reading(self._sessions) as s:
            row = s.execute(select(AuthSession, Account)
                            .join(Account, Account.id == AuthSession.account_id)
                            .where(AuthSession.id == session_id,
                                   AuthSession.ended_at.is_(None))).first()
            if row is None:
                return None
            sess, account = row
            return SessionInfo(id=sess.id, account=_info(account, self._keys), stage=sess.stage,
                               method=sess.method,
                               acting_for_patient_id=sess.acting_for_patient_id,
                               csrf_token=sess.csrf_token, created_at=sess.created_at,
                               last_seen_at=sess.last_seen_at, expires_at=sess.expires_at)

    def touch_session(self, session_id: str, now: dt.datetime) -> None:
        with self._tx() as s:
            s.execute(update(AuthSession).where(AuthSession.id == session_id)
                      .values(last_seen_at=now))

    def update_session(self, session_id: str, **values: object) -> None:
        allowed = {"stage", "method", "acting_for_patient_id", "expires_at", "last_seen_at"}
        if not set(values) <= allowed:
            raise ValueError(f"cannot change {sorted(set(values) - allowed)} of a session")
        with self._tx() as s:
            s.execute(update(AuthSession).where(AuthSession.id == session_id).values(**values))

    def end_session(self, session_id: str, now: dt.datetime) -> None:
        with self._tx() as s:
            s.execute(update(AuthSession).where(AuthSession.id == session_id,
                                                AuthSession.ended_at.is_(None))
                      .values(ended_at=now))

    def purge_sessions(self, before: dt.datetime) -> int:
        """Delete sessions that expired before ``before`` (housekeeping)."""
        with self._tx() as s:
            result = s.execute(delete(AuthSession).where(AuthSession.expires_at < before))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ login log, rate limit

    def log_login(self, *, now: dt.datetime, login: str, account_id: int | None, method: str,
                  outcome: str, reason: str | None, client: str | None) -> None:
        with self._tx() as s:
            s.add(LoginEvent(at=now, login=login[:64], account_id=account_id, method=method,
                             outcome=outcome, reason=(reason or "")[:200] or None,
                             client=(client or "")[:64] or None))
        login_done(method=method, outcome=outcome, reason=reason)

    def failures_since(self, *, since: dt.datetime, login: str | None = None,
                       client: str | None = None) -> int:
        """Failed attempts since ``since`` for a login name or a client address."""
        with reading(self._sessions) as s:
            query = select(func.count()).select_from(LoginEvent).where(
                LoginEvent.at >= since, LoginEvent.outcome == "failure")
            if login is not None:
                query = query.where(LoginEvent.login == login[:64])
            if client is not None:
                query = query.where(LoginEvent.client == client[:64])
            return int(s.scalar(query) or 0)

    def claim_attempt(self, *, login: str, client: str | None, now: dt.datetime,
                      window: dt.timedelta, delay: Callable[[int], dt.timedelta]
                      ) -> dt.datetime | None:
        """Count one attempt of (``login``, ``client``) *before* it is evaluated.

        Returns None when the attempt may go on, else the time from which the next one may.
        ``delay(n)`` is the wait imposed after the n-th attempt since the last success (or
        since ``window`` of quiet). Atomic: the row is locked (PostgreSQL ``FOR UPDATE``;
        SQLite transactions take the write lock at BEGIN), so of parallel attempts only those
        the schedule allows are evaluated.
        """
        key = {"login": login[:64], "client": (client or "")[:64]}
        insert = postgresql.insert if self._dialect() == "postgresql" else sqlite.insert
        with self._tx() as s:
            s.execute(insert(LoginThrottle).values(
                **key, attempts=0, next_allowed_at=now, updated_at=now
            ).on_conflict_do_nothing(index_elements=["login", "client"]))
            row = s.execute(select(LoginThrottle.attempts, LoginThrottle.next_allowed_at,
                                   LoginThrottle.updated_at)
                            .where(LoginThrottle.login == key["login"],
                                   LoginThrottle.client == key["client"])
                            .with_for_update()).one()
            attempts = 0 if now - row.updated_at > window else row.attempts
            if attempts and now < row.next_allowed_at:
                return row.next_allowed_at
            attempts += 1
            s.execute(update(LoginThrottle).where(
                LoginThrottle.login == key["login"], LoginThrottle.client == key["client"])
                .values(attempts=attempts, next_allowed_at=now + delay(attempts),
                        updated_at=now))
            return None

    def backoff_until(self, *, login: str, client: str | None, now: dt.datetime,
                      window: dt.timedelta) -> dt.datetime | None:
        """When (``login``, ``client``) may try again, if it must wait now (read only)."""
        with reading(self._sessions) as s:
            row = s.execute(select(LoginThrottle.attempts, LoginThrottle.next_allowed_at,
                                   LoginThrottle.updated_at)
                            .where(LoginThrottle.login == login[:64],
                                   LoginThrottle.client == (client or "")[:64])).first()
        if row is None or not row.attempts or now - row.updated_at > window or \
                now >= row.next_allowed_at:
            return None
        return row.next_allowed_at

    def clear_attempts(self, *, login: str, client: str | None, now: dt.datetime) -> None:
        """A complete login: the pair starts again with its free attempts."""
        with self._tx() as s:
            s.execute(update(LoginThrottle).where(
                LoginThrottle.login == login[:64], LoginThrottle.client == (client or "")[:64])
                .values(attempts=0, next_allowed_at=now, updated_at=now))

    def purge_throttle(self, before: dt.datetime) -> int:
        with self._tx() as s:
            result = s.execute(delete(LoginThrottle).where(LoginThrottle.updated_at < before))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def _dialect(self) -> str:
        bind = self._sessions.kw.get("bind")
        return bind.dialect.name if bind is not None else "sqlite"

    def login_history(self, account_id: int, limit: int = 50) -> list[LoginRecord]:
        with reading(self._sessions) as s:
            rows = s.scalars(select(LoginEvent).where(LoginEvent.account_id == account_id)
                             .order_by(LoginEvent.id.desc()).limit(limit))
            return [LoginRecord(r.at, r.login, r.method, r.outcome, r.reason, r.client)
                    for r in rows]

    # ------------------------------------------------------------------ helpers

    def add_helper(self, patient_id: int, helper_account_id: int, now: dt.datetime,
                   delegation: str = "read") -> None:
        """Name a helper, or change the delegation of one already named."""
        with self._tx() as s:
            link = s.scalar(select(HelperLink).where(
                HelperLink.patient_id == patient_id,
                HelperLink.helper_account_id == helper_account_id,
                HelperLink.revoked_at.is_(None)))
            if link is None:
                s.add(HelperLink(patient_id=patient_id, helper_account_id=helper_account_id,
                                 delegation=delegation, created_at=now))
            else:
                link.delegation = delegation

    def revoke_helper(self, patient_id: int, helper_account_id: int, now: dt.datetime) -> None:
        with self._tx() as s:
            s.execute(update(HelperLink).where(
                HelperLink.patient_id == patient_id,
                HelperLink.helper_account_id == helper_account_id,
                HelperLink.revoked_at.is_(None)).values(revoked_at=now))
            # A helper's sessions acting for this patient end with the link.
            s.execute(update(AuthSession).where(
                AuthSession.account_id == helper_account_id,
                AuthSession.acting_for_patient_id == patient_id,
                AuthSession.ended_at.is_(None)).values(ended_at=now))

    def helpers_of(self, patient_id: int) -> list[tuple[int, str, str]]:
        """(account id, login, display name) of the patient's current helpers."""
        with reading(self._sessions) as s:
            rows = s.execute(select(Account.id, Account.login, Account.display_name)
                             .join(HelperLink, HelperLink.helper_account_id == Account.id)
                             .where(HelperLink.patient_id == patient_id,
                                    HelperLink.revoked_at.is_(None))
                             .order_by(HelperLink.id)).all()
            return [(r[0], r[1], r[2]) for r in rows]

    def helped_patients(self, helper_account_id: int) -> list[tuple[int, str]]:
        """(patient id, patient name) of the patients this account may act for."""
        with reading(self._sessions) as s:
            rows = s.execute(select(Patient.id, Patient.given_name, Patient.family_name)
                             .join(HelperLink, HelperLink.patient_id == Patient.id)
                             .where(HelperLink.helper_account_id == helper_account_id,
                                    HelperLink.revoked_at.is_(None))
                             .order_by(Patient.family_name)).all()
            return [(r[0], f"{r[1]} {r[2]}") for r in rows]

    def is_helper(self, patient_id: int, helper_account_id: int) -> bool:
        return self.delegation(patient_id, helper_account_id) is not None

    def delegation(self, patient_id: int, helper_account_id: int) -> str | None:
        """The current delegation of this helper by this patient, or None."""
        with reading(self._sessions) as s:
            return s.scalar(select(HelperLink.delegation).where(
                HelperLink.patient_id == patient_id,
                HelperLink.helper_account_id == helper_account_id,
                HelperLink.revoked_at.is_(None)))

    # ------------------------------------------------------------------ API tokens

    def add_token(self, account_id: int, *, token_hash: str, label: str, now: dt.datetime,
                  expires_at: dt.datetime) -> int:
        with self._tx() as s:
            token = ApiToken(account_id=account_id, token_hash=token_hash, label=label[:100],
                             created_at=now, expires_at=expires_at)
            s.add(token)
            s.flush()
            return token.id

    def by_token(self, token_hash: str, now: dt.datetime) -> AccountInfo | None:
        """The account of a live token; marks it used."""
        with self._tx() as s:
            row = s.execute(select(ApiToken, Account)
                            .join(Account, Account.id == ApiToken.account_id)
                            .where(ApiToken.token_hash == token_hash,
                                   ApiToken.revoked_at.is_(None),
                                   ApiToken.expires_at > now)).first()
            if row is None:
                return None
            token, account = row
            token.last_used_at = now
            return _info(account, self._keys)

    def tokens_of(self, account_id: int) -> list[tuple[int, str, dt.datetime, dt.datetime,
                                                        dt.datetime | None]]:
        """(id, label, created, expires, last used) of the account's live tokens."""
        with reading(self._sessions) as s:
            rows = s.scalars(select(ApiToken).where(ApiToken.account_id == account_id,
                                                    ApiToken.revoked_at.is_(None))
                             .order_by(ApiToken.id))
            return [(t.id, t.label, t.created_at, t.expires_at, t.last_used_at) for t in rows]

    def revoke_token(self, account_id: int, token_id: int, now: dt.datetime) -> bool:
        with self._tx() as s:
            result = s.execute(update(ApiToken).where(
                ApiToken.id == token_id, ApiToken.account_id == account_id,
                ApiToken.revoked_at.is_(None)).values(revoked_at=now))
            return bool(result.rowcount)  # type: ignore[attr-defined]


__all__ = [
    "Account",
    "AccountCertificate",
    "AccountInfo",
    "AccountStore",
    "ApiToken",
    "AuthSession",
    "HelperLink",
    "LoginEvent",
    "LoginRecord",
    "SessionInfo",
    "add_account",
]
