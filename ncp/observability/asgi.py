"""``/metrics`` for the scraper, and one log line per portal or API request.

Why a bearer token on the main listener rather than a second port: with N processes behind
HAProxy every process can answer a scrape (multiprocess mode sums them), so the scraper needs
no per-process address; a foreign peer reaches the same port but not the token. No token
configured (``NCP_METRICS_TOKEN`` empty) means no ``/metrics`` at all (404), so a default
installation exposes nothing.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request, Response

from ncp.observability.events import portal_action_done
from ncp.observability.metrics import CONTENT_TYPE, render

__all__ = ["ActionLog", "install"]

Scope = MutableMapping[str, Any]

#: Path prefix -> area of the portal-action log; the SOAP endpoints log their exchanges.
_AREAS = (("/portal/static", None), ("/portal", "portal"), ("/xb", "portal"),
          ("/api", "api"))


def _area(path: str) -> str | None:
    for prefix, area in _AREAS:
        if path == prefix or path.startswith(prefix + "/"):
            return area
    return None


class ActionLog:
    """ASGI layer: after each portal/API response, count it and log its route template."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        area = _area(scope.get("path", "")) if scope["type"] == "http" else None
        if area is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path_format", None) or getattr(route, "path", None)
            portal_action_done(area=area, method=scope.get("method", ""),
                               route=template or "(unrouted)", status=status,
                               seconds=time.perf_counter() - started)


def install(app: FastAPI, token: str | None) -> None:
    """Add the action log and, with a token, ``GET /metrics``."""
    app.add_middleware(ActionLog)
    if not token:
        return
    expected = f"Bearer {token}".encode()

    @app.get("/metrics", include_in_schema=False)
    def scrape(request: Request) -> Response:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        runtime = request.app.state.runtime
        return Response(render(runtime.settings, runtime.engine), media_type=CONTENT_TYPE)
