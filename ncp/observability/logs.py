"""Logging set-up: JSON lines for log shippers, or readable text (the development default).

Why a small formatter rather than a library: a JSON line is ``json.dumps`` of the record's
fields; what matters is *which* fields, and those are chosen where the events are made
(:mod:`ncp.observability.events`), never clinical content, names or raw identifiers.

Events carry their fields in ``record.event`` (``log.info(msg, extra={"event": {...}})``);
other records (uvicorn's, our warnings) become lines with the message only, so one stream has
one format.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from typing import Any, Literal

__all__ = ["JsonFormatter", "TextFormatter", "configure_logging", "redact"]

_HANDLER_NAME = "ncp-observability"

#: Long digit runs (matricules, card and serial numbers, phone numbers) and e-mail addresses:
#: what an error detail could carry of a person. OIDs (short dotted numbers) stay readable.
_IDENTIFIER = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+|\d{6,}")


def redact(text: str | None, limit: int = 300) -> str | None:
    """``text`` with identifiers replaced by ``[redacted]``, cut to ``limit`` characters."""
    if text is None:
        return None
    return _IDENTIFIER.sub("[redacted]", text)[:limit]


def _base(record: logging.LogRecord) -> dict[str, Any]:
    return {
        "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the event's fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        data = _base(record)
        event = getattr(record, "event", None)
        if isinstance(event, dict):
            data.update(event)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """``time level logger msg key=value ...``: for a person reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        data = _base(record)
        line = f"{data['ts']} {record.levelname:<7} {record.name}: {data['msg']}"
        event = getattr(record, "event", None)
        if isinstance(event, dict):
            line += "".join(f" {k}={v}" for k, v in event.items() if v is not None)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(fmt: Literal["text", "json"], level: str = "INFO",
                      stream: Any = None) -> logging.Handler:
    """Send every logger's records to ``stream`` (stderr) in ``fmt``, at ``level``.

    Idempotent: a second call replaces our handler instead of adding one (tests, reloads).
    uvicorn's loggers are made to propagate here, so its lines share the format.
    """
    root = logging.getLogger()
    for h in list(root.handlers):
        if h.get_name() == _HANDLER_NAME:
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    return handler
