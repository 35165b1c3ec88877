"""Password hashing with argon2id, and a constant-cost answer for unknown logins.

Why a dummy hash: answering "unknown login" faster than "wrong password" tells an attacker which
logins exist. Every failed lookup verifies against a hash of the same cost.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: Shortest password accepted when an account is created or a password changed.
MIN_PASSWORD_LENGTH = 10
#: The stored "hash" of an account that has no password (a professional whose national
#: registry lists cards: they log in with a card). No password verifies against it.
NO_PASSWORD = "!no-password"  # noqa: S105 - a marker, not a password


def make_hasher(*, cheap: bool = False) -> PasswordHasher:
    """argon2id with the library's RFC 9106 defaults; ``cheap`` for tests and demo seeding only."""
    if cheap:
        return PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    return PasswordHasher()


class Passwords:
    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or make_hasher()
        self._dummy = self._hasher.hash("not a password of anyone")

    def hash(self, password: str) -> str:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True if ``password`` matches; costs the same when there is no account."""
        usable = stored_hash is not None and not stored_hash.startswith("!")
        try:
            # An account without password costs the same as an unknown login (no oracle).
            return self._hasher.verify(stored_hash if usable else self._dummy, password) and \
                usable
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)
