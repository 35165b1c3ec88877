"""``ncp audit seal | verify | alerts | volumes``: the tamper-evident trail, the DPO's alerts
(break the glass) and the operator's alerts (unexpected request volumes: enumeration)."""

from __future__ import annotations

from typing import Annotated

import typer

from ncp.settings import get_settings

audit_app = typer.Typer(help="The access log's and audit messages' hash chain; DPO alerts; "
                        "request-volume alerts.",
                        no_args_is_help=True)


def _sessions():  # type: ignore[no-untyped-def]
    from ncp.store.db import make_engine, session_factory

    return session_factory(make_engine(get_settings().sqlalchemy_url))


@audit_app.command("seal")
def seal_command() -> None:
    """Chain the rows written since the last seal (the app also does it once a minute)."""
    from ncp.store.chain import seal

    typer.echo(f"{seal(_sessions())} rows sealed")


@audit_app.command("verify")
def verify_command() -> None:
    """Recompute every chain; exit 1 and name the first broken link if a row was edited."""
    from ncp.store.chain import verify

    ok = True
    for r in verify(_sessions()):
        if r.broken is None:
            typer.echo(f"{r.table}: intact, {r.sealed} rows sealed, {r.unsealed} not yet; "
                       f"head {r.head}")
        else:
            ok = False
            seq, row_id, what = r.broken
            typer.echo(f"{r.table}: BROKEN at link {seq} (row id {row_id}): {what}; "
                       f"{seq - 1} links before it are intact")
    if not ok:
        raise typer.Exit(1)


@audit_app.command("alerts")
def alerts_command(all_: bool = typer.Option(False, "--all", help="Acknowledged ones too.")
                   ) -> None:
    """The data protection officer's alerts (break the glass), newest first."""
    from sqlalchemy import select

    from ncp.store.db import reading
    from ncp.store.models import DpoAlert

    with reading(_sessions()) as s:
        query = select(DpoAlert).order_by(DpoAlert.id.desc())
        if not all_:
            query = query.where(DpoAlert.acknowledged_at.is_(None))
        for a in s.scalars(query.limit(1000)):
            typer.echo(f"{a.at:%Y-%m-%d %H:%M} {a.kind:16} patient {a.patient_id} "
                       f"professional {a.professional_id}: {a.detail}")


@audit_app.command("volumes")
def volumes_command(
    all_: bool = typer.Option(False, "--all", help="Acknowledged ones too."),
    ack: Annotated[list[int] | None, typer.Option(
        "--ack", help="Acknowledge the alert with this id (repeatable); it is kept but no "
        "longer listed.")] = None,
    limit: int = typer.Option(1000, min=1, help="At most this many, newest first."),
) -> None:
    """The operator's alerts for unexpected request volumes (XCPD discovery per peer, per
    foreign professional, per patient: the enumeration defence), newest first; exit 0.

    One alert per (scope, key, window) at the first request past the limit; the peer got the
    reference gateway's WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS* for it and every further
    request of that window.
    """
    import datetime as dt

    from ncp.store.db import make_engine
    from ncp.store.volumes import RequestVolumes

    engine = make_engine(get_settings().sqlalchemy_url)
    try:
        volumes = RequestVolumes(engine)
        if ack:
            done = volumes.acknowledge(ack, at=dt.datetime.now(dt.UTC))
            typer.echo(f"{done} alert(s) acknowledged")
            return
        for a in volumes.alerts(limit, open_only=not all_):
            seen = f" (acknowledged {a.acknowledged_at:%Y-%m-%d %H:%M})" if a.acknowledged_at \
                else ""
            typer.echo(f"#{a.id} {a.at:%Y-%m-%d %H:%M} {a.kind} {a.scope} {a.key!r}: "
                       f"{a.count} > {a.limit} in the window from "
                       f"{a.window_start:%Y-%m-%d %H:%M}{seen}")
    finally:
        engine.dispose()
