"""Reading the insurer's feed of referring-doctor declarations (CSV or JSON Lines).

"Le médecin référent fait un résumé patient (au plus tard trois mois après la déclaration
médecin référent)": the declaration is made to the health insurer (CNS), which sends who
declared whom, from when and until when. :mod:`ncp.store.referring` applies it (the
therapeutic relationship of source ``referring-doctor``, the right to write the Patient
Summary, the worklist's due dates); this module only reads and checks, streaming: one
:class:`Declaration` per good line, one :class:`~ncp.registry.insured.BadLine` per bad one, with
the rules of the population feed.

Fields (CSV header or JSON keys), see docs/registry.md:
``matricule, registry_id, start, end``; ``end`` is optional (an open declaration). Dates are
ISO 8601 days in Luxembourg time; ``end`` is the last day of the declaration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ncp.registry.insured import BadLine, rows_of
from ncp.store import matricule as matricule_rules

__all__ = ["FIELDS", "Declaration", "read_declarations"]

FIELDS = ("matricule", "registry_id", "start", "end")
_REQUIRED = FIELDS[:3]


@dataclass(frozen=True, slots=True)
class Declaration:
    """One patient's declaration of their referring doctor, checked."""

    line: int
    matricule: str
    registry_id: str
    start: dt.date
    #: The last day of the declaration (None: open).
    end: dt.date | None = None


def _day(name: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} is not a date (YYYY-MM-DD): {value!r}") from None


def _declaration(line: int, raw: dict[str, object]) -> Declaration:
    unknown = set(raw) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
    v = {k: ("" if x is None else str(x)).strip() for k, x in raw.items()}
    for name in _REQUIRED:
        if not v.get(name):
            raise ValueError(f"{name} is missing")
    if any(ch < " " for x in v.values() for ch in x):
        raise ValueError("control characters in a value")
    if not matricule_rules.is_valid(v["matricule"]):
        raise ValueError(f"invalid matricule {v['matricule']!r}")
    if len(v["registry_id"]) > 32:
        raise ValueError("registry_id is longer than 32 characters")
    start = _day("start", v["start"])
    end = _day("end", v["end"]) if v.get("end") else None
    if end is not None and end < start:
        raise ValueError(f"end {end} is before start {start}")
    return Declaration(line=line, matricule=v["matricule"], registry_id=v["registry_id"].upper(),
                       start=start, end=end)


def read_declarations(path: Path, fmt: str | None = None) -> Iterator[Declaration | BadLine]:
    """Each line of the feed, checked, in file order."""
    for line, raw in rows_of(path, fmt, _REQUIRED):
        if isinstance(raw, str):
            yield BadLine(line, raw)
            continue
        try:
            yield _declaration(line, raw)
        except ValueError as exc:
            yield BadLine(line, str(exc))
