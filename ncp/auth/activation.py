"""Activating a DSP with the code of an activation letter (issue 17 item 2).

The rules, over :mod:`ncp.store.activation` (the letters) and the login throttle of
:mod:`ncp.auth.service`:

* a code is 16 characters of Crockford's base-32 alphabet (80 random bits), printed in four
  groups; case, spaces, dashes and the look-alikes O/I/L are forgiven when it is typed;
* it is good for one matricule, until its date, once; a newer letter replaces it;
* every attempt is counted *before* it is checked, per (matricule, address) and per matricule
  from every address together, with the growing delays of the login throttle: a code cannot be
  guessed in parallel from many addresses, and 80 bits could not be guessed anyway;
* a good code opens a ticket of :data:`TICKET_LIFETIME`; with it the person sets a password
  and proves their authenticator app with a code; then the account (login: the matricule) is
  created, the letter used up and the DSP activated in one transaction.

Until then the person has no account, so nothing of the record is reachable through the
patient's portal; professionals' rules apply to the DSP from the day the register opened it.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from ncp.auth import totp
from ncp.auth.service import Authenticator, AuthError, digest
from ncp.store.activation import ActivationLetters, Recipient, code_hash

#: Crockford's base 32 (no I, L, O, U): what a person reads off paper without confusion.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16
#: How long a letter's code stays good by default (the mail, and a person's holidays).
LETTER_LIFETIME = dt.timedelta(days=90)
#: How long the password and authenticator step may take after a good code.
TICKET_LIFETIME = dt.timedelta(minutes=20)
#: The throttle's address for the count over every address of one matricule.
EVERY_ADDRESS = "*"


def new_code() -> str:
    """A fresh code, ``XXXX-XXXX-XXXX-XXXX``."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def normalise_code(typed: str) -> str | None:
    """The code as stored (16 characters, no dashes), or None when it cannot be one."""
    text = typed.strip().upper().replace("-", "").replace(" ", "")
    text = text.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
    if len(text) != CODE_LENGTH or any(c not in ALPHABET for c in text):
        return None
    return text


def normalise_matricule(typed: str) -> str:
    return typed.strip().replace(" ", "")[:20]


@dataclass(frozen=True, slots=True)
class Letter:
    """A letter to print: who, and the code (only here in clear)."""

    recipient: Recipient
    code: str
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Ticket:
    """A good code's next step: the ticket to carry, and the authenticator secret to enrol."""

    token: str
    totp_secret: str
    recipient: Recipient


class Activation:
    def __init__(self, auth: Authenticator) -> None:
        self.auth = auth
        records = auth.records
        self.letters = ActivationLetters(auth.store._sessions, records.keys, records.clock)

    # ------------------------------------------------------------------ the operator's side

    def issue(self, matricules: list[str] | None = None, *, reissue: bool = False,
              lifetime: dt.timedelta = LETTER_LIFETIME) -> list[Letter]:
        """Letters for every DSP that needs one (or those of ``matricules``); the codes are
        returned once, to be printed, and only their hashes kept."""
        recipients = self.letters.recipients(matricules, reissue=reissue)
        if not recipients:
            return []
        expires_at = self.auth.records.clock() + lifetime
        letters = [Letter(r, new_code(), expires_at) for r in recipients]
        self.letters.issue([(x.recipient.patient_id,
                             code_hash(x.recipient.matricule, normalise_code(x.code) or ""))
                            for x in letters], expires_at)
        return letters

    # ------------------------------------------------------------------ the person's side

    def _claim(self, matricule: str, client: str | None) -> None:
        """Count the attempt before checking it, per address and over every address."""
        for address in (client or "", EVERY_ADDRESS):
            self.auth._check_rate("activate:" + matricule, address, "activation")

    def _refuse(self, matricule: str, client: str | None, reason: str, detail: str
                ) -> AuthError:
        self.auth.store.log_login(now=self.auth.records.clock(), login="activate:" + matricule,
                                  account_id=None, method="activation", outcome="failure",
                                  reason=detail, client=client)
        return AuthError(reason, detail)

    def start(self, matricule: str, code: str, client: str | None = None) -> Ticket:
        """Check a letter's code; raises :class:`AuthError` (``activation-invalid``,
        ``-expired``, ``-used``, ``-replaced``, ``-done`` or ``locked``)."""
        matricule = normalise_matricule(matricule)
        self._claim(matricule, client)
        normal = normalise_code(code)
        found = self.letters.check(matricule, code_hash(matricule, normal)) if normal else None
        status = found.status if found else "invalid"
        if status != "ok" or found is None or found.letter_id is None:
            reason = {"activated": "done"}.get(status, status)
            raise self._refuse(matricule, client, f"activation-{reason}",
                               f"activation code refused: {status}")
        token = secrets.token_urlsafe(32)
        self.letters.open_ticket(found.letter_id, digest(token),
                                 self.auth.records.clock() + TICKET_LIFETIME)
        ticket = self.letters.by_ticket(digest(token))
        assert ticket is not None
        self.auth.store.log_login(now=self.auth.records.clock(), login="activate:" + matricule,
                                  account_id=None, method="activation", outcome="success",
                                  reason="activation code accepted", client=client)
        return Ticket(token, totp.new_secret(), ticket[1])

    def pending(self, token: str) -> Recipient | None:
        found = self.letters.by_ticket(digest(token)) if 0 < len(token) <= 100 else None
        return found[1] if found else None

    def finish(self, token: str, *, password: str, totp_secret: str, code: str,
               client: str | None = None, language: str = "fr") -> int:
        """Set the password and the authenticator; returns the new account's id. Raises
        :class:`AuthError` ``activation-expired`` (start again with the letter),
        ``activation-totp`` (the app's code does not match), ``locked``, or
        :class:`ValueError` for a password too short."""
        found = self.letters.by_ticket(digest(token)) if 0 < len(token) <= 100 else None
        if found is None:
            raise AuthError("activation-expired", "the activation step has expired")
        # Not counted in the throttle: the ticket is 256 random bits and whoever holds it had
        # the letter's code; the app's code only proves the person enrolled the key shown.
        letter_id, person = found
        now = self.auth.records.clock()
        step = totp.matching_step(totp_secret, code, now) if _base32(totp_secret) else None
        if step is None:
            raise self._refuse(person.matricule, client, "activation-totp",
                               "activation: wrong authenticator code")
        password_hash = self.auth.passwords.hash(password)  # ValueError when too short
        account_id = self.letters.complete(
            letter_id, login=person.matricule.lower(),
            display_name=f"{person.given_name} {person.family_name}",
            password_hash=password_hash, totp_secret=totp_secret, totp_step=step,
            language=language if language in ("fr", "de", "en") else person.language)
        if account_id is None:
            raise AuthError("activation-expired", "the letter changed during the activation")
        for address in (client or "", EVERY_ADDRESS):
            self.auth.store.clear_attempts(login="activate:" + person.matricule,
                                           client=address, now=now)
        self.auth.store.log_login(now=now, login=person.matricule, account_id=account_id,
                                  method="activation", outcome="success",
                                  reason="DSP activated, account created", client=client)
        return account_id


def _base32(secret: str) -> bool:
    return 16 <= len(secret) <= 64 and all(c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
                                           for c in secret)
