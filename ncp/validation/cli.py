"""``ncp validate FILE...``: XSD and eHDSI schematron check of CDA documents, offline.

Registered by the lead in :mod:`ncp.cli` as ``app.command("validate")(validate_command)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ncp.cda.kinds import DocumentKind
from ncp.validation.validator import ValidationReport, validate_document


def _print_report(path: Path, report: ValidationReport) -> None:
    kind = report.kind.title if report.kind else "unknown document"
    asserts = report.failed_assertions
    errors = report.schematron_errors
    status = "OK" if report.ok else "FAILED"
    typer.echo(f"{path}: {kind}: {status} ({len(report.xsd_errors)} XSD errors, "
               f"{len(asserts)} failed assertions of which {len(errors)} errors)")
    for note in report.notes:
        typer.echo(f"  note: {note}")
    for err in report.xsd_errors:
        typer.echo(f"  [xsd] line {err.line}: {err.message}")
    for finding in report.findings:
        label = finding.role or "error"
        what = "assert" if finding.kind == "assert" else "report"
        typer.echo(f"  [{label}] {what} at {finding.location}\n      {finding.message}")
        for diagnostic in finding.diagnostics:
            typer.echo(f"      diagnostic: {diagnostic}")


def validate_command(
    files: Annotated[list[Path], typer.Argument(help="CDA documents to validate",
                                                exists=True, dir_okay=False, readable=True)],
    kind: Annotated[str | None, typer.Option(
        help="Force the document kind (ps, ep, ed, ps-l1, ep-l1) instead of detecting it")] = None,
) -> None:
    """Validate eHDSI CDA documents against CDA_Pharma.xsd and the eHDSI v8.0.0 schematron.

    Prints each failed assertion with its location and message; exits 1 when any document has an
    XSD error or a schematron error (warnings are printed but do not fail).
    """
    forced = DocumentKind.from_slug(kind) if kind else None
    failed = False
    for path in files:
        report = validate_document(path.read_bytes(), kind=forced)
        _print_report(path, report)
        failed = failed or not report.ok
    if failed:
        raise typer.Exit(code=1)
