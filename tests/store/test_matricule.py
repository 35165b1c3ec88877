import datetime as dt

import pytest

from ncp.store import matricule


def test_known_valid_matricule() -> None:
    assert matricule.is_valid("1893120105732")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("189312010573", "13 digits"),
        ("18931201057321", "13 digits"),
        ("18931201057a2", "13 digits"),
        ("1893130105732", "birth date"),  # month 13
        ("1893120105742", "Luhn"),
        ("1893120105733", "Verhoeff"),
    ],
)
def test_invalid_matricules_say_why(value: str, reason: str) -> None:
    with pytest.raises(matricule.InvalidMatricule, match=reason):
        matricule.validate(value)


def test_made_matricules_are_valid_and_carry_the_birth_date() -> None:
    for serial in (0, 1, 57, 999):
        value = matricule.make(dt.date(1984, 2, 29), serial)
        assert matricule.is_valid(value)
        assert matricule.birth_date_of(value) == dt.date(1984, 2, 29)


def test_single_digit_errors_are_detected() -> None:
    good = matricule.make(dt.date(1975, 6, 30), 123)
    for i in range(13):
        for d in "0123456789":
            if d == good[i]:
                continue
            bad = good[:i] + d + good[i + 1:]
            assert not matricule.is_valid(bad), bad
