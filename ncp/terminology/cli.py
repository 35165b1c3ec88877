"""``ncp terminology ...``: load the catalogue and mappings, look codes up.

Registered by the lead in :mod:`ncp.cli` as
``app.add_typer(terminology_app, name="terminology")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ncp.settings import get_settings
from ncp.store.db import make_engine, session_factory, upgrade
from ncp.terminology.loader import load_all
from ncp.terminology.service import DbTerminology
from ncp.terminology.sources import TerminologySourceError
from ncp.validation.specs import specs_dir

terminology_app = typer.Typer(help="The eHDSI Master Value Set Catalogue, designations and "
                                   "Luxembourg's national code mappings.")


@terminology_app.command("load")
def load(
    specs: Annotated[Path | None, typer.Option(help="eHDSI specification folder")] = None,
) -> None:
    """Load the MVC value sets, the designations and the national mapping files into the DB."""
    engine = make_engine(get_settings().sqlalchemy_url)
    try:
        upgrade(engine)
        try:
            summary = load_all(session_factory(engine), specs or specs_dir())
        except TerminologySourceError as exc:
            typer.echo(f"refused: {exc}", err=True)
            raise typer.Exit(code=1) from None
    finally:
        engine.dispose()
    sets = ", ".join(f"{n} from {src}" for src, n in summary.value_sets.items())
    typer.echo(f"value sets: {sets}; {summary.concepts} concepts")
    typer.echo("designations: " + ", ".join(f"{n} {src}" for src, n in
                                            summary.designations.items()))
    for label, n in summary.mappings.items():
        typer.echo(f"mapping {label}: {n} codes")


@terminology_app.command("lookup")
def lookup(
    code_system: str, code: str,
    value_set: Annotated[str | None, typer.Option(help="value set OID to check")] = None,
    lang: Annotated[str, typer.Option(help="language of the designation")] = "en",
) -> None:
    """Show a code's designation (with fallback) and, if asked, its value-set membership."""
    engine = make_engine(get_settings().sqlalchemy_url)
    try:
        terms = DbTerminology(session_factory(engine))
        found = terms.designation(code_system, code, lang)
        if found is None:
            typer.echo("no designation")
        else:
            mark = " (fallback, no translation)" if found.fallback else ""
            typer.echo(f"{found.text} [{found.lang}]{mark}")
        if value_set:
            member = terms.is_member(value_set, code_system, code)
            typer.echo(f"member of {value_set}: {'yes' if member else 'no'}")
            if not member:
                raise typer.Exit(code=1)
    finally:
        engine.dispose()


@terminology_app.command("unmapped")
def unmapped(
    limit: Annotated[int, typer.Option(help="at most this many, newest first")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """Codes of received eDispensations kept as received (no national mapping): to follow up.

    Each line: when, sending country, document, the element's XPath, code, code system, the
    display as received, and why it was not mapped."""
    import json

    from ncp.store.terminology import list_unmapped

    engine = make_engine(get_settings().sqlalchemy_url)
    try:
        with session_factory(engine)() as session:
            rows = list_unmapped(session, limit=max(1, min(limit, 10_000)))
    finally:
        engine.dispose()
    if not rows:
        typer.echo("no unmapped codes")
        return
    for r in rows:
        if as_json:
            typer.echo(json.dumps({
                "received_at": r.received_at.isoformat(), "country": r.country,
                "document_kind": r.document_kind, "document_id": r.document_id,
                "location": r.location, "code": r.code, "code_system": r.code_system,
                "display": r.display, "reason": r.reason, "value_sets": r.value_sets.split()}))
        else:
            typer.echo(f"{r.received_at:%Y-%m-%d %H:%M} {r.country} {r.document_kind} "
                       f"{r.document_id} {r.code} ({r.code_system}) {r.display!r} "
                       f"{r.reason} at {r.location}")
