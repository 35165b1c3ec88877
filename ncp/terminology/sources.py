"""Readers of the terminology sources, pure parsing (no database).

- the Master Value Set Catalogue 8.1 in FHIR shorthand (``mvc/fhir-fsh-hl7eu/mvc/*.fsh``): one
  value set per file, its OID in ``^identifier.value``, its version in ``^version``;
- the value sets of the eHDSI schematron release (``include/voc-*.xml``), for the sets the FSH
  catalogue lacks (administrative gender, allergy status...);
- the terminology server export (``terminology/EpsosRepository/<oid>.xml``) for designations;
- our reviewed French/German designation files and the national mapping files (CSV, in
  ``ncp/terminology/data``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from ncp.terminology.codesystems import BY_OID, oid_for_uri

DATA_DIR = Path(__file__).with_name("data")


@dataclass
class ValueSetSource:
    oid: str
    name: str
    version: str
    source: str
    concepts: list[tuple[str, str, str]] = field(default_factory=list)  # (system, code, display)


class TerminologySourceError(ValueError):
    """A source file cannot be read (unknown code system, malformed line...)."""


_FSH_CONCEPT = re.compile(r'^\*\s+(\S+?)#("(?:[^"]+)"|\S+)\s+"((?:[^"\\]|\\.)*)"')


def read_fsh_value_set(path: Path) -> ValueSetSource:
    """One MVC value set from FHIR shorthand, with code systems translated to OIDs."""
    text = path.read_text(encoding="utf-8")
    aliases = dict(re.findall(r"^Alias:\s*(\$\S+)\s*=\s*(\S+)", text, re.M))
    oid = re.search(r'\^identifier\.value\s*=\s*"urn:oid:([^"]+)"', text)
    name = re.search(r"^ValueSet:\s*(\S+)", text, re.M)
    version = re.search(r'\^version\s*=\s*"([^"]+)"', text)
    if not (oid and name):
        raise TerminologySourceError(f"{path.name}: no ValueSet name or OID")
    vs = ValueSetSource(oid.group(1), name.group(1), version.group(1) if version else "",
                        "mvc-fsh")
    for line in text.splitlines():
        match = _FSH_CONCEPT.match(line)
        if not match:
            continue
        uri, code, display = match.groups()
        uri = aliases.get(uri, uri)
        # A system without a known OID keeps its URI: no CDA document can carry it, so its codes
        # never match by accident.
        system = oid_for_uri(uri) or uri
        vs.concepts.append((system, code.strip('"'), display.replace('\\"', '"')))
    return vs


def read_fsh_catalogue(folder: Path) -> list[ValueSetSource]:
    return [read_fsh_value_set(p) for p in sorted(folder.glob("*.fsh"))]


def read_voc_file(path: Path) -> list[ValueSetSource]:
    """Value sets of an ART-DECOR ``voc-*.xml`` file (the schematron's own copies)."""
    root = etree.parse(str(path), etree.XMLParser(no_network=True, resolve_entities=False))
    found = []
    for vs in root.getroot().iter("valueSet"):
        item = ValueSetSource(vs.get("id", ""), vs.get("name", ""), vs.get("versionLabel", "")
                              or vs.get("effectiveDate", ""), "artdecor-voc")
        for concept in vs.iter("concept"):
            item.concepts.append((concept.get("codeSystem", "").strip(), concept.get("code", ""),
                                  concept.get("displayName", "")))
        if item.oid:
            found.append(item)
    return found


def read_repository_designations(folder: Path) -> Iterator[tuple[str, str, str, str]]:
    """(system, code, lang, text) of every designation in the terminology export."""
    for path in sorted(folder.glob("*.xml")):
        root = etree.parse(str(path), etree.XMLParser(no_network=True,
                                                      resolve_entities=False)).getroot()
        for concept in root.iter("concept"):
            for des in concept.iter("designation"):
                if des.text and des.get("lang"):
                    yield (concept.get("codeSystem", "").strip(), concept.get("code", ""),
                           des.get("lang"), des.text.strip())


@dataclass(frozen=True)
class ReviewedDesignation:
    code_system: str
    code: str
    en: str
    fr: str
    de: str


def read_designation_csv(path: Path) -> list[ReviewedDesignation]:
    """Our reviewed designations: ``code_system,code,en,fr,de`` (OIDs, ``#`` lines are notes)."""
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(line for line in fh if not line.startswith("#"))
        for number, row in enumerate(reader, start=2):
            system = row["code_system"].strip()
            if system not in BY_OID:
                raise TerminologySourceError(f"{path.name}:{number}: unknown code system {system}")
            rows.append(ReviewedDesignation(system, row["code"].strip(), row["en"].strip(),
                                            row["fr"].strip(), row["de"].strip()))
    return rows


@dataclass(frozen=True)
class NationalMapping:
    source_system: str
    source_code: str
    source_display: str
    value_set_oid: str
    target_system: str
    target_code: str
    target_display: str


@dataclass
class MappingFile:
    """One versioned national mapping file, e.g. ``lu-voie.csv`` version ``2026.1``."""

    name: str
    version: str
    rows: list[NationalMapping]

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


def read_mapping_csv(path: Path) -> MappingFile:
    """A mapping file: a ``# version: X`` line, then CSV with a header (see data/README.md)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    version = ""
    for line in lines:
        if line.startswith("# version:"):
            version = line.split(":", 1)[1].strip()
    if not version:
        raise TerminologySourceError(f"{path.name}: no '# version:' line")
    reader = csv.DictReader(line for line in lines if line and not line.startswith("#"))
    rows = []
    for number, row in enumerate(reader, start=2):
        for key in ("source_system", "target_system"):
            if row[key].strip() not in BY_OID:
                raise TerminologySourceError(f"{path.name}:{number}: unknown {key} {row[key]}")
        rows.append(NationalMapping(*(row[k].strip() for k in (
            "source_system", "source_code", "source_display", "value_set_oid", "target_system",
            "target_code", "target_display"))))
    return MappingFile(path.stem, version, rows)


def mapping_files(folder: Path | None = None) -> list[MappingFile]:
    folder = folder or DATA_DIR / "mappings"
    return [read_mapping_csv(p) for p in sorted(folder.glob("*.csv"))]


def designation_files(folder: Path | None = None) -> list[Path]:
    folder = folder or DATA_DIR / "designations"
    return sorted(folder.glob("*.csv"))
