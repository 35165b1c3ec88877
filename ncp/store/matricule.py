"""The Luxembourg national identifier (matricule): 13 digits, YYYYMMDD + 3-digit serial + 2 checks.

The 12th digit is a Luhn check digit over the first eleven, the 13th a Verhoeff check digit over
the same eleven (CCSS/CNS rules). Both are validated, and the birth date must be a real date.
"""

from __future__ import annotations

import datetime as dt

_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_VERHOEFF_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


class InvalidMatricule(ValueError):
    """The value is not a valid Luxembourg matricule; the message says which rule failed."""


def luhn_digit(digits: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def verhoeff_digit(digits: str) -> int:
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _VERHOEFF_D[c][_VERHOEFF_P[(i + 1) % 8][int(ch)]]
    return _VERHOEFF_INV[c]


def birth_date_of(matricule: str) -> dt.date:
    return dt.date(int(matricule[0:4]), int(matricule[4:6]), int(matricule[6:8]))


def validate(value: str) -> str:
    """Return the matricule if valid, else raise :class:`InvalidMatricule` saying why."""
    if len(value) != 13 or not value.isascii() or not value.isdigit():
        raise InvalidMatricule("a matricule has exactly 13 digits")
    try:
        birth_date_of(value)
    except ValueError:
        raise InvalidMatricule("the first eight digits are not a birth date (YYYYMMDD)") from None
    base = value[:11]
    if int(value[11]) != luhn_digit(base):
        raise InvalidMatricule("the Luhn check digit (12th) does not match")
    if int(value[12]) != verhoeff_digit(base):
        raise InvalidMatricule("the Verhoeff check digit (13th) does not match")
    return value


def is_valid(value: str) -> bool:
    try:
        validate(value)
    except InvalidMatricule:
        return False
    return True


def make(birth_date: dt.date, serial: int) -> str:
    """Build a valid matricule for a birth date and a serial (0-999): demo data and tests."""
    if not 0 <= serial <= 999:
        raise ValueError("serial must be 0..999")
    base = f"{birth_date:%Y%m%d}{serial:03d}"
    return f"{base}{luhn_digit(base)}{verhoeff_digit(base)}"
