# ruff: noqa: B008  (typer declares options as argument defaults)
"""``ncp explain --message FILE``: why the gateway refuses (or accepts) a captured request.

    ncp explain --message request.xml --country BE
    ncp explain --message body.mime --content-type 'multipart/related; type=...; ...'
    ncp explain --message request.xml --peer-cert peer-tls.pem --at 2026-12-02T10:00:00Z

Runs the inbound checks offline (:mod:`ncp.gateway.explain`): nothing is stored, nothing is
audited, no replay is registered. Exit code 0 when the message would be accepted, 1 otherwise.
"""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import typer

from ncp.settings import get_settings

__all__ = ["explain_command"]


def explain_command(
    message: Path = typer.Option(..., "--message", exists=True, dir_okay=False,
                                 help="the captured HTTP body (SOAP or MTOM)"),
    content_type: str = typer.Option("application/soap+xml; charset=UTF-8",
                                     help="the captured Content-Type header"),
    peer_cert: Path | None = typer.Option(None, exists=True, dir_okay=False,
                                          help="the peer's TLS client certificate (PEM)"),
    country: str | None = typer.Option(None, help="the peer's country, without --peer-cert"),
    at: str | None = typer.Option(None, help="check as of this instant (ISO 8601; "
                                  "default now): the time the message was received"),
) -> None:
    """Run the gateway's inbound checks on a captured request, with no side effect."""
    from ncp.gateway.explain import explain_message

    when = dt.datetime.now(dt.UTC)
    if at:
        try:
            when = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            raise typer.BadParameter(f"--at is not an ISO 8601 instant: {at!r}") from None
        if when.tzinfo is None:
            raise typer.BadParameter("--at needs a time zone (e.g. Z)")
    der = None
    if peer_cert is not None:
        try:
            der = ssl.PEM_cert_to_DER_cert(peer_cert.read_text())
        except ValueError:
            raise typer.BadParameter("--peer-cert is not one PEM certificate") from None
    result = explain_message(get_settings(), message.read_bytes(), content_type, now=when,
                             peer_certificate_der=der, country=country)
    typer.echo(result.text())
    raise typer.Exit(0 if result.accepted else 1)
