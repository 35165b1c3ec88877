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

__all__ = ["PROFESSIONAL_FIELDS", "PlaceOfPractice", "RegisteredProfessional",
           "read_professionals"]

PROFESSIONAL_FIELDS = ("registry_id", "given_name", "family_name", "profession", "isco_code",
                       "specialty", "organisation_id", "organisation_name", "organisation_kind",
                       "status", "cards", "organisations")
#: Cards a professional may hold at once (a card and its replacement, a few spares).
MAX_CARDS = 8
#: Places of practice of one professional.
MAX_PLACES = 10
_REQUIRED = PROFESSIONAL_FIELDS[:5]
_MAX = {"registry_id": 32, "given_name": 100, "family_name": 100, "specialty": 100}


@dataclass(frozen=True, slots=True)
class PlaceOfPractice:
    identifier: str
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class RegisteredProfessional:
    line: int
    registry_id: str
    given_name: str
    family_name: str
    profession: str
    isco_code: str
    specialty: str | None = None
    #: Every place of practice, the main one first.
    organisations: tuple[PlaceOfPractice, ...] = ()
    retired: bool = False
    #: Subject serial numbers of the professional's cards; None: the line says nothing of them.
    cards: tuple[str, ...] | None = None

    @property
    def organisation_id(self) -> str | None:
        return self.organisations[0].identifier if self.organisations else None

    @property
    def organisation_name(self) -> str | None:
        return self.organisations[0].name if self.organisations else None

    @property
    def organisation_kind(self) -> str | None:
        return self.organisations[0].kind if self.organisations else None


def _places(raw: dict[str, object], v: dict[str, str]) -> tuple[PlaceOfPractice, ...]:
    """The places of practice: a JSON list ``organisations`` of {id, name, kind}, or the
    ``organisation_*`` fields, ``;`` between places (CSV), aligned."""
    listed = raw.get("organisations")
    if listed is not None:
        if v.get("organisation_id"):
            raise ValueError("organisations and organisation_id together")
        if not isinstance(listed, list) or not all(isinstance(x, dict) for x in listed):
            raise ValueError("organisations is a list of {id, name, kind}")
        triples = [(str(x.get("id") or "").strip(), str(x.get("name") or "").strip(),
                    str(x.get("kind") or "").strip()) for x in listed]
    elif v.get("organisation_id"):
        columns = [(v.get(f"organisation_{n}") or "").split(";") for n in ("id", "name", "kind")]
        if len({len(c) for c in columns}) != 1:
            raise ValueError("organisation_id, organisation_name and organisation_kind do not "
                             "list the same number of places")
        triples = [tuple(x.strip() for x in t) for t in zip(*columns, strict=True)]  # type: ignore[misc]
    else:
        return ()
    if len(triples) > MAX_PLACES:
        raise ValueError(f"more than {MAX_PLACES} organisations")
    places = []
    for identifier, name, kind in triples:
        if not (identifier and name and kind):
            raise ValueError("an organisation needs its id, name and kind")
        if any(ch < " " for ch in identifier + name + kind):
            raise ValueError("control characters in an organisation")
        if len(identifier) > 64 or len(name) > 200 or len(kind) > 40:
            raise ValueError("an organisation's id, name or kind is too long (64/200/40)")
        places.append(PlaceOfPractice(identifier, name, kind))
    if len({p.identifier for p in places}) != len(places):
        raise ValueError("an organisation is listed twice")
    return tuple(places)


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
    v = {k: ("" if x is None else str(x)).strip() for k, x in raw.items()
         if k not in ("cards", "organisations")}
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
    places = _places(raw, v)
    status = (v.get("status") or "active").lower()
    if status not in ("active", "retired"):
        raise ValueError(f"status is active or retired, not {status!r}")
    return RegisteredProfessional(
        line=line, registry_id=v["registry_id"].upper(), given_name=v["given_name"],
        family_name=v["family_name"], profession=profession, isco_code=v["isco_code"],
        specialty=v.get("specialty") or None, organisations=places,
        retired=status == "retired", cards=cards)


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
