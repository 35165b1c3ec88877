"""Reading the national registry of health professionals (CSV or JSON Lines).

"Le professionnel de santé en question doit être reconnu dans le registre national des
professionnels de santé": the registry's extract says who practises, as what (profession, ISCO-08
code, specialty) and where (organisation). :mod:`ncp.store.professional_registry` applies it;
this module reads and checks, streamed, one :class:`RegisteredProfessional` or
:class:`~ncp.registry.insured.BadLine` per line.

Fields: ``registry_id, given_name, family_name, profession, isco_code, specialty,
organisation_id, organisation_name, organisation_kind, status`` (``active`` or ``retired``),
``cards`` (the subject serial numbers of the professional's cards, ``;`` between them in CSV, a
list in JSON; absent: the cards are left as they are); the first five are required. See
docs/registry.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ncp.registry.insured import BadLine, rows_of
from ncp.store.vocabulary import Profession

__all__ = ["PROFESSIONAL_FIELDS", "RegisteredProfessional", "read_professionals"]

PROFESSIONAL_FIELDS = ("registry_id", "given_name", "family_name", "profession", "isco_code",
                       "specialty", "organisation_id", "organisation_name", "organisation_kind",
                       "status", "cards")
#: Cards a professional may hold at once (a card and its replacement, a few spares).
MAX_CARDS = 8
_REQUIRED = PROFESSIONAL_FIELDS[:5]
_MAX = {"registry_id": 32, "given_name": 100, "family_name": 100, "specialty": 100,
        "organisation_id": 64, "organisation_name": 200, "organisation_kind": 40}


@dataclass(frozen=True, slots=True)
class RegisteredProfessional:
    line: int
    registry_id: str
    given_name: str
    family_name: str
    profession: str
    isco_code: str
    specialty: str | None = None
    organisation_id: str | None = None
    organisation_name: str | None = None
    organisation_kind: str | None = None
    retired: bool = False
    #: Subject serial numbers of the professional's cards; None: the line says nothing of them.
    cards: tuple[str, ...] | None = None


def _cards(raw: object) -> tuple[str, ...] | None:
    """The ``cards`` value: a list (JSON) or ``;``-separated serials (CSV); None if absent."""
    if raw is None:
        return None
    items = raw if isinstance(raw, list) else str(raw).split(";")
    serials = tuple(dict.fromkeys(str(x).strip() for x in items if str(x).strip()))
    if len(serials) > MAX_CARDS:
        raise ValueError(f"more than {MAX_CARDS} cards")
    for serial in serials:
        if len(serial) > 64 or not all(c.isalnum() or c in "-._/" for c in serial):
            raise ValueError(f"a card serial number is 1-64 letters, digits or - . _ /: "
                             f"{serial!r}")
    return serials


def _professional(line: int, raw: dict[str, object]) -> RegisteredProfessional:
    unknown = set(raw) - set(PROFESSIONAL_FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
    cards = _cards(raw.get("cards"))
    v = {k: ("" if x is None else str(x)).strip() for k, x in raw.items() if k != "cards"}
    for name in _REQUIRED:
        if not v.get(name):
            raise ValueError(f"{name} is missing")
    for name, width in _MAX.items():
        if len(v.get(name) or "") > width:
            raise ValueError(f"{name} is longer than {width} characters")
    if any(ch < " " for x in v.values() for ch in x):
        raise ValueError("control characters in a value")
    try:
        profession = Profession(v["profession"].lower()).value
    except ValueError:
        raise ValueError(f"unknown profession {v['profession']!r}") from None
    if not v["isco_code"].isdigit() or not 1 <= len(v["isco_code"]) <= 4:
        raise ValueError(f"isco_code is not an ISCO-08 code: {v['isco_code']!r}")
    if v.get("organisation_id") and not (v.get("organisation_name")
                                         and v.get("organisation_kind")):
        raise ValueError("an organisation needs its name and kind")
    status = (v.get("status") or "active").lower()
    if status not in ("active", "retired"):
        raise ValueError(f"status is active or retired, not {status!r}")
    return RegisteredProfessional(
        line=line, registry_id=v["registry_id"].upper(), given_name=v["given_name"],
        family_name=v["family_name"], profession=profession, isco_code=v["isco_code"],
        specialty=v.get("specialty") or None, organisation_id=v.get("organisation_id") or None,
        organisation_name=v.get("organisation_name") or None,
        organisation_kind=v.get("organisation_kind") or None, retired=status == "retired",
        cards=cards)


def read_professionals(path: Path, fmt: str | None = None
                       ) -> Iterator[RegisteredProfessional | BadLine]:
    for line, raw in rows_of(path, fmt, _REQUIRED):
        if isinstance(raw, str):
            yield BadLine(line, raw)
            continue
        try:
            yield _professional(line, raw)
        except ValueError as exc:
            yield BadLine(line, str(exc))
