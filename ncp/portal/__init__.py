"""The DSP portal: pages for patients (and their assistants) and for professionals.

``install(app)`` adds the pages under ``/portal`` and their static files; everything a page does
to a record goes through :class:`ncp.store.records.Records` (one access policy, one access log).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from ncp.portal import login, patient, professional
from ncp.portal.web import PREFIX

router = APIRouter(prefix=PREFIX)
router.include_router(login.router)
router.include_router(patient.router)
router.include_router(professional.router)


def install(app: FastAPI) -> None:
    """Add the portal to ``app``: its pages and ``/portal/static``."""
    app.include_router(router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=Path(__file__).with_name("static")),
              name="portal-static")


__all__ = ["install", "router"]
