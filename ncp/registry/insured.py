"""Reading the social-security register's extract of insured persons (CSV or JSON Lines).

"A DSP will automatically be opened for each person who has a Luxembourg social security
number": the register sends an extract (full or incremental) and :mod:`ncp.store.population`
applies it. This module only reads and checks: one :class:`InsuredPerson` per good line, one
:class:`BadLine` (with its line number and the rule it breaks) per bad one, streamed so that a
file of a million persons is read in constant memory.

Fields (CSV header or JSON keys), see docs/registry.md:
``matricule, given_name, family_name, birth_date, gender, street, postal_code, city, country,
death_date``; the first five are required, dates are ISO 8601 (YYYY-MM-DD), gender is the HL7
administrative gender (M, F, UN).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ncp.store import matricule as matricule_rules
from ncp.store.vocabulary import Gender

__all__ = ["FIELDS", "BadLine", "InsuredPerson", "read_insured", "rows_of"]

FIELDS = ("matricule", "given_name", "family_name", "birth_date", "gender", "street",
          "postal_code", "city", "country", "death_date")
_REQUIRED = FIELDS[:5]
#: Column widths of the patients table: longer values are refused, never truncated.
_MAX = {"given_name": 100, "family_name": 100, "street": 200, "postal_code": 16, "city": 100}


@dataclass(frozen=True, slots=True)
class InsuredPerson:
    """One person of the register, checked."""

    line: int
    matricule: str
    given_name: str
    family_name: str
    birth_date: dt.date
    gender: str
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str = "LU"
    death_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class BadLine:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def _date(value: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what} is not a date (YYYY-MM-DD): {value!r}") from None


def _person(line: int, raw: dict[str, object]) -> InsuredPerson:
    unknown = set(raw) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
    values = {k: ("" if v is None else str(v)).strip() for k, v in raw.items()}
    for name in _REQUIRED:
        if not values.get(name):
            raise ValueError(f"{name} is missing")
    for name, width in _MAX.items():
        if len(values.get(name) or "") > width:
            raise ValueError(f"{name} is longer than {width} characters")
    if any(ch < " " for v in values.values() for ch in v):
        raise ValueError("control characters in a value")
    try:
        number = matricule_rules.validate(values["matricule"])
    except matricule_rules.InvalidMatricule as exc:
        raise ValueError(f"invalid matricule: {exc}") from None
    birth = _date(values["birth_date"], "birth_date")
    if birth != matricule_rules.birth_date_of(number):
        raise ValueError("the birth date does not agree with the matricule")
    try:
        gender = Gender(values["gender"].upper()).value
    except ValueError:
        raise ValueError(f"unknown administrative gender {values['gender']!r}") from None
    death = _date(values["death_date"], "death_date") if values.get("death_date") else None
    if death is not None and death < birth:
        raise ValueError("the date of death is before the birth date")
    country = (values.get("country") or "LU").upper()
    if len(country) != 2 or not country.isalpha():
        raise ValueError(f"country is not an ISO 3166 alpha-2 code: {country!r}")
    return InsuredPerson(line=line, matricule=number, given_name=values["given_name"],
                         family_name=values["family_name"], birth_date=birth, gender=gender,
                         street=values.get("street") or None,
                         postal_code=values.get("postal_code") or None,
                         city=values.get("city") or None, country=country, death_date=death)


def _csv_rows(stream: io.TextIOBase, required: tuple[str, ...]
              ) -> Iterator[tuple[int, dict[str, object] | str]]:
    reader = csv.DictReader(stream, strict=True)
    header = reader.fieldnames or []
    missing = [f for f in required if f not in header]
    if missing:
        yield 1, f"the header lacks {', '.join(missing)}"
        return
    try:
        for row in reader:
            if None in row:  # more values than header columns
                yield reader.line_num, "more values than the header has columns"
            else:
                yield reader.line_num, dict(row)
    except csv.Error as exc:
        yield reader.line_num, f"not CSV: {exc}"


def _jsonl_rows(stream: io.TextIOBase) -> Iterator[tuple[int, dict[str, object] | str]]:
    for number, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            yield number, f"not JSON: {exc.msg}"
            continue
        yield number, value if isinstance(value, dict) else "not a JSON object"


def rows_of(path: Path, fmt: str | None, required: tuple[str, ...]
            ) -> Iterator[tuple[int, dict[str, object] | str]]:
    """(line number, raw row or the reason it is unreadable) of a CSV or JSON Lines file
    (``fmt``: ``csv`` or ``jsonl``; default from the file name)."""
    fmt = fmt or ("jsonl" if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv")
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"unknown format {fmt!r} (csv or jsonl)")
    with path.open(encoding="utf-8", newline="") as stream:
        yield from _csv_rows(stream, required) if fmt == "csv" else _jsonl_rows(stream)


def read_insured(path: Path, fmt: str | None = None) -> Iterator[InsuredPerson | BadLine]:
    """Each line of the extract, checked, in file order."""
    for line, raw in rows_of(path, fmt, _REQUIRED):
        if isinstance(raw, str):
            yield BadLine(line, raw)
            continue
        try:
            yield _person(line, raw)
        except ValueError as exc:
            yield BadLine(line, str(exc))
