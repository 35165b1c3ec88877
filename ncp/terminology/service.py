"""Terminology look-ups: value-set membership, designations by language, transcoding.

:class:`Terminology` is the interface the transcoder and the renderers use; :class:`DbTerminology`
is its implementation over the database loaded by ``ncp terminology load``. It keeps what it read
in memory (value sets are read whole on first use, mappings all at once), because transcoding a
document asks about dozens of codes and must stay within a few milliseconds; call
:meth:`DbTerminology.refresh` after a reload.

Designation fallback order, for a requested language ``fr``: ``fr``, then any ``fr-XX``, then
``en``, then any ``en-XX``, then the MVC display name. Anything but the first two is reported as a
fallback so that a display can mark the missing translation.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from ncp.store import terminology as store


@dataclass(frozen=True)
class Mapping:
    """A transcoding association to the code of ``value_set_oid``."""

    target_system: str
    target_code: str
    target_display: str
    mapping_file: str


@dataclass(frozen=True)
class Designation:
    text: str
    lang: str
    #: True when the text is not in the requested language (a missing translation).
    fallback: bool


class Terminology(Protocol):
    def has_value_set(self, oid: str) -> bool: ...

    def is_member(self, value_set_oid: str, code_system: str, code: str) -> bool: ...

    def display(self, value_set_oid: str, code_system: str, code: str) -> str | None: ...

    def transcode(self, source_system: str, source_code: str,
                  value_set_oid: str) -> Mapping | None: ...

    def reverse(self, target_system: str, target_code: str,
                source_system: str) -> tuple[str, str] | None: ...

    def designation(self, code_system: str, code: str, lang: str) -> Designation | None: ...

    def value_set_version(self, oid: str) -> str | None: ...

    def systems_of(self, value_set_oid: str) -> set[str]: ...

    def national_system(self, value_set_oid: str) -> str | None: ...


class DbTerminology:
    """:class:`Terminology` over the terminology tables of :mod:`ncp.store.terminology`."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self.refresh()

    def refresh(self) -> None:
        with self._lock:
            self._value_sets: dict[str, dict[tuple[str, str], str] | None] = {}
            self._versions: dict[str, str | None] = {}
            self._designations: dict[tuple[str, str], dict[str, str]] = {}
            with self._sessions() as session:
                rows = store.all_mappings(session)
            self._mappings = {(m.source_system, m.source_code, m.value_set_oid):
                              Mapping(m.target_system, m.target_code, m.target_display,
                                      m.mapping_file) for m in rows}
            self._reverse: dict[tuple[str, str, str], tuple[str, str]] = {}
            self._national: dict[str, str] = {}
            for m in rows:
                self._reverse.setdefault((m.target_system, m.target_code, m.source_system),
                                         (m.source_system, m.source_code))
                self._national.setdefault(m.value_set_oid, m.source_system)

    def _members(self, oid: str) -> dict[tuple[str, str], str] | None:
        members = self._value_sets.get(oid, False)
        if members is False:
            with self._sessions() as session:
                info = store.value_set_info(session, oid)
                members = store.value_set_concepts(session, oid) if info else None
                self._versions[oid] = info.version if info else None
            self._value_sets[oid] = members
        return members  # type: ignore[return-value]

    def has_value_set(self, oid: str) -> bool:
        return self._members(oid) is not None

    def value_set_version(self, oid: str) -> str | None:
        self._members(oid)
        return self._versions.get(oid)

    def systems_of(self, value_set_oid: str) -> set[str]:
        """The code systems a value set draws its codes from."""
        return {system for system, _ in (self._members(value_set_oid) or {})}

    def national_system(self, value_set_oid: str) -> str | None:
        """The national code system our mapping files map into ``value_set_oid``, if any."""
        return self._national.get(value_set_oid)

    def is_member(self, value_set_oid: str, code_system: str, code: str) -> bool:
        members = self._members(value_set_oid)
        return members is not None and (code_system, code) in members

    def display(self, value_set_oid: str, code_system: str, code: str) -> str | None:
        members = self._members(value_set_oid) or {}
        return members.get((code_system, code))

    def transcode(self, source_system: str, source_code: str,
                  value_set_oid: str) -> Mapping | None:
        return self._mappings.get((source_system, source_code, value_set_oid))

    def reverse(self, target_system: str, target_code: str,
                source_system: str) -> tuple[str, str] | None:
        """The national code mapped to an MVC code, within one national code system."""
        return self._reverse.get((target_system, target_code, source_system))

    def designations(self, code_system: str, code: str) -> dict[str, str]:
        key = (code_system, code)
        found = self._designations.get(key)
        if found is None:
            with self._sessions() as session:
                found = store.designations_of(session, code_system, code)
                if "en" not in found:
                    display = store.concept_display(session, code_system, code)
                    if display:
                        found = {**found, "mvc": display}
            self._designations[key] = found
        return found

    def designation(self, code_system: str, code: str, lang: str) -> Designation | None:
        """The name of a concept in ``lang``, or the best fallback (see module docstring)."""
        found = self.designations(code_system, code)
        if not found:
            return None
        primary = lang.split("-")[0].lower()
        if primary in found:
            return Designation(found[primary], primary, False)
        for key, text in sorted(found.items()):
            if key.lower().startswith(primary + "-"):
                return Designation(text, key, False)
        if primary != "en":
            if "en" in found:
                return Designation(found["en"], "en", True)
            for key, text in sorted(found.items()):
                if key.lower().startswith("en-"):
                    return Designation(text, key, True)
        if "mvc" in found:
            return Designation(found["mvc"], "en", primary != "en")
        key, text = sorted(found.items())[0]
        return Designation(text, key, True)


_default: DbTerminology | None = None
_default_lock = threading.Lock()


def default_terminology() -> DbTerminology:
    """The process-wide terminology over the configured database (``NCP_DATABASE_URL``)."""
    global _default
    with _default_lock:
        if _default is None:
            from ncp.settings import get_settings
            from ncp.store.db import make_engine, session_factory

            _default = DbTerminology(session_factory(make_engine(get_settings().sqlalchemy_url)))
        return _default
