"""Reading the insurer's feed of reimbursed services and examinations (CSV or JSON Lines).

"La CNS y ajoute un résumé de tous les prestations et examens." The health insurer (CNS) sends
the services and examinations it reimbursed, one line per reimbursed act; :mod:`ncp.store.
services` keeps them in each patient's "summary of services" document. This module only reads
and checks, streaming: one :class:`ServiceLine` per good line, one
:class:`~ncp.registry.insured.BadLine` per bad one, with the rules of the population feed.

Fields (CSV header or JSON keys), see docs/registry.md:
``matricule, date, code, label, provider, reference, kind``; all but ``kind`` are required.
``reference`` is the insurer's own identifier of the reimbursed line: a line sent again with
the same reference replaces the earlier one (a correction) or changes nothing (the same feed
applied twice).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ncp.registry.insured import BadLine, rows_of
from ncp.store import matricule as matricule_rules

__all__ = ["FIELDS", "KINDS", "ServiceLine", "read_services"]

FIELDS = ("matricule", "date", "code", "label", "provider", "reference", "kind")
_REQUIRED = FIELDS[:6]
KINDS = ("service", "examination")
_MAX = {"code": 16, "label": 200, "provider": 200, "reference": 40}
#: The insurer's nomenclature codes (e.g. C1, V1, 1G12, E.123-4).
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]*")


@dataclass(frozen=True, slots=True)
class ServiceLine:
    """One reimbursed service or examination, checked."""

    line: int
    matricule: str
    date: dt.date
    code: str
    label: str
    provider: str
    reference: str
    kind: str = "service"


def _line(line: int, raw: dict[str, object], today: dt.date) -> ServiceLine:
    unknown = set(raw) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
    values = {k: ("" if v is None else str(v)).strip() for k, v in raw.items()}
    for name in _REQUIRED:
        if not values.get(name):
            raise ValueError(f"{name} is missing")
    for name, width in _MAX.items():
        if len(values[name]) > width:
            raise ValueError(f"{name} is longer than {width} characters")
    if any(ch < " " or ch == "\x7f" for v in values.values() for ch in v):
        raise ValueError("control characters in a value")
    try:
        number = matricule_rules.validate(values["matricule"])
    except matricule_rules.InvalidMatricule as exc:
        raise ValueError(f"invalid matricule: {exc}") from None
    try:
        day = dt.date.fromisoformat(values["date"])
    except ValueError:
        raise ValueError(f"date is not a date (YYYY-MM-DD): {values['date']!r}") from None
    if day > today + dt.timedelta(days=1):  # a day of slack: Luxembourg is ahead of UTC
        raise ValueError("the date is in the future")
    if day < matricule_rules.birth_date_of(number):
        raise ValueError("the date is before the person's birth")
    if not _CODE.fullmatch(values["code"]):
        raise ValueError(f"code is not a nomenclature code: {values['code']!r}")
    if not _REFERENCE.fullmatch(values["reference"]):
        raise ValueError(f"reference has characters other than letters, digits and ._:/-: "
                         f"{values['reference']!r}")
    kind = values.get("kind") or "service"
    if kind not in KINDS:
        raise ValueError(f"kind is one of {', '.join(KINDS)}")
    return ServiceLine(line=line, matricule=number, date=day, code=values["code"],
                       label=values["label"], provider=values["provider"],
                       reference=values["reference"], kind=kind)


def read_services(path: Path, fmt: str | None = None, *, today: dt.date | None = None
                  ) -> Iterator[ServiceLine | BadLine]:
    """Each line of the feed, checked, in file order."""
    today = today or dt.datetime.now(dt.UTC).date()
    for line, raw in rows_of(path, fmt, _REQUIRED):
        if isinstance(raw, str):
            yield BadLine(line, raw)
            continue
        try:
            yield _line(line, raw, today)
        except ValueError as exc:
            yield BadLine(line, str(exc))
