"""TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s), as every authenticator app computes it.

A code is accepted within one step of clock drift either side, and at most once: the accepted
time step is stored and a code of the same or an earlier step is refused (replay).
"""

from __future__ import annotations

import datetime as dt
import hmac

import pyotp

STEP_SECONDS = 30
#: Steps of clock drift tolerated either side.
DRIFT_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, login: str, issuer: str = "DSP Luxembourg") -> str:
    """The ``otpauth://`` URI an authenticator app reads (usually shown as a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=issuer)


def matching_step(secret: str, code: str, now: dt.datetime) -> int | None:
    """The time step ``code`` belongs to (within the drift window), or None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    step = int(now.timestamp()) // STEP_SECONDS
    found = None
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        expected = totp.at(candidate * STEP_SECONDS)
        if hmac.compare_digest(expected, code):  # no early exit: constant work per attempt
            found = candidate
    return found


def code_at(secret: str, when: dt.datetime) -> str:
    """The code an authenticator app shows at ``when`` (tests, and the demo's instructions)."""
    return pyotp.TOTP(secret).at(when)
