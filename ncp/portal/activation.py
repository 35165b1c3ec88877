"""Activating a DSP with the activation letter: matricule and code, then a password and the
authenticator app (issue 17 item 2). The rules are :mod:`ncp.auth.activation`'s; these pages
only carry the person from one step to the next."""

from __future__ import annotations

import math

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from ncp.auth import totp
from ncp.auth.activation import Activation, Ticket
from ncp.auth.passwords import MIN_PASSWORD_LENGTH
from ncp.auth.service import AuthError
from ncp.portal.web import (
    PortalRoute,
    authenticator,
    check_form_origin,
    client_address,
    language,
    page,
    redirect,
)

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


def _activation(request: Request) -> Activation:
    return Activation(authenticator(request))


def _refused(request: Request, exc: AuthError, template: str, **context: object) -> Response:
    status = 429 if exc.reason == "locked" else 400
    response = page(request, template, status_code=status, error=f"error.auth.{exc.reason}",
                    **context)
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(
            exc.retry_after.total_seconds())))
    return response


def _second_step(request: Request, ticket: str, secret: str, matricule: str, name: str,
                 error: str | None = None, status_code: int = 200) -> Response:
    return page(request, "activate_finish.html", status_code=status_code, error=error,
                ticket=ticket, secret=secret, login=matricule.lower(), person_name=name,
                uri=totp.provisioning_uri(secret, matricule.lower()),
                min_length=MIN_PASSWORD_LENGTH,
                grouped=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)))


@router.get("/activate")
def activate_form(request: Request) -> Response:
    return page(request, "activate.html", error=None)


@router.post("/activate")
def activate(request: Request, matricule: str = Form(..., max_length=40),
             code: str = Form(..., max_length=40)) -> Response:
    check_form_origin(request)
    try:
        ticket: Ticket = _activation(request).start(matricule, code, client_address(request))
    except AuthError as exc:
        return _refused(request, exc, "activate.html")
    person = ticket.recipient
    return _second_step(request, ticket.token, ticket.totp_secret, person.matricule,
                        f"{person.given_name} {person.family_name}")


@router.post("/activate/finish")
def finish(request: Request, ticket: str = Form(..., max_length=100),
           secret: str = Form(..., max_length=64), password: str = Form(..., max_length=1000),
           password2: str = Form(..., max_length=1000),
           code: str = Form(..., max_length=20)) -> Response:
    check_form_origin(request)
    service = _activation(request)
    person = service.pending(ticket)
    if person is None:
        return page(request, "activate.html", status_code=400,
                    error="error.auth.activation-expired")
    name = f"{person.given_name} {person.family_name}"

    def again(error: str, status_code: int = 400) -> Response:
        return _second_step(request, ticket, secret, person.matricule, name, error,
                            status_code)

    if password != password2:
        return again("error.auth.password-mismatch")
    if len(password) < MIN_PASSWORD_LENGTH:
        return again("error.auth.password-short")
    try:
        service.finish(ticket, password=password, totp_secret=secret, code=code,
                       client=client_address(request), language=language(request))
    except AuthError as exc:
        if exc.reason == "activation-expired":
            return page(request, "activate.html", status_code=400, error="error.auth." +
                        exc.reason)
        response = again(f"error.auth.{exc.reason}", 429 if exc.reason == "locked" else 400)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(max(1, math.ceil(
                exc.retry_after.total_seconds())))
        return response
    return redirect("/login", done="activated")
