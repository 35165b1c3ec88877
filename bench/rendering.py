"""Measure: how much of the real foreign documents the renderer shows (issue 15, items 6, 7, 9).

For each real sample under ``../shared/specs`` (OpenNCP wave 7 PS/eP, the Danish eD, the epSOS
pivot/friendly samples) and the real-world-shaped PS of ``tests/rendering/realworld.py``, it
counts:

- entries: ``entry`` elements in the source / rows the view shows (structured, or marked
  "not structured" with their narrative text);
- ingredients: active ``ingredient`` elements (wave 7 ``pharm:`` and epSOS, kit parts included)
  / substances shown;
- narrative: text pieces of the section narratives / pieces found in the printed PDF (read back
  with pypdf).

Run: ``.venv/bin/python bench/rendering.py [--before REV]``. ``--before`` also measures the
renderer as it was at git revision REV (``ncp/rendering/view.py`` and ``pdf.py`` loaded from
that revision), for a before/after comparison.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import types
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ncp.xmlutil import NS  # noqa: E402
from tests.rendering.realworld import realworld_ps  # noqa: E402

SPECS = ROOT.parent / "shared" / "specs"
SAMPLES = (
    "samples/cda/ps/openncp-mock_2-1234-W7.xml", "samples/cda/ps/openncp-mock_2-5678-W7.xml",
    "samples/cda/ep/openncp-mock_1-1234-W7.xml", "samples/cda/ep/openncp-mock_1-5678-W7.xml",
    "samples/cda/ed/DK-received_dispensation1.xml",
    "schematron/epsos-friendly-pivot-legacy/samples-schPassed/PatientSummary-pivot.xml",
    "schematron/epsos-friendly-pivot-legacy/samples-schPassed/PatientSummary-friendly.xml",
    "schematron/epsos-friendly-pivot-legacy/samples-schPassed/ePrescription-pivot.xml",
    "schematron/epsos-friendly-pivot-legacy/samples-schPassed/ePrescription-friendly.xml",
    "schematron/epsos-friendly-pivot-legacy/samples-schPassed/eDispensation-pivot.xml",
)


def _module(name: str, source: str) -> types.ModuleType:
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source, name, "exec"), module.__dict__)  # noqa: S102
    return module


def _renderer_at(rev: str) -> tuple[types.ModuleType, types.ModuleType]:
    def show(path: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], check=True,
                              capture_output=True, text=True).stdout

    view = _module("_bench_view", show("ncp/rendering/view.py"))
    pdf = _module("_bench_pdf", show("ncp/rendering/pdf.py").replace(
        "from ncp.rendering.view import", "from _bench_view import"))
    return view, pdf


def _narrative_pieces(root: etree._Element) -> list[str]:
    pieces = []
    for text in root.xpath("//hl7:section/hl7:text", namespaces=NS):
        for node in text.iter():
            if not isinstance(node.tag, str):
                continue
            for chunk in (node.text, node.tail if node is not text else None):
                chunk = " ".join((chunk or "").split())
                if chunk:
                    pieces.append(chunk)
    return pieces


def _pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    return "".join((page.extract_text() or "") for page in reader.pages).replace(" ", "") \
        .replace("\n", "")


def measure(view_mod: types.ModuleType, pdf_mod: types.ModuleType,
            documents: dict[str, bytes]) -> dict[str, tuple[int, int, int, int, int, int]]:
    results = {}
    for name, document in documents.items():
        root = etree.fromstring(document)
        view = view_mod.document_view(document)
        entries = len(root.xpath("hl7:component/hl7:structuredBody/hl7:component/hl7:section/"
                                 "hl7:entry", namespaces=NS))
        shown = sum(len(s.entries) for s in view.sections)
        ingredients = len(root.xpath("//*[local-name()='ingredient'][not(@classCode) or "
                                     "starts-with(@classCode,'ACTI')]"))
        substances = sum(1 for s in view.sections for e in s.entries for f in e.fields
                         if f.label == "1")
        pieces = _narrative_pieces(root)
        printed = _pdf_text(pdf_mod.render_pdf(document))
        found = sum(1 for p in pieces if p.replace(" ", "") in printed)
        results[name] = (entries, shown, ingredients, substances, len(pieces), found)
    return results


def _report(title: str, results: dict[str, tuple[int, ...]]) -> None:
    print(f"\n{title}")
    print(f"{'document':58} {'entries':>9} {'ingredients':>12} {'narrative':>11}")
    totals = [0] * 6
    for name, row in results.items():
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        e, s, i, sub, p, f = row
        print(f"{name[-58:]:58} {s:>4}/{e:<4} {sub:>6}/{i:<5} {f:>5}/{p:<5}")
    e, s, i, sub, p, f = totals
    print(f"{'TOTAL':58} {s:>4}/{e:<4} {sub:>6}/{i:<5} {f:>5}/{p:<5}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="git revision of the renderer to compare with")
    args = parser.parse_args()
    documents = {s: (SPECS / s).read_bytes() for s in SAMPLES}
    documents["tests/rendering/realworld.py (real-world-shaped PS)"] = realworld_ps(SPECS)
    if args.before:
        old_view, old_pdf = _renderer_at(args.before)
        _report(f"before ({args.before}): shown/source", measure(old_view, old_pdf, documents))
    from ncp.rendering import pdf, view

    _report("now: shown/source", measure(view, pdf, documents))


if __name__ == "__main__":
    main()
