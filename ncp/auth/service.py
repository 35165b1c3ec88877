"""Strong authentication of patients, helpers and professionals, and who they act as.

Two ways in:

* password (argon2id) then a TOTP code: the password opens a short "second factor" session
  that only the TOTP page accepts; the code turns it into a full session;
* for professionals, the national professional card: a TLS client certificate whose
  fingerprint, or issuer and subject serial, is registered to the account, and which the
  :class:`~ncp.auth.certificates.CardVerifier` accepts (a card-issuer anchor of our country, not
  revoked on a fresh CRL). Without a verifier no card logs in (fail closed).

Sessions live in the database (several processes share them), expire after a period of
inactivity and after an absolute lifetime, and are identified by the SHA-256 of a random
token, so a copy of the table cannot be replayed. Every attempt is counted in the database per
(login name, client address) *before* it is evaluated; past a few, each waits twice as long as
the last (never a hard lock). Every attempt, good or bad, is written to the login log.

What a logged-in person may do to a record is not decided here: :class:`Principal` carries the
:class:`~ncp.store.policy.Actor` the record service hands to the one access policy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from ncp.auth import totp
from ncp.auth.certificates import CardRefused, CardVerifier, ca_identity, identify
from ncp.auth.passwords import Passwords
from ncp.store.accounts import AccountInfo, AccountStore, SessionInfo
from ncp.store.activation import is_activated
from ncp.store.dsp import Records
from ncp.store.errors import AccessDenied
from ncp.store.policy import DELEGATIONS, Actor
from ncp.store.record_service import utcnow

SECOND_FACTOR = "second-factor"
FULL = "full"
KINDS = ("patient", "professional", "helper")


class AuthError(Exception):
    """A refused authentication. ``reason`` is a stable key the faces translate."""

    def __init__(self, reason: str, detail: str = "", *,
                 retry_after: dt.timedelta | None = None) -> None:
        super().__init__(detail or reason)
        self.reason = reason
        #: For ``locked``: how long until the next attempt is evaluated.
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    """The knobs of authentication, with their secure defaults."""

    idle_timeout: dt.timedelta = dt.timedelta(minutes=15)
    absolute_lifetime: dt.timedelta = dt.timedelta(hours=8)
    second_factor_window: dt.timedelta = dt.timedelta(minutes=5)
    #: Quiet time after which a (login, address) pair's count starts again.
    failure_window: dt.timedelta = dt.timedelta(minutes=15)
    #: Attempts of one (login, address) evaluated without delay, counted from the last
    #: complete login (a password and its TOTP code are two).
    free_attempts: int = 5
    #: Then each attempt waits twice as long as the one before, from this, up to the cap.
    first_delay: dt.timedelta = dt.timedelta(seconds=1)
    max_delay: dt.timedelta = dt.timedelta(minutes=15)

    def delay_after(self, attempts: int) -> dt.timedelta:
        """The wait imposed after the ``attempts``-th attempt since the last success."""
        extra = attempts - self.free_attempts
        if extra < 0:
            return dt.timedelta(0)
        return min(self.first_delay * (2 ** min(extra, 30)), self.max_delay)

    token_lifetime: dt.timedelta = dt.timedelta(days=90)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is logged in, and as whom they act on records."""

    account: AccountInfo
    actor: Actor
    method: str
    csrf_token: str = ""
    session_id: str | None = None

    @property
    def kind(self) -> str:
        return self.account.kind

    @property
    def patient_id(self) -> int | None:
        """The patient whose record this person manages (their own, or the one they help)."""
        return self.actor.patient_id or None

    @property
    def acting_as_helper(self) -> bool:
        return self.actor.kind.value == "helper"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Authenticator:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        records: Records,
        *,
        policy: AuthPolicy | None = None,
        passwords: Passwords | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        cards: CardVerifier | None = None,
    ) -> None:
        self.store = AccountStore(sessions, records.keys)
        self.cards = cards
        self.records = records
        self.policy = policy or AuthPolicy()
        self.passwords = passwords or Passwords()
        self._clock = clock

    # ------------------------------------------------------------------ accounts

    def create_account(self, *, login: str, password: str, kind: str, display_name: str,
                       totp_secret: str | None = None, patient_id: int | None = None,
                       professional_id: int | None = None, language: str = "fr") -> int:
        """Enrol a login. A patient account belongs to one DSP, a professional one to one
        registered professional; a helper account to neither."""
        login = login.strip().lower()
        if kind not in KINDS:
            raise ValueError(f"unknown account kind {kind!r}")
        if not (3 <= len(login) <= 64) or not all(c.isalnum() or c in "._-@" for c in login):
            raise ValueError("a login is 3-64 letters, digits or . _ - @")
        if (kind == "patient") != (patient_id is not None) or \
                (kind == "professional") != (professional_id is not None):
            raise ValueError("a patient account needs a patient, a professional one a "
                             "professional, a helper one neither")
        return self.store.create(
            login=login, kind=kind, display_name=display_name,
            password_hash=self.passwords.hash(password), totp_secret=totp_secret or
            totp.new_secret(), now=self._clock(), patient_id=patient_id,
            professional_id=professional_id, language=language)

    def register_certificate(self, account_id: int, pem: str | None = None, *,
                             issuer_ca: str | None = None,
                             subject_serial: str | None = None) -> None:
        """Register a card: a whole certificate (by fingerprint), or the issuing CA's
        certificate (PEM) and a subject serial number (any card of that CA with that serial,
        so that a renewed card keeps working)."""
        account = self.store.by_id(account_id)
        if account is None or account.kind != "professional":
            raise ValueError("only professional accounts log in with a card")
        fingerprint = identify(pem).fingerprint if pem else None
        issuer = ca_identity(issuer_ca) if issuer_ca else None
        self.store.add_certificate(account_id, fingerprint=fingerprint, issuer=issuer,
                                   subject_serial=subject_serial, now=self._clock())

    # ------------------------------------------------------------------ logging in

    def _check_rate(self, login: str, client: str | None, method: str) -> None:
        """Claim one attempt of (``login``, ``client``) before anything is verified.

        Why per pair and a growing delay, not a lock: a lock per login lets anyone lock anyone
        out, and one per address locks a whole hospital behind its NAT. Why claim first: a
        check that counts past failures lets every parallel attempt through before the first
        failure is written (60 parallel guesses got 19 evaluations with a limit of 5).
        """
        now = self._clock()
        wait_until = self.store.claim_attempt(login=login, client=client, now=now,
                                              window=self.policy.failure_window,
                                              delay=self.policy.delay_after)
        if wait_until is not None:
            raise self._locked(login, client, method, now, wait_until)

    def _locked(self, login: str, client: str | None, method: str, now: dt.datetime,
                wait_until: dt.datetime) -> AuthError:
        """Log a refusal by back-off and give the error to raise (with its Retry-After)."""
        self.store.log_login(now=now, login=login, account_id=None, method=method,
                             outcome="locked", reason="too many attempts: back-off",
                             client=client)
        return AuthError("locked", "too many attempts; wait and try again",
                         retry_after=wait_until - now)

    def _succeeded(self, login: str, client: str | None) -> None:
        self.store.clear_attempts(login=login, client=client, now=self._clock())

    def _check_backoff(self, login: str, client: str | None, method: str) -> None:
        """The read-only check of the API's per-request credentials (tokens, cards).

        Why not claim first as for passwords: a token has 256 random bits and a card is
        verified by TLS, so there is nothing to guess in parallel; a claim would cost every API
        request two writes. Only failures are counted (:meth:`_fail_backoff`).
        """
        now = self._clock()
        wait_until = self.store.backoff_until(login=login, client=client, now=now,
                                              window=self.policy.failure_window)
        if wait_until is not None:
            raise self._locked(login, client, method, now, wait_until)

    def _fail_backoff(self, login: str, account: AccountInfo | None, method: str, reason: str,
                      client: str | None) -> AuthError:
        self.store.claim_attempt(login=login, client=client, now=self._clock(),
                                 window=self.policy.failure_window,
                                 delay=self.policy.delay_after)
        return self._fail(login, account, method, reason, client)

    def _fail(self, login: str, account: AccountInfo | None, method: str, reason: str,
              client: str | None) -> AuthError:
        self.store.log_login(now=self._clock(), login=login,
                             account_id=account.id if account else None, method=method,
                             outcome="failure", reason=reason, client=client)
        return AuthError("invalid", reason)

    def start_password(self, login: str, password: str, client: str | None = None) -> str:
        """Check the password; returns the token of a session awaiting the TOTP code."""
        login = login.strip().lower()[:64]
        self._check_rate(login, client, "password")
        account = self.store.by_login(login) if login else None
        ok = self.passwords.verify(account.password_hash if account else None, password)
        if account is None or not ok:
            raise self._fail(login, account, "password", "wrong login or password", client)
        if account.disabled:
            raise self._fail(login, account, "password", "account disabled", client)
        if account.kind == "patient" and account.patient_id is not None and \
                not is_activated(self.store._sessions, account.patient_id):
            # Told only after the right password: no oracle of which DSPs are activated.
            self._fail(login, account, "password", "DSP not activated", client)
            raise AuthError("not-activated", "activate the DSP with the letter's code first")
        if self.passwords.needs_rehash(account.password_hash):
            self.store.set_password_hash(account.id, self.passwords.hash(password))
        now = self._clock()
        token = secrets.token_urlsafe(32)
        self.store.open_session(session_id=digest(token), account_id=account.id,
                                stage=SECOND_FACTOR, method="password",
                                csrf_token=secrets.token_urlsafe(24), now=now,
                                expires_at=now + self.policy.second_factor_window)
        self.store.log_login(now=now, login=login, account_id=account.id, method="password",
                             outcome="success", reason="password accepted, awaiting TOTP",
                             client=client)
        return token

    def pending(self, token: str | None) -> SessionInfo | None:
        """The session awaiting its second factor, if ``token`` names a live one."""
        if not token:
            return None
        info = self.store.session(digest(token))
        if info is None or info.stage != SECOND_FACTOR or info.expires_at <= self._clock():
            return None
        return info

    def finish_totp(self, token: str | None, code: str, client: str | None = None) -> Principal:
        """Complete a password login with the TOTP code; the same token becomes a full session.

        Why keep the token: the browser already holds it in a cookie; a fresh one would be safer
        against session fixation, but the token was minted by us after a good password, never
        chosen by the client, so it cannot be fixed by an attacker.
        """
        info = self.pending(token)
        if info is None or token is None:
            raise AuthError("expired", "the login has expired; start again")
        account = info.account
        self._check_rate(account.login, client, "totp")
        now = self._clock()
        step = totp.matching_step(account.totp_secret, code, now)
        if step is None:
            raise self._fail(account.login, account, "totp", "wrong TOTP code", client)
        if not self.store.claim_totp_step(account.id, step):
            raise self._fail(account.login, account, "totp", "TOTP code already used", client)
        acting_for = account.patient_id
        if account.kind == "helper":
            helped = self.store.helped_patients(account.id)
            acting_for = helped[0][0] if len(helped) == 1 else None
        self.store.update_session(info.id, stage=FULL, method="password+totp",
                                  expires_at=now + self.policy.absolute_lifetime,
                                  last_seen_at=now, acting_for_patient_id=acting_for)
        self.store.log_login(now=now, login=account.login, account_id=account.id,
                             method="totp", outcome="success", reason="logged in", client=client)
        self._succeeded(account.login, client)
        self.store.purge_sessions(now - dt.timedelta(days=1))  # housekeeping, indexed
        principal = self.principal(token)
        assert principal is not None
        return principal

    def login_certificate(self, pem: str | None, client: str | None = None) -> str:
        """Open a full session for the professional whose card the TLS layer verified."""
        account = self._card_account(pem, client, "certificate")
        now = self._clock()
        token = secrets.token_urlsafe(32)
        self.store.open_session(session_id=digest(token), account_id=account.id, stage=FULL,
                                method="certificate", csrf_token=secrets.token_urlsafe(24),
                                now=now, expires_at=now + self.policy.absolute_lifetime)
        self.store.log_login(now=now, login=account.login, account_id=account.id,
                             method="certificate", outcome="success", reason="logged in",
                             client=client)
        self.store.purge_sessions(now - dt.timedelta(days=1))
        return token

    def _card_account(self, pem: str | None, client: str | None, method: str) -> AccountInfo:
        if not pem:
            raise AuthError("no-certificate", "no client certificate was presented")
        card = identify(pem)
        label = (card.subject_serial or card.fingerprint)[:64]
        self._check_backoff(label, client, method)
        if self.cards is None:
            raise self._fail_backoff(label, None, method, "no card trust configured", client)
        try:
            self.cards.check(pem, self._clock())
        except CardRefused as exc:
            raise self._fail_backoff(label, None, method,
                                     f"card refused ({exc.reason}): {exc}", client) from None
        account = self.store.by_certificate(fingerprint=card.fingerprint, issuer=card.issuer,
                                            subject_serial=card.subject_serial)
        if account is None or account.kind != "professional":
            raise self._fail_backoff(label, None, method,
                                     f"unregistered certificate {card.subject}", client)
        if account.disabled:
            raise self._fail_backoff(label, account, method, "account disabled", client)
        return account

    # ------------------------------------------------------------------ sessions

    def principal(self, token: str | None) -> Principal | None:
        """The person behind a session cookie, or None when it is unknown, ended or expired."""
        if not token or len(token) > 100:
            return None
        info = self.store.session(digest(token))
        now = self._clock()
        if info is None or info.stage != FULL:
            return None
        if info.expires_at <= now or now - info.last_seen_at > self.policy.idle_timeout:
            self.store.end_session(info.id, now)
            return None
        if info.account.disabled:
            return None
        if now - info.last_seen_at > dt.timedelta(seconds=30):  # one write per half minute
            self.store.touch_session(info.id, now)
        actor = self._actor(info.account, info.acting_for_patient_id)
        if actor is None:
            return None
        return Principal(info.account, actor, info.method, info.csrf_token, info.id)

    def _actor(self, account: AccountInfo, acting_for: int | None) -> Actor | None:
        if account.kind == "professional":
            assert account.professional_id is not None
            try:
                return self.records.professional_actor(account.professional_id)
            except AccessDenied:  # retired from the national registry: no session acts
                return None
        if acting_for is not None and acting_for != account.patient_id:
            delegation = self.store.delegation(acting_for, account.id)
            if delegation is None:
                return None
            return Actor.helper(acting_for, account.display_name, delegation)
        if account.patient_id is not None:
            return Actor.patient(account.patient_id, account.display_name)
        # A helper who has not chosen whom to help yet: acts for nobody.
        return Actor.helper(0, account.display_name)

    def act_for(self, principal: Principal, patient_id: int | None) -> None:
        """Switch a helper's session to a patient who named them (None: back to oneself)."""
        if principal.session_id is None:
            raise AuthError("forbidden", "no session")
        if patient_id is not None and patient_id != principal.account.patient_id and \
                not self.store.is_helper(patient_id, principal.account.id):
            raise AuthError("forbidden", "this patient has not named you as their assistant")
        self.store.update_session(principal.session_id, acting_for_patient_id=patient_id)

    def logout(self, token: str | None) -> None:
        if token:
            self.store.end_session(digest(token), self._clock())

    @staticmethod
    def csrf_ok(principal: Principal, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(principal.csrf_token, presented or "")

    # ------------------------------------------------------------------ helpers

    def name_helper(self, principal: Principal, helper_login: str,
                    delegation: str = "read") -> AccountInfo:
        """The patient names an existing account as their DSP assistant (logged on the record),
        with a scoped delegation: ``read`` (the default), ``manage`` or ``legal`` (a legal
        representative, who may also consent and close the DSP)."""
        if principal.actor.kind.value != "patient" or principal.patient_id is None:
            raise AuthError("forbidden", "only the patient names their assistants")
        if delegation not in DELEGATIONS:
            raise AuthError("forbidden", f"unknown delegation {delegation!r}")
        helper = self.store.by_login(helper_login.strip().lower())
        if helper is None or helper.kind == "professional" or helper.id == principal.account.id:
            raise AuthError("unknown-helper", "no such person to name as assistant")
        self.records.note_policy_change(principal.actor, principal.patient_id,
                                        f"assistant named ({delegation}): {helper.display_name}")
        self.store.add_helper(principal.patient_id, helper.id, self._clock(), delegation)
        return helper

    def revoke_helper(self, principal: Principal, helper_account_id: int) -> None:
        if principal.actor.kind.value != "patient" or principal.patient_id is None:
            raise AuthError("forbidden", "only the patient revokes their assistants")
        helper = self.store.by_id(helper_account_id)
        name = helper.display_name if helper else str(helper_account_id)
        self.records.note_policy_change(principal.actor, principal.patient_id,
                                        f"assistant revoked: {name}")
        self.store.revoke_helper(principal.patient_id, helper_account_id, self._clock())

    # ------------------------------------------------------------------ API

    def issue_token(self, account_id: int, label: str) -> str:
        """A bearer token for professional software; shown once, only its hash is kept."""
        account = self.store.by_id(account_id)
        if account is None or account.kind != "professional":
            raise ValueError("API tokens are for professional accounts")
        token = "ncp_" + secrets.token_urlsafe(32)
        now = self._clock()
        self.store.add_token(account_id, token_hash=digest(token), label=label.strip() or "api",
                             now=now, expires_at=now + self.policy.token_lifetime)
        return token

    def api_principal(self, *, bearer: str | None, pem: str | None,
                      client: str | None = None) -> Principal:
        """The professional behind an API call: a bearer token, else the TLS client card."""
        if bearer:
            label = "token:" + (client or "?")
            self._check_backoff(label, client, "token")
            account = self.store.by_token(digest(bearer), self._clock()) \
                if len(bearer) <= 100 else None
            if account is None or account.disabled or account.kind != "professional":
                raise self._fail_backoff(label, None, "token",
                                         "unknown, expired or revoked token", client)
            method = "token"
        else:
            account = self._card_account(pem, client, "certificate")
            method = "certificate"
        actor = self._actor(account, None)
        if actor is None:  # a professional retired from the national registry
            raise self._fail(account.login, account, method,
                             "the professional is no longer in the national registry", client)
        return Principal(account, actor, method)
