"""The provisional identifier of a DSP opened at a visit, for a person without a matricule.

"For all other persons a DSP will be created at the occasion of a visit at the doctor's or at
the hospital." Such a person has no national identifier yet, so the DSP gets one of its own, in
its own assigning authority (:data:`ncp.ihe.oids.LU_PROVISIONAL_ID`, never the matricule's
1.3.182.4.4), so that no system can take it for a matricule.

Form: ``P`` followed by ten random digits and two check digits over those ten (the Luhn digit,
then the Verhoeff digit, as the matricule has), 13 characters in all. Why this form:

- it fits where a matricule is kept (13 characters) and can never be one (a letter);
- the digits are random (:mod:`secrets`), not a counter: an identifier says nothing about how
  many were issued and the next one cannot be guessed;
- the two check digits catch a mistyped digit or two swapped ones when the person's
  identifier is copied by hand into the professional's software;
- an identifier is never issued twice, merged or not (``patient_merges`` keeps the retired ones).
"""

from __future__ import annotations

import re
import secrets

from ncp.store.matricule import luhn_digit, verhoeff_digit

__all__ = ["InvalidProvisionalId", "is_provisional", "new_provisional_id", "validate"]

_FORM = re.compile(r"P[0-9]{12}")


class InvalidProvisionalId(ValueError):
    """Not a provisional identifier; the message says which rule failed."""


def _with_checks(digits: str) -> str:
    return f"P{digits}{luhn_digit(digits)}{verhoeff_digit(digits)}"


def new_provisional_id() -> str:
    """A fresh random provisional identifier (the caller checks it is not taken)."""
    return _with_checks(f"{secrets.randbelow(10**10):010d}")


def validate(value: str) -> str:
    """The identifier (upper-cased) if valid, else :class:`InvalidProvisionalId`."""
    value = value.strip().upper()
    if not value.isascii() or not _FORM.fullmatch(value):
        raise InvalidProvisionalId("a provisional identifier is P followed by 12 digits")
    if _with_checks(value[1:11]) != value:
        raise InvalidProvisionalId("the check digits of the provisional identifier do not match")
    return value


def is_provisional(value: str) -> bool:
    try:
        validate(value)
    except InvalidProvisionalId:
        return False
    return True
