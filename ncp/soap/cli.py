"""``ncp soap inspect``: read a captured eHDSI message the way the gateway does, for operators.

Interoperability problems are mostly found by hand with a captured request in a file: this
command runs the same steps as the gateway (envelope, addressing, MTOM, transaction, XSD, the
typed model) and prints what each step found, or the first refusal with its internal detail
(fine on the operator's own terminal; the detail never goes to a peer).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from lxml import etree

from ncp.errors import NcpError
from ncp.ihe import registry, schemas, xcpd, xdr
from ncp.ihe.registry import Transaction
from ncp.ihe.xca import query, retrieve
from ncp.soap import envelope as soap_envelope

soap_app = typer.Typer(help="Inspect SOAP messages (envelope, MTOM, IHE body).",
                       no_args_is_help=True)

_Parser = Callable[[etree._Element, Mapping[str, bytes]], Any]
PARSERS: dict[tuple[str, str], _Parser] = {
    ("ITI-55", "request"): lambda el, _a: xcpd.parse_request(el),
    ("ITI-55", "response"): lambda el, _a: xcpd.parse_response(el),
    ("ITI-38", "request"): lambda el, _a: query.parse_request(el),
    ("ITI-38", "response"): lambda el, _a: query.parse_response(el),
    ("ITI-39", "request"): lambda el, _a: retrieve.parse_request(el),
    ("ITI-39", "response"): retrieve.parse_response,
    ("ITI-41", "request"): xdr.parse_request,
    ("ITI-41", "response"): lambda el, _a: xdr.parse_response(el),
}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def describe(model: Any) -> str:
    """The model as indented JSON, binary content shown by size only."""
    return json.dumps(_plain(model), indent=2, default=str, ensure_ascii=False)


def _locate(action: str, body: etree._Element) -> tuple[Transaction, str]:
    for tx in registry.TRANSACTIONS.values():
        if action == tx.request_action and body.tag == tx.request_root:
            return tx, "request"
        if action == tx.response_action and body.tag == tx.response_root:
            return tx, "response"
    raise typer.BadParameter(f"no transaction has action {action} with body {body.tag}")


@soap_app.callback()
def _group() -> None:
    """Inspect SOAP messages (envelope, MTOM, IHE body)."""


@soap_app.command("inspect")
def inspect(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The HTTP body.")],
    content_type: str = typer.Option("application/soap+xml", "--content-type", "-t",
                                     help="The HTTP Content-Type (give it for MTOM)."),
    max_bytes: int = typer.Option(50 * 1024 * 1024, help="Size limit."),
) -> None:
    """Parse FILE as the gateway would and print each step's result."""
    data = file.read_bytes()
    try:
        try:
            msg = soap_envelope.parse_request(data, content_type, max_bytes=max_bytes)
        except NcpError as first:
            try:
                msg = soap_envelope.parse_response(data, content_type, max_bytes=max_bytes)
            except NcpError:
                raise first from None
        typer.echo(f"action:      {msg.action}")
        typer.echo(f"message id:  {msg.message_id}")
        if msg.relates_to:
            typer.echo(f"relates to:  {msg.relates_to}")
        typer.echo(f"MTOM:        {msg.mtom} ({len(msg.attachments)} attachment(s): "
                   f"{', '.join(f'{k} {len(v)} B' for k, v in msg.attachments.items())})")
        tx, direction = _locate(msg.action, msg.body_element)
        typer.echo(f"transaction: {tx.iti} {tx.name} ({direction})")
        schemas.validate_body(msg.reconstituted_body_element(), tx, direction)  # type: ignore[arg-type]
        typer.echo("schema:      valid")
        model = PARSERS[(tx.iti, direction)](msg.body_element, msg.attachments)
        typer.echo(describe(model))
    except NcpError as exc:
        typer.echo(f"refused: {type(exc).__name__} {exc.error.code} {exc.error.wire}: "
                   f"{exc.detail} [{exc.location}]", err=True)
        raise typer.Exit(1) from None
