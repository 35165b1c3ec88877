"""The events operators count and read: one per exchange, per login step, per portal action.

Each event updates the metrics and writes one log line (logger ``ncp.events``). The fields are
chosen here so that no clinical content, no name and no raw identifier reaches a log: the
exchange line carries the audit record's id as its correlation id (the audit record, in the
database, holds who and what), the peer's country, the HCP's role code, the eHDSI error code
and the refusal reason with identifiers redacted.

Why a failure here never fails the request: the audit record is already written, and a metric
or a log line is worth less than the answer to a peer.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ncp.observability.logs import redact
from ncp.observability.metrics import metrics

if TYPE_CHECKING:
    from ncp.gateway.exchange import Exchange

__all__ = ["database_error", "exchange_done", "login_done", "portal_action_done"]

log = logging.getLogger("ncp.events")
_internal = logging.getLogger("ncp.observability")


def _outcome(ex: Exchange) -> str:
    """``success``, ``partial`` (some documents refused), ``refused`` or ``error`` (crash)."""
    if ex.crashed:
        return "error"
    if ex.error is not None:
        return "refused"
    if ex.partial_errors:
        return "partial"
    return "success"


def exchange_done(ex: Exchange, audit_ids: list[int] | None, seconds: float) -> None:
    """Count and log one answered gateway request (called after its audit record)."""
    try:
        transaction = ex.transaction.iti if ex.transaction else f"unknown:{ex.endpoint}"
        outcome = _outcome(ex)
        error = ex.error or next(iter(ex.partial_errors), None)
        code = error.error.wire if error is not None else ""
        country = ex.peer_country or "unknown"
        m = metrics()
        m.exchanges.labels(transaction, country, outcome, code).inc()
        m.exchange_seconds.labels(transaction).observe(seconds)
        hcp = ex.identity.hcp if ex.identity is not None else None
        event = {
            "event": "exchange",
            "transaction": transaction,
            "endpoint": ex.endpoint,
            "peer_country": country,
            "peer_host": ex.peer_host,
            "hcp_role": hcp.role_code if hcp else None,
            "service": ex.service.name.lower() if ex.service is not None else None,
            "outcome": outcome,
            "error_code": code or None,
            "error_id": error.error_id if error is not None else None,
            "reason": redact(error.detail) if error is not None else None,
            "duration_ms": round(seconds * 1000, 2),
            "audit_id": audit_ids[0] if audit_ids else None,
            "message_id": redact(ex.message_id, 120),
        }
        level = logging.WARNING if outcome == "error" else logging.INFO
        log.log(level, "exchange %s %s", transaction, outcome, extra={"event": event})
    except Exception:
        _internal.exception("exchange metrics/log failed")


def login_done(*, method: str, outcome: str, reason: str | None) -> None:
    """Count and log one login step (password, TOTP, card); the login name is not logged."""
    try:
        metrics().logins.labels(method, outcome).inc()
        log.info("login %s %s", method, outcome,
                 extra={"event": {"event": "login", "method": method, "outcome": outcome,
                                  "reason": redact(reason)}})
    except Exception:
        _internal.exception("login metrics/log failed")


def portal_action_done(*, area: str, method: str, route: str, status: int,
                       seconds: float) -> None:
    """Count and log one portal or API request (route template, never its values)."""
    try:
        metrics().portal_requests.labels(area, f"{status // 100}xx").inc()
        outcome = "ok" if status < 400 else "refused" if status < 500 else "error"
        log.info("%s %s %s %d", area, method, route, status,
                 extra={"event": {"event": area, "method": method, "route": redact(route),
                                  "status": status, "outcome": outcome,
                                  "duration_ms": round(seconds * 1000, 2)}})
    except Exception:
        _internal.exception("portal metrics/log failed")


def database_error(kind: str) -> None:
    """Count one error raised by the database driver (SQLAlchemy ``handle_error``)."""
    try:
        metrics().database_errors.labels(kind).inc()
    except Exception:
        _internal.exception("database error metric failed")
