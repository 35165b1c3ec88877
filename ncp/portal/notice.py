"""The Patient Information Notice as a public, printable page: the LU doctor who received a
visitor's summary prints it for the visitor in their language (issue 17 item 8); anyone may
read it before logging in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ncp.consent.notice import LANGUAGES, current_version, notice, versions
from ncp.portal.web import BadForm, PortalRoute, _session_principal, language, page

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


@router.get("/notice")
def printable_notice(request: Request, version: str = "", notice_lang: str = "") -> Response:
    """``notice_lang`` chooses the notice's language without changing the portal's (the
    doctor's pages stay in theirs); ``version`` an earlier version, as a patient read it."""
    principal = _session_principal(request)
    version = version or current_version()
    if version not in versions():
        raise BadForm("form.notice_version")
    lang = notice_lang if notice_lang in LANGUAGES else language(request, principal)
    return page(request, "notice_print.html", principal, notice=notice(version, lang),
                notice_languages=LANGUAGES, current=current_version())
