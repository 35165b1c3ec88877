"""Cross-border care in Luxembourg (country B): the pages of our doctors and pharmacists for
foreign visitors, on top of the initiating gateway (:mod:`ncp.peers`).

``install(app)`` adds the pages under ``/portal/xb`` (the portal's login and sessions apply).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from ncp.portal.web import PREFIX

router = APIRouter(prefix=PREFIX)


def install(app: FastAPI) -> None:
    from ncp.crossborder import pages

    router.include_router(pages.router)
    app.include_router(router)


__all__ = ["install", "router"]
