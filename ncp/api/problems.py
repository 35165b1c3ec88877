"""RFC 9457 problem details for every error of the JSON API.

The caller sees a type URI, a title, the HTTP status, the eHDSI code where there is one, and an
error id to quote to the operators; never an internal message of an access refusal (the reason
is in the patient's access log). Input errors do say what was wrong with the input.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from ncp.auth.service import AuthError
from ncp.portal.content import MAX_UPLOAD_BYTES, UploadRejected
from ncp.store.errors import AccessDenied, ContentTampered, InvalidInput, NotFound, StoreError

PROBLEM = "application/problem+json"
#: Largest request body read at all: a base64 upload of the largest document, plus slack.
MAX_BODY_BYTES = (MAX_UPLOAD_BYTES // 3 + 1) * 4 + 256 * 1024
TYPE_BASE = "urn:ncp:problem:"
log = logging.getLogger("ncp.api")


class Problem(BaseModel):
    """The problem document (RFC 9457 section 3)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str | None = None
    error_id: str


def problem(status: int, kind: str, title: str, detail: str | None = None, *,
            code: str | None = None, error_id: str | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    body = Problem(type=TYPE_BASE + kind, title=title, status=status, detail=detail, code=code,
                   error_id=error_id or uuid.uuid4().hex)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status,
                        media_type=PROBLEM, headers=headers)


def from_exception(exc: Exception) -> JSONResponse:
    """Map a typed error of the services (or of FastAPI) to its problem document."""
    if isinstance(exc, AuthError) and exc.reason == "cross-site":
        return problem(403, "cross-site", "Cross-site request refused",
                       "a card-authenticated call must come from this site or carry a "
                       "bearer token")
    if isinstance(exc, AuthError) and exc.reason == "locked" and exc.retry_after is not None:
        wait = max(1, math.ceil(exc.retry_after.total_seconds()))
        return problem(429, "back-off", "Too many failed attempts",
                       "wait before the next attempt", headers={"Retry-After": str(wait)})
    if isinstance(exc, AuthError):
        return problem(401, "unauthenticated", "Authentication required",
                       "a valid bearer token or registered client certificate is required",
                       headers={"WWW-Authenticate": 'Bearer realm="dsp"'})
    if isinstance(exc, AccessDenied):
        return problem(403, "access-denied", "Access denied by the DSP policy",
                       code=exc.error.wire, error_id=exc.error_id)
    if isinstance(exc, NotFound):
        return problem(404, "not-found", "Not found", code=exc.error.wire,
                       error_id=exc.error_id)
    if isinstance(exc, UploadRejected):
        status = 413 if exc.reason == "too-large" else 422
        return problem(status, "upload-" + exc.reason, "Document refused", exc.detail)
    if isinstance(exc, ContentTampered):
        log.error("content integrity failure %s", exc.error_id)
        return problem(500, "integrity", "Stored content failed its integrity check",
                       error_id=exc.error_id)
    if isinstance(exc, InvalidInput | StoreError):
        return problem(422, "invalid-input", "Invalid input", exc.detail)
    if isinstance(exc, RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return problem(422, "invalid-request", "Invalid request",
                       f"{where}: {first.get('msg', 'invalid')}")
    if isinstance(exc, HTTPException):
        return problem(exc.status_code, "http-" + str(exc.status_code), str(exc.detail))
    error_id = uuid.uuid4().hex
    log.exception("unexpected API error %s", error_id, exc_info=exc)
    return problem(500, "internal", "Internal error", error_id=error_id)


class ProblemRoute(APIRoute):
    """Every error raised by an API route (validation included) answers as problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            length = request.headers.get("content-length", "")
            if length.isdigit() and int(length) > MAX_BODY_BYTES:
                return problem(413, "upload-too-large", "Request too large",
                               f"the request body exceeds {MAX_BODY_BYTES} bytes")
            try:
                response = await handler(request)
            except Exception as exc:
                response = from_exception(exc)
            response.headers.setdefault("Cache-Control", "no-store")
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            return response
        return run


#: The error answers every operation documents (for the OpenAPI document and its fuzzers).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": text,
             "content": {PROBLEM: {"schema": Problem.model_json_schema()}}}
    for status, text in ((400, "Malformed request"), (401, "Not authenticated"),
                         (403, "Refused by the access policy"),
                         (404, "Unknown patient or document"), (413, "Upload too large"),
                         (422, "Invalid input"))
}
