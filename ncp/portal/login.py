"""Logging in and out: password then TOTP, or the professional card (TLS client certificate)."""

from __future__ import annotations

import math

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ncp.auth.service import AuthError, Principal
from ncp.portal.web import (
    PREFIX,
    SESSION_COOKIE,
    Current,
    PortalRoute,
    authenticator,
    check_form_origin,
    client_address,
    page,
    redirect,
    require_csrf,
)
from ncp.server import client_cert_pem

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


def _set_session(response: Response, request: Request, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path=PREFIX)


def _with_retry_after(exc: AuthError, response: Response) -> Response:
    """A back-off refusal says when the next attempt will be evaluated (RFC 9110 10.2.3)."""
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after.total_seconds())))
    return response


def home_of(principal: Principal) -> str:
    if principal.kind == "professional":
        return "/pro"
    if principal.patient_id is None:
        return "/assist"
    return "/me"


@router.get("/")
def home(principal: Current) -> RedirectResponse:
    return redirect(home_of(principal))


@router.get("/login")
def login_form(request: Request) -> Response:
    return page(request, "login.html", error=None)


@router.post("/login")
def login(request: Request, login: str = Form(..., max_length=200),
          password: str = Form(..., max_length=1000)) -> Response:
    check_form_origin(request)
    auth = authenticator(request)
    try:
        token = auth.start_password(login, password, client_address(request))
    except AuthError as exc:
        status = 429 if exc.reason == "locked" else 401
        return _with_retry_after(exc, page(request, "login.html", error=f"error.auth.{exc.reason}",
                                           status_code=status))
    response = redirect("/login/totp")
    _set_session(response, request, token)
    return response


@router.get("/login/totp")
def totp_form(request: Request) -> Response:
    if authenticator(request).pending(request.cookies.get(SESSION_COOKIE)) is None:
        return redirect("/login")
    return page(request, "totp.html", error=None)


@router.post("/login/totp")
def totp(request: Request, code: str = Form(..., max_length=20)) -> Response:
    check_form_origin(request)
    auth = authenticator(request)
    try:
        principal = auth.finish_totp(request.cookies.get(SESSION_COOKIE), code,
                                     client_address(request))
    except AuthError as exc:
        if exc.reason == "expired":
            return redirect("/login", done="expired")
        status = 429 if exc.reason == "locked" else 401
        return _with_retry_after(exc, page(request, "totp.html", error=f"error.auth.{exc.reason}",
                                           status_code=status))
    return redirect(home_of(principal))


@router.post("/login/card")
def login_card(request: Request) -> Response:
    """The professional card: the certificate the TLS layer verified for this connection."""
    check_form_origin(request)
    auth = authenticator(request)
    try:
        token = auth.login_certificate(client_cert_pem(request.scope), client_address(request))
    except AuthError as exc:
        return page(request, "login.html", error=f"error.auth.{exc.reason}", status_code=401)
    response = redirect("/pro")
    _set_session(response, request, token)
    return response


@router.post("/logout")
async def logout(request: Request, principal: Current) -> Response:
    await require_csrf(request, principal)
    authenticator(request).logout(request.cookies.get(SESSION_COOKIE))
    response = redirect("/login", done="logged_out")
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response
