"""Headers every HTTPS answer carries, whichever face (portal, API, gateway) made it.

A pure ASGI layer rather than a FastAPI middleware: it only adds headers to the response start
message, never buffers a body, and costs one list append per response.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
                   Awaitable[None]]

#: Two years, subdomains included (the value the HSTS preload list asks for). Only sent over
#: HTTPS (RFC 6797 section 7.2: a user agent ignores it on plain HTTP anyway).
HSTS = b"max-age=63072000; includeSubDomains"


class StrictTransport:
    """Adds ``Strict-Transport-Security`` to every answer given over HTTPS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                if not any(k.lower() == b"strict-transport-security" for k, _ in headers):
                    headers.append((b"strict-transport-security", HSTS))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_hsts)


#: A matricule (13 digits) or any longer run of digits: personal identifiers in URLs
#: (``/portal/pro/patients/1956031212359``, ``?patient=...``). Document OIDs (dotted) stay.
_IDENTIFIER = re.compile(r"(?<![\d.])\d{9,}(?![\d.])")


class RedactIdentifiers(logging.Filter):
    """Removes personal identifiers from HTTP access-log lines before they are written.

    Why: a matricule encodes a birth date and names a patient; an access log is kept and
    shipped with far less care than the record store, and the access log of the record
    (``access_log``) already says who looked at whom.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(_IDENTIFIER.sub("[id]", a) if isinstance(a, str) else a
                                for a in args)
        if isinstance(record.msg, str):
            record.msg = _IDENTIFIER.sub("[id]", record.msg)
        return True


def redact_access_log() -> None:
    """Install :class:`RedactIdentifiers` on uvicorn's access logger (once per process)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactIdentifiers) for f in access.filters):
        access.addFilter(RedactIdentifiers())
