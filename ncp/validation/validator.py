"""Offline conformance check of eHDSI CDA documents: CDA_Pharma.xsd, then the eHDSI schematron.

The schematron (ART-DECOR release v8.0.0) is chosen by the document's kind, compiled by our own
compiler (:mod:`ncp.validation.schematron`), cached on disk under ``<var_dir>/cache`` and run by
Saxon. A report lists every failed assertion; ``ok`` means no XSD error and no schematron error
(warnings do not fail a document, as in the eHDSI Gazelle validators).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from ncp.cda.kinds import DocumentKind, detect_kind
from ncp.settings import get_settings
from ncp.validation.cache import CompiledSchema, compiled_schema
from ncp.validation.engine import Finding, run_schematron
from ncp.validation.specs import CDA_XSD, SCHEMATRON_RELEASE, specs_dir
from ncp.xmlutil import XmlInputError, parse_xml

#: Schematron file of each kind, in the ART-DECOR release folder.
SCHEMATRON_FILES = {
    DocumentKind.PATIENT_SUMMARY: "epsos-PatientSummary.sch",
    DocumentKind.EPRESCRIPTION: "epsos-ePrescription.sch",
    DocumentKind.EDISPENSATION: "epsos-eDispensation.sch",
    DocumentKind.PATIENT_SUMMARY_L1: "epsos-PatientSummary_L1.sch",
    DocumentKind.EPRESCRIPTION_L1: "epsos-ePrescriptionL1.sch",
}


@dataclass(frozen=True)
class XsdError:
    line: int
    message: str


@dataclass
class ValidationReport:
    """What validating one document found."""

    kind: DocumentKind | None
    xsd_errors: list[XsdError] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed_assertions(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "assert"]

    @property
    def schematron_errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    @property
    def ok(self) -> bool:
        return self.kind is not None and not self.xsd_errors and not self.schematron_errors


@functools.lru_cache(maxsize=2)
def _cda_schema(path: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(path))


def xsd_errors(root: etree._Element, *, specs: Path | None = None) -> list[XsdError]:
    """Errors of ``root`` against ``CDA_Pharma.xsd`` (empty when valid)."""
    schema = _cda_schema(str((specs or specs_dir()) / CDA_XSD))
    if schema.validate(root):
        return []
    return [XsdError(e.line, e.message) for e in schema.error_log]


def schematron_for(kind: DocumentKind, *, specs: Path | None = None,
                   var_dir: Path | None = None) -> CompiledSchema:
    """The compiled (and cached) eHDSI schematron of a document kind."""
    base = (specs or specs_dir()) / SCHEMATRON_RELEASE
    return compiled_schema(base / SCHEMATRON_FILES[kind], var_dir or get_settings().var_dir)


def validate_document(data: bytes, *, kind: DocumentKind | None = None,
                      specs: Path | None = None, var_dir: Path | None = None) -> ValidationReport:
    """Validate one CDA document (bytes) against the XSD and the schematron of its kind."""
    try:
        root = parse_xml(data)
    except XmlInputError as exc:
        return ValidationReport(kind=None, xsd_errors=[XsdError(0, str(exc))])
    kind = kind or detect_kind(root)
    report = ValidationReport(kind=kind)
    if kind is None:
        report.notes.append("not an eHDSI CDA document (unknown template id and code)")
        return report
    report.xsd_errors = xsd_errors(root, specs=specs)
    compiled = schematron_for(kind, specs=specs, var_dir=var_dir)
    for missing in compiled.missing_documents:
        report.notes.append(f"{missing} is not in the published specification: checks against "
                            "it use an empty value set")
    report.findings = run_schematron(compiled.stylesheet, data)
    return report


def warm_up(kinds: tuple[DocumentKind, ...] = tuple(SCHEMATRON_FILES), *,
            specs: Path | None = None, var_dir: Path | None = None) -> None:
    """Compile (if needed) and load the schematrons of ``kinds`` now, e.g. at gateway start-up,
    so that the first document of each kind does not wait seconds for Saxon to load them."""
    from ncp.validation.engine import load_stylesheet

    _cda_schema(str((specs or specs_dir()) / CDA_XSD))
    for kind in kinds:
        load_stylesheet(schematron_for(kind, specs=specs, var_dir=var_dir).stylesheet)
