"""Terminology tables and their queries: value sets (MVC), designations, national mappings.

The only SQL of the terminology service lives here (ncp/store speaks SQL, nobody else). Loading
replaces whole value sets and whole mapping files, so ``ncp terminology load`` can run again after
a catalogue update without leaving stale concepts behind. Writers take a session and do not
commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, delete, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ncp.store.models import Base, UtcDateTime


class TermValueSet(Base):
    """A value set of the Master Value Set Catalogue (or of the eHDSI schematron release)."""

    __tablename__ = "term_value_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    oid: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(40))
    #: Where it was loaded from: ``mvc-fsh``, ``artdecor-voc``, ``epsos-repository``.
    source: Mapped[str] = mapped_column(String(40))


class TermConcept(Base):
    """Membership of one code in one value set, with its English display name."""

    __tablename__ = "term_concepts"
    __table_args__ = (
        UniqueConstraint("value_set_id", "code_system", "code",
                         name="uq_term_concepts_member"),
        Index("ix_term_concepts_system_code", "code_system", "code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value_set_id: Mapped[int] = mapped_column(
        ForeignKey("term_value_sets.id", ondelete="CASCADE"), index=True)
    code_system: Mapped[str] = mapped_column(String(128))
    code: Mapped[str] = mapped_column(String(128))
    display: Mapped[str] = mapped_column(String(500))


class TermDesignation(Base):
    """The name of a concept in one language (``en``, ``fr``, ``de``, ``en-GB``...)."""

    __tablename__ = "term_designations"
    __table_args__ = (
        UniqueConstraint("code_system", "code", "lang", name="uq_term_designations_concept_lang"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_system: Mapped[str] = mapped_column(String(128))
    code: Mapped[str] = mapped_column(String(128))
    lang: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(500))
    #: ``ncp-reviewed`` for our French/German files, ``epsos-repository`` for exported ones.
    source: Mapped[str] = mapped_column(String(40))


class TermMapping(Base):
    """A transcoding association: a Luxembourg code to the MVC code of a target value set."""

    __tablename__ = "term_mappings"
    __table_args__ = (
        UniqueConstraint("source_system", "source_code", "value_set_oid",
                         name="uq_term_mappings_source_target"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_system: Mapped[str] = mapped_column(String(128))
    source_code: Mapped[str] = mapped_column(String(128))
    value_set_oid: Mapped[str] = mapped_column(String(128))
    target_system: Mapped[str] = mapped_column(String(128))
    target_code: Mapped[str] = mapped_column(String(128))
    target_display: Mapped[str] = mapped_column(String(500))
    #: The mapping file and its version, e.g. ``lu-routes@2026.1``.
    mapping_file: Mapped[str] = mapped_column(String(120))


# --- rows handed across the store boundary -----------------------------------------------------


@dataclass(frozen=True)
class ValueSetRow:
    oid: str
    name: str
    version: str
    source: str


@dataclass(frozen=True)
class MappingRow:
    source_system: str
    source_code: str
    value_set_oid: str
    target_system: str
    target_code: str
    target_display: str
    mapping_file: str


# --- writers -----------------------------------------------------------------------------------


def replace_value_set(session: Session, value_set: ValueSetRow,
                      concepts: Iterable[tuple[str, str, str]]) -> int:
    """Store ``value_set`` with exactly ``concepts`` ((system, code, display)); returns count."""
    existing = session.scalar(select(TermValueSet).where(TermValueSet.oid == value_set.oid))
    if existing is None:
        existing = TermValueSet(oid=value_set.oid, name=value_set.name,
                                version=value_set.version, source=value_set.source)
        session.add(existing)
        session.flush()
    else:
        existing.name, existing.version, existing.source = (value_set.name, value_set.version,
                                                            value_set.source)
        session.execute(delete(TermConcept).where(TermConcept.value_set_id == existing.id))
    unique: dict[tuple[str, str], str] = {}
    for system, code, display in concepts:
        unique.setdefault((system, code), display)
    rows = [{"value_set_id": existing.id, "code_system": s, "code": c, "display": d[:500]}
            for (s, c), d in unique.items()]
    if rows:
        session.execute(insert(TermConcept), rows)
    return len(rows)


def replace_designations(session: Session, source: str,
                         rows: Iterable[tuple[str, str, str, str]]) -> int:
    """Replace every designation of ``source`` with ``rows`` ((system, code, lang, text))."""
    session.execute(delete(TermDesignation).where(TermDesignation.source == source))
    taken = {
        (s, c, lang) for s, c, lang in session.execute(
            select(TermDesignation.code_system, TermDesignation.code, TermDesignation.lang))
    }
    values = []
    for system, code, lang, text in rows:
        key = (system, code, lang)
        if key in taken:
            continue
        taken.add(key)
        values.append({"code_system": system, "code": code, "lang": lang, "text": text[:500],
                       "source": source})
    if values:
        session.execute(insert(TermDesignation), values)
    return len(values)


def replace_mappings(session: Session, mapping_file_prefix: str, rows: list[MappingRow]) -> int:
    """Replace the mappings of one mapping file (all versions of it) with ``rows``."""
    session.execute(delete(TermMapping).where(
        TermMapping.mapping_file.startswith(mapping_file_prefix + "@")))
    if rows:
        session.execute(insert(TermMapping), [r.__dict__ for r in rows])
    return len(rows)


# --- queries -----------------------------------------------------------------------------------


def value_set_info(session: Session, oid: str) -> ValueSetRow | None:
    row = session.scalar(select(TermValueSet).where(TermValueSet.oid == oid))
    return None if row is None else ValueSetRow(row.oid, row.name, row.version, row.source)


def value_set_concepts(session: Session, oid: str) -> dict[tuple[str, str], str]:
    """Every member of a value set: (system, code) -> English display."""
    stmt = (select(TermConcept.code_system, TermConcept.code, TermConcept.display)
            .join(TermValueSet, TermValueSet.id == TermConcept.value_set_id)
            .where(TermValueSet.oid == oid))
    return {(s, c): d for s, c, d in session.execute(stmt)}


def concept_display(session: Session, system: str, code: str) -> str | None:
    """The MVC display of a code in any value set (first found)."""
    return session.scalar(select(TermConcept.display)
                          .where(TermConcept.code_system == system, TermConcept.code == code)
                          .limit(1))


def designations_of(session: Session, system: str, code: str) -> dict[str, str]:
    """Every designation of a concept: lang -> text."""
    stmt = select(TermDesignation.lang, TermDesignation.text).where(
        TermDesignation.code_system == system, TermDesignation.code == code)
    return {lang: text for lang, text in session.execute(stmt)}


def all_mappings(session: Session) -> list[MappingRow]:
    return [MappingRow(m.source_system, m.source_code, m.value_set_oid, m.target_system,
                       m.target_code, m.target_display, m.mapping_file)
            for m in session.scalars(select(TermMapping))]


def counts(session: Session) -> dict[str, int]:
    """Row counts, for ``ncp terminology load`` to report."""
    from sqlalchemy import func

    return {
        "value_sets": session.scalar(select(func.count()).select_from(TermValueSet)) or 0,
        "concepts": session.scalar(select(func.count()).select_from(TermConcept)) or 0,
        "designations": session.scalar(select(func.count()).select_from(TermDesignation)) or 0,
        "mappings": session.scalar(select(func.count()).select_from(TermMapping)) or 0,
    }


class UnmappedCode(Base):
    """A code of a received document kept as received because no national mapping had it.

    Why a table: an eDispensation from abroad is recorded even when a descriptive code (a local
    dose form, an ingredient outside our mapping files) cannot be made national; terminology
    staff then follow these up (``ncp terminology unmapped``) and extend the mapping files.
    Holds codes and where they were, never patient data.
    """

    __tablename__ = "unmapped_codes"
    __table_args__ = (Index("ix_unmapped_codes_system_code", "code_system", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    #: The sending country and the received document's id (``root^extension``).
    country: Mapped[str] = mapped_column(String(2))
    document_kind: Mapped[str] = mapped_column(String(40))
    document_id: Mapped[str] = mapped_column(String(256))
    #: XPath of the coded element in the received document.
    location: Mapped[str] = mapped_column(String(1000))
    code: Mapped[str] = mapped_column(String(256))
    code_system: Mapped[str] = mapped_column(String(256))
    display: Mapped[str] = mapped_column(String(500))
    #: ``no-mapping``, ``unknown-code-system``, ``outside-value-set``, ``missing-code``.
    reason: Mapped[str] = mapped_column(String(40))
    value_sets: Mapped[str] = mapped_column(String(1000))


@dataclass(frozen=True, slots=True)
class UnmappedRow:
    received_at: dt.datetime
    country: str
    document_kind: str
    document_id: str
    location: str
    code: str
    code_system: str
    display: str
    reason: str
    value_sets: str


def add_unmapped(session: Session, rows: Iterable[UnmappedRow]) -> int:
    """Record codes kept as received (the caller commits)."""
    values = [{"received_at": r.received_at, "country": r.country[:2],
               "document_kind": r.document_kind[:40], "document_id": r.document_id[:256],
               "location": r.location[:1000], "code": r.code[:256],
               "code_system": r.code_system[:256], "display": r.display[:500],
               "reason": r.reason[:40], "value_sets": r.value_sets[:1000]} for r in rows]
    if values:
        session.execute(insert(UnmappedCode), values)
    return len(values)


def list_unmapped(session: Session, *, limit: int = 1000) -> list[UnmappedRow]:
    """The codes kept as received, newest first."""
    rows = session.scalars(select(UnmappedCode).order_by(UnmappedCode.received_at.desc(),
                                                         UnmappedCode.id.desc()).limit(limit))
    return [UnmappedRow(r.received_at, r.country, r.document_kind, r.document_id, r.location,
                        r.code, r.code_system, r.display, r.reason, r.value_sets) for r in rows]
