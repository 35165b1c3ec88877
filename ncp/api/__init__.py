"""The DSP's JSON API (OpenAPI at ``/api/openapi.json``): ``install(app)`` adds it to the app."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ncp.api.problems import problem
from ncp.api.routes import router


def install(app: FastAPI) -> None:
    """Add the API routes, and problem+json for unknown paths and methods under ``/api/``."""
    app.include_router(router)

    async def not_routed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if request.url.path.startswith("/api/"):
            return problem(exc.status_code, f"http-{exc.status_code}", str(exc.detail))
        from ncp.portal.web import html_error, wants_html

        if exc.status_code in (404, 405) and wants_html(request):
            return html_error(request, exc.status_code)  # a browser gets a page (issue 15)
        return await http_exception_handler(request, exc)

    app.add_exception_handler(StarletteHTTPException, not_routed)


__all__ = ["install", "router"]
