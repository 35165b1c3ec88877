# ruff: noqa: B008  (typer declares options as argument defaults)
"""``ncp explain``: why the gateway refused a peer, by the error id it sent, or a captured
request checked offline.

    ncp explain 3f2a9c...            # the error id a peer quotes (fault, RegistryError, AE)
    ncp explain 3f2a9c... --lang de --json
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
    error_id: str | None = typer.Argument(None, help="the error id a peer quotes"),
    message: Path | None = typer.Option(None, "--message", exists=True, dir_okay=False,
                                        help="the captured HTTP body (SOAP or MTOM)"),
    lang: str = typer.Option("en", help="fr, de or en"),
    as_json: bool = typer.Option(False, "--json", help="as JSON, for a ticket"),
    content_type: str = typer.Option("application/soap+xml; charset=UTF-8",
                                     help="the captured Content-Type header"),
    peer_cert: Path | None = typer.Option(None, exists=True, dir_okay=False,
                                          help="the peer's TLS client certificate (PEM)"),
    country: str | None = typer.Option(None, help="the peer's country, without --peer-cert"),
    at: str | None = typer.Option(None, help="check as of this instant (ISO 8601; "
                                  "default now): the time the message was received"),
) -> None:
    """Explain a refusal by its error id, or run the inbound checks on a captured request."""
    from ncp.gateway.explain import explain_message

    if (error_id is None) == (message is None):
        raise typer.BadParameter("give an error id, or --message FILE")
    if error_id is not None:
        _explain_error_id(error_id.strip().lower(), lang, as_json)
        return
    assert message is not None

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


def _explain_error_id(error_id: str, lang: str, as_json: bool) -> None:
    """The stored reason of one refusal, in words: which check, which element, the rule and
    where it is written, the peer and the time. Nothing clinical is stored with it."""
    import json

    from lxml import etree

    from ncp.gateway.reasons import rule_for
    from ncp.store.audit import AuditLog
    from ncp.store.db import make_engine, session_factory
    from ncp.store.keys import KeyRingSource

    settings = get_settings()
    engine = make_engine(settings.sqlalchemy_url)
    keys = KeyRingSource.from_file(settings.master_keys_path) \
        if settings.master_keys_path.exists() else None
    try:
        found = AuditLog(session_factory(engine), keys).refusal(error_id)
    finally:
        engine.dispose()
    if found is None:
        typer.echo(f"no refusal with the error id {error_id} is recorded here", err=True)
        raise typer.Exit(1)
    record, refusal = found
    peer = ""
    try:  # the requesting gateway as the ATNA record names it (its network access point)
        root = etree.fromstring(record.message.encode() if isinstance(record.message, str)
                                else record.message)
        for p in root.iter("ActiveParticipant"):
            if p.get("UserIsRequestor", "").lower() == "true" and p.get("NetworkAccessPointID"):
                peer = f"{p.get('UserID')} at {p.get('NetworkAccessPointID')}"
                break
    except etree.XMLSyntaxError:
        pass
    rule = rule_for(refusal.check)
    labels = {"fr": ("contrôle", "élément", "règle", "source", "pair", "quand", "détail",
                     "transaction"),
              "de": ("Prüfung", "Element", "Regel", "Quelle", "Partner", "Zeitpunkt", "Detail",
                     "Transaktion"),
              "en": ("check", "element", "rule", "source", "peer", "when", "detail",
                     "transaction")}.get(lang)
    if labels is None:
        raise typer.BadParameter("--lang is fr, de or en")
    # Only a record written before its check had a rule lacks one (ncp/gateway/reasons.py).
    fallback = {"fr": "contrôle sans description détaillée; voir le détail",
                "de": "Prüfung ohne ausführliche Beschreibung; siehe Detail",
                "en": "check without a longer description; see the detail"}[lang]
    data = {"error_id": refusal.error_id, "when": record.at.isoformat(),
            "transaction": record.transaction, "outcome": record.outcome, "peer": peer,
            "check": refusal.check, "family": rule.family if rule else None,
            "element": refusal.element, "detail": refusal.detail,
            "rule": rule.text(lang) if rule else fallback,
            "source": rule.spec if rule else None, "audit_record": record.id}
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    check, element, rule_l, source, peer_l, when, detail, tx = labels
    typer.echo(f"error id {refusal.error_id} (audit record {record.id})")
    for label, value in ((when, f"{record.at:%Y-%m-%d %H:%M:%S} UTC"), (tx, record.transaction),
                         (peer_l, peer or "-"),
                         (check, f"{refusal.check} ({rule.family})" if rule else refusal.check),
                         (element, refusal.element or "-"), (detail, refusal.detail or "-"),
                         (rule_l, data["rule"]), (source, data["source"] or "-")):
        typer.echo(f"  {label:12} {value}")
