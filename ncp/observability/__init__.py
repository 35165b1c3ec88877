"""What operators see of a running gateway: Prometheus metrics and structured logs.

Both are fed from the few places where an outcome is final: the audit record of an exchange
(:func:`exchange_done`, called by the gateway pipeline right after the record is written), the
login log (:func:`login_done`), the database engine's error hook, and one ASGI layer for portal
actions. Nothing else in the code base needs to know they exist.
"""

from __future__ import annotations

from ncp.observability.events import (
    database_error,
    exchange_done,
    login_done,
    portal_action_done,
)
from ncp.observability.logs import configure_logging

__all__ = [
    "configure_logging",
    "database_error",
    "exchange_done",
    "login_done",
    "portal_action_done",
]
