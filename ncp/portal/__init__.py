"""The DSP portal: pages for patients (and their assistants) and for professionals.

``install(app)`` adds the pages under ``/portal`` and their static files; everything a page does
to a record goes through :class:`ncp.store.dsp.Records` (one access policy, one access log).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from ncp.portal import activation, login, notice, patient, professional
from ncp.portal.web import PREFIX, html_form_error, wants_html

router = APIRouter(prefix=PREFIX)
router.include_router(login.router)
router.include_router(activation.router)
router.include_router(notice.router)
router.include_router(patient.router)
router.include_router(professional.router)


def install(app: FastAPI) -> None:
    """Add the portal to ``app``: its pages and ``/portal/static``; the root URL (the one the
    README gives) leads to the portal; a browser's form with an empty required field gets a
    translated page, not FastAPI's 422 JSON."""
    app.include_router(router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=303)

    async def invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if wants_html(request):
            fields = [str(e.get("loc", ("", "?"))[-1]) for e in exc.errors()]
            return html_form_error(request, fields)
        return await request_validation_exception_handler(request, exc)

    app.add_exception_handler(RequestValidationError, invalid_request)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=Path(__file__).with_name("static")),
              name="portal-static")


__all__ = ["install", "router"]
