"""``ncp terminology load``: the catalogue, the designations and the national mappings into the DB.

Order of precedence for a value set OID: the MVC 8.1 FHIR shorthand first; the schematron release's
``voc-*.xml`` only for sets the MVC files lack (e.g. eHDSIAdministrativeGender). Designations come
from our reviewed files (``en``/``fr``/``de``), the national catalogues (French labels of our
codes) and the terminology export (``en-GB`` and a few others). A mapping row whose target is not
a member of its value set is refused at load time: a bad mapping never reaches a document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from ncp.store import terminology as store
from ncp.terminology.sources import (
    MappingFile,
    TerminologySourceError,
    ValueSetSource,
    designation_files,
    mapping_files,
    read_designation_csv,
    read_fsh_catalogue,
    read_repository_designations,
    read_voc_file,
)
from ncp.validation.specs import SCHEMATRON_RELEASE


@dataclass
class LoadSummary:
    value_sets: dict[str, int] = field(default_factory=dict)  # source -> number of sets
    concepts: int = 0
    designations: dict[str, int] = field(default_factory=dict)
    mappings: dict[str, int] = field(default_factory=dict)  # mapping file label -> rows


def collect_value_sets(specs: Path) -> list[ValueSetSource]:
    chosen: dict[str, ValueSetSource] = {}
    for vs in read_fsh_catalogue(specs / "mvc" / "fhir-fsh-hl7eu" / "mvc"):
        chosen[vs.oid] = vs
    for voc in sorted((specs / SCHEMATRON_RELEASE / "include").glob("voc-*.xml")):
        for vs in read_voc_file(voc):
            chosen.setdefault(vs.oid, vs)
    return list(chosen.values())


def check_mappings(files: list[MappingFile], members: dict[str, set[tuple[str, str]]]) -> None:
    """Refuse a mapping whose target value set is unknown or does not contain the target."""
    for mf in files:
        for row in mf.rows:
            vs = members.get(row.value_set_oid)
            if vs is None:
                raise TerminologySourceError(
                    f"{mf.label}: unknown value set {row.value_set_oid} for {row.source_code}")
            if (row.target_system, row.target_code) not in vs:
                raise TerminologySourceError(
                    f"{mf.label}: {row.target_code} ({row.target_system}) is not in value set "
                    f"{row.value_set_oid}, mapping of {row.source_code}")


def load_all(sessions: sessionmaker[Session], specs: Path, *,
             mappings_dir: Path | None = None, designations_dir: Path | None = None) -> LoadSummary:
    """Load everything in one transaction; on any error nothing changes."""
    summary = LoadSummary()
    value_sets = collect_value_sets(specs)
    members = {vs.oid: {(s, c) for s, c, _ in vs.concepts} for vs in value_sets}
    files = mapping_files(mappings_dir)
    check_mappings(files, members)
    reviewed = [row for path in designation_files(designations_dir)
                for row in read_designation_csv(path)]
    with sessions.begin() as session:
        for vs in value_sets:
            summary.concepts += store.replace_value_set(
                session, store.ValueSetRow(vs.oid, vs.name, vs.version, vs.source), vs.concepts)
            summary.value_sets[vs.source] = summary.value_sets.get(vs.source, 0) + 1
        reviewed_rows = [(r.code_system, r.code, lang, text) for r in reviewed
                         for lang, text in (("en", r.en), ("fr", r.fr), ("de", r.de)) if text]
        summary.designations["ncp-reviewed"] = store.replace_designations(
            session, "ncp-reviewed", reviewed_rows)
        national_rows = [(m.source_system, m.source_code, "fr", m.source_display)
                         for mf in files for m in mf.rows if m.source_display]
        summary.designations["lu-national"] = store.replace_designations(
            session, "lu-national", national_rows)
        summary.designations["epsos-repository"] = store.replace_designations(
            session, "epsos-repository",
            read_repository_designations(specs / "terminology" / "EpsosRepository"))
        for mf in files:
            rows = [store.MappingRow(m.source_system, m.source_code, m.value_set_oid,
                                     m.target_system, m.target_code, m.target_display, mf.label)
                    for m in mf.rows]
            summary.mappings[mf.label] = store.replace_mappings(session, mf.name, rows)
    return summary
