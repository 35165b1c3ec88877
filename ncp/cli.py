"""The ``ncp`` command: run, seed and operate the gateway.

Sub-commands of other packages (``pki``, ``terminology``, ``validate``) are registered in the
marked section at the end, each from its own package.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ncp.settings import get_settings

app = typer.Typer(
    help="eHDSI National Contact Point for eHealth (Luxembourg) and the DSP record store.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The record store's database.", no_args_is_help=True)
keys_app = typer.Typer(help="Master keys of the encryption at rest.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")


@app.command()
def serve(
    host: str = typer.Option(None, help="Listen address (default NCP_HOST)."),
    port: int = typer.Option(None, help="Listen port (default NCP_PORT)."),
) -> None:
    """Serve the gateway, portal and API over HTTPS (mutual TLS for the SOAP endpoints)."""
    from ncp.app import create_app
    from ncp.server import serve as run_server

    settings = get_settings()
    if host:
        settings.host = host
    if port:
        settings.port = port
    if not settings.allow_plain_http and not settings.tls_cert_path.exists():
        typer.echo(f"no TLS certificate at {settings.tls_cert_path}: run `ncp pki init`", err=True)
        raise typer.Exit(2)
    from ncp.observability.metrics import configure as configure_metrics

    configure_metrics(settings.metrics_path)  # multiprocess mode, before any metric exists
    run_server(create_app(settings), settings)


@app.command()
def demo(
    serve_after: bool = typer.Option(True, "--serve/--no-serve",
                                     help="Start serving once the demo data is in place."),
    reset: bool = typer.Option(False, "--reset",
                               help="First remove the demo data (the SQLite database and the "
                               "partner's folder; the PKI and the keys stay) to start afresh."),
) -> None:
    """Set up a development gateway with demo data (PKI, database, patients), then serve."""
    from ncp.app import build_runtime
    from ncp.demo import reset_demo, seed
    from ncp.security.pki import init_pki
    from ncp.store.db import upgrade

    settings = get_settings()
    if reset:
        try:
            removed = reset_demo(settings)
        except RuntimeError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        typer.echo("demo data removed: " + (", ".join(str(p) for p in removed) or "nothing"))
    init_pki(settings.pki_root, sorted({settings.country_code, "BE"}),
             card_issuer=settings.country_code)
    runtime = build_runtime(settings)
    upgrade(runtime.engine)
    from ncp.store.db import session_factory
    from ncp.terminology.loader import load_all

    # The gateway transcodes with the terminology in the database (value sets, mappings).
    load_all(session_factory(runtime.engine), settings.specs_path)
    added = seed(runtime.records)
    from ncp.auth.demo import instructions, login_lines, seed_accounts

    seed_accounts(runtime.records, runtime.engine, environment=settings.environment,
                  pki_root=settings.pki_root)
    runtime.engine.dispose()
    typer.echo("demo data " + ("loaded" if added else "already present"))
    for line in login_lines():
        typer.echo(line)
    web = "http" if settings.allow_plain_http else "https"
    for line in instructions(f"{web}://localhost:{settings.port}", settings.pki_root):
        typer.echo(line)
    if settings.country_code == "LU" and not settings.allow_plain_http:
        # the two-country round trip: Belgium as a second gateway process (issue 6)
        from ncp.crossborder.partner import demo_partner

        _partner, lines = demo_partner(settings, serve=serve_after)
        for line in lines:
            typer.echo(line)
    if serve_after:
        scheme = "http" if settings.allow_plain_http else "https"
        typer.echo(f"serving on {scheme}://localhost:{settings.port}  (GET /health)")
        serve(None, None)  # type: ignore[arg-type]


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Create or migrate the database schema (Alembic) to REVISION."""
    from ncp.store.db import make_engine, upgrade

    settings = get_settings()
    engine = make_engine(settings.sqlalchemy_url)
    upgrade(engine, revision)
    engine.dispose()
    typer.echo(f"database at {revision}: {engine.url.render_as_string(hide_password=True)}")


@keys_app.command("rotate")
def keys_rotate(
    batch: int = typer.Option(1000, help="Rows re-wrapped per committed batch."),
) -> None:
    """Make a new master key active and re-wrap every data key under it (online)."""
    import ncp.store.schema  # noqa: F401  (every sealed table registers itself)
    from ncp.store.db import make_engine, session_factory
    from ncp.store.keys import rotate

    settings = get_settings()
    path: Path = settings.master_keys_path
    if not path.exists():
        typer.echo(f"no key ring at {path}", err=True)
        raise typer.Exit(2)
    engine = make_engine(settings.sqlalchemy_url)
    report = rotate(session_factory(engine), path, batch=batch)
    engine.dispose()
    typer.echo(f"active master key {report.new_key_id}; {report.rewrapped} data keys "
               f"re-wrapped; retired: {', '.join(report.retired) or 'none'}")


@keys_app.command("reseal")
def keys_reseal(batch: int = typer.Option(200, help="Rows re-sealed per transaction.")
                ) -> None:
    """Seal the rows stored before their values were sealed at rest: documents (their access
    fields bound, their title sealed), the access log, prescriptions, emergency accesses,
    notices and alerts, cross-border contexts and dispensations, received originals, partial
    refusals. Run once after ``ncp db upgrade`` (0015, 0021); idempotent. The access log's
    hash chain is verified and re-linked over the rows it seals: its new head is printed."""
    import ncp.store.schema  # noqa: F401  (every table registers its re-sealing step)
    from ncp.app import build_runtime
    from ncp.store import chain, sealed

    runtime = build_runtime(get_settings())
    try:
        for name, step in sealed.resealers():
            done = step(runtime.records, batch)
            typer.echo(f"{name}: {done} rows sealed")
        heads = {r.table: r.head for r in chain.verify(runtime.records._sessions)}
        typer.echo(f"access-log chain head: {heads.get('access_log')}")
    finally:
        runtime.engine.dispose()


# --- sub-commands registered by other packages (one line each) ---------------------------
from ncp.security.cli import pki_app  # noqa: E402

app.add_typer(pki_app, name="pki")
from ncp.soap.cli import soap_app  # noqa: E402

app.add_typer(soap_app, name="soap")
from ncp.peers.cli import peers_app  # noqa: E402

app.add_typer(peers_app, name="peers")
from ncp.auth.cli import accounts_app  # noqa: E402

app.add_typer(accounts_app, name="accounts")
from ncp.terminology.cli import terminology_app  # noqa: E402

app.add_typer(terminology_app, name="terminology")
from ncp.validation.cli import validate_command  # noqa: E402

app.command("validate")(validate_command)
from ncp.peers.testkit import assertion_app  # noqa: E402

app.add_typer(assertion_app, name="assertion")
from ncp.registry.cli import registry_app  # noqa: E402

app.add_typer(registry_app, name="registry")
from ncp.peers.probe_cli import probe_command  # noqa: E402

app.command("probe")(probe_command)
from ncp.store.audit_cli import audit_app  # noqa: E402

app.add_typer(audit_app, name="audit")
from ncp.gateway.explain_cli import explain_command  # noqa: E402

app.command("explain")(explain_command)
