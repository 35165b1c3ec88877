"""Runs a compiled schematron with Saxon (saxonche) and reads the SVRL it produces.

One Saxon processor per process (creating one starts a Java-like runtime); compiled stylesheets
are kept in memory by path, because loading the eHDSI stylesheets is the slow part of validation.
Input documents are parsed by our safe parser first (no DOCTYPE, no entities) and only then handed
to Saxon, so the XSLT engine never sees what :func:`ncp.xmlutil.parse_xml` would refuse.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ncp.xmlutil import parse_xml

SVRL = "http://purl.oclc.org/dsdl/svrl"

_lock = threading.Lock()
_processor = None
_executables: dict[Path, object] = {}
_documents: dict[Path, object] = {}


@dataclass(frozen=True)
class Finding:
    """One failed assertion or successful report of a schematron run.

    ``kind`` is ``"assert"`` (a failed ``sch:assert``) or ``"report"`` (a fired ``sch:report``);
    ``role`` is the schematron role (``error``, ``warning``, ``info``...; empty means error).
    """

    kind: str
    role: str
    location: str
    message: str
    test: str
    context: str = ""
    see: str = ""
    diagnostics: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        """Failed assertions without a softer role count as errors, as the eHDSI tools do."""
        if self.kind == "assert":
            return self.role.lower() in ("", "error", "fatal")
        return self.role.lower() in ("error", "fatal")


class SchematronRunError(RuntimeError):
    """Saxon could not load the stylesheet or run it (not a validation failure)."""


def _saxon():
    global _processor
    if _processor is None:
        from saxonche import PySaxonProcessor

        _processor = PySaxonProcessor(license=False)
    return _processor


def load_stylesheet(path: Path):
    """Compile (Saxon-side) and memoise the stylesheet at ``path``."""
    path = Path(path).resolve()
    with _lock:
        executable = _executables.get(path)
        if executable is None:
            xslt = _saxon().new_xslt30_processor()
            try:
                executable = xslt.compile_stylesheet(stylesheet_file=str(path))
            except Exception as exc:  # saxonche raises PySaxonApiError, a plain Exception
                raise SchematronRunError(f"cannot load {path}: {exc}") from exc
            if executable is None:
                raise SchematronRunError(f"cannot load {path}: {xslt.error_message}")
            _bind_documents(executable, path)
            _executables[path] = executable
        return executable


def _bind_documents(executable, stylesheet: Path) -> None:
    """Pass the value sets the stylesheet reads as pre-parsed parameters (see schematron._xp)."""
    meta_file = stylesheet.parent / "meta.json"
    if not meta_file.is_file():
        return
    params = json.loads(meta_file.read_text()).get("document_parameters", {})
    proc = _saxon()
    for name, rel in params.items():
        source = (stylesheet.parent / rel).resolve()
        node = _documents.get(source)
        if node is None:
            node = proc.parse_xml(xml_file_name=str(source))
            _documents[source] = node
        executable.set_parameter(name, node)


def run_schematron(stylesheet: Path, document: bytes) -> list[Finding]:
    """Validate ``document`` with a compiled schematron; returns every finding in SVRL order."""
    # Refuse what the safe parser refuses before Saxon parses anything; hand Saxon text that is
    # certain to be UTF-8 whatever the document's declared encoding.
    text = etree.tostring(parse_xml(document), encoding="unicode")
    executable = load_stylesheet(stylesheet)
    with _lock:
        proc = _saxon()
        try:
            node = proc.parse_xml(xml_text=text)
            svrl = executable.transform_to_string(xdm_node=node)
        except Exception as exc:
            raise SchematronRunError(f"schematron run failed: {exc}") from exc
    if not svrl:
        raise SchematronRunError("schematron run produced no report")
    return parse_svrl(svrl.encode("utf-8"))


def parse_svrl(svrl: bytes) -> list[Finding]:
    """The findings of an SVRL report (failed asserts and successful reports)."""
    root = parse_xml(svrl, max_bytes=512 * 1024 * 1024)
    findings = []
    for el in root.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        text = el.find(f"{{{SVRL}}}text")  # the assertion's own text, not its diagnostics
        diagnostics = [" ".join(d.xpath("string()").split())
                       for d in el.iter(f"{{{SVRL}}}diagnostic-reference")]
        findings.append(Finding(
            kind="assert" if etree.QName(el).localname == "failed-assert" else "report",
            role=el.get("role", ""),
            location=el.get("location", ""),
            message=" ".join((text.xpath("string()") if text is not None else "").split()),
            test=el.get("test", ""),
            context=el.get("context", ""),
            see=el.get("see", ""),
            diagnostics=tuple(diagnostics),
        ))
    return findings
