"""Request bodies counted as they arrive, on every route, whatever the headers say.

The security review (issue 14 item 2) sent a chunked 300 MB JSON body to the API without
credentials: FastAPI reads and parses a JSON body *before* it runs the route's dependencies, so
the server grew to 1 GB before answering 401; a multipart login with a 300 MB file part was
spooled to the temporary folder. This ASGI layer, in front of every face, makes four rules:

* each route prefix has a byte budget (:class:`Budget`); a ``Content-Length`` above it is
  answered 413 before anything is read, and the bytes of a chunked (or lying) body are counted
  as they arrive: past the budget the layer answers 413 itself, tells the application the
  client is gone and drops whatever the application would still send;
* the login forms accept ``application/x-www-form-urlencoded`` only (no multipart, so no file
  part and no temporary file) within a few kilobytes;
* an API call with a body is authenticated first (bearer token or card, exactly as the route's
  dependency does it), so an anonymous caller is answered 401 without one byte being read;
* the portal's multipart parser keeps file parts in memory (:data:`FILE_SPOOL_BYTES`, above the
  portal budget): no clinical document is ever written to a temporary file, and memory stays
  bounded by the budget.

Why a pure ASGI layer: the budget must hold before any framework reads the body, and counting in
``receive`` costs one addition per chunk.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartParser
from starlette.requests import Request

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["FILE_SPOOL_BYTES", "Budget", "RequestLimits", "budgets"]

log = logging.getLogger("ncp.limits")

#: Largest login form (login name, password, CSRF token, TOTP code: a few hundred bytes).
LOGIN_FORM_BYTES = 16 * 1024
#: Methods whose requests carry a body worth authenticating first.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class Budget:
    """The byte budget of the routes under ``prefix`` (longest prefix wins)."""

    prefix: str
    max_bytes: int
    #: Only ``application/x-www-form-urlencoded`` bodies (the login forms).
    urlencoded_only: bool = False
    #: Authenticate an API call before reading its body.
    authenticate_api: bool = False


def budgets(*, soap_bytes: int, api_bytes: int, portal_bytes: int) -> tuple[Budget, ...]:
    """The budgets of our faces. The SOAP one leaves the gateway room to answer its own
    size refusal as a SOAP fault; anything unlisted gets the portal's."""
    return (
        Budget("/ws/", soap_bytes + 64 * 1024),
        Budget("/api/", api_bytes, authenticate_api=True),
        Budget("/portal/login", LOGIN_FORM_BYTES, urlencoded_only=True),
        Budget("/portal/", portal_bytes),
        Budget("/", portal_bytes),
    )


#: File parts of a multipart form stay in memory up to this size (Starlette's default rolls
#: them to a temporary file past 1 MiB). Set above every budget: the budget bounds them first.
FILE_SPOOL_BYTES = 64 * 1024 * 1024
MultiPartParser.spool_max_size = FILE_SPOOL_BYTES


class _TooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def _plain(send: Send, status: int, text: str, *, json: bool = False,
                 headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    if json:
        from ncp.api.problems import problem

        kinds = {401: ("unauthenticated", "Authentication required"),
                 413: ("upload-too-large", "Request too large"),
                 415: ("unsupported-media-type", "Unsupported media type"),
                 400: ("invalid-request", "Invalid request")}
        kind, title = kinds.get(status, ("invalid-request", "Invalid request"))
        response = problem(status, kind, title, text)
        body = bytes(response.body)
        all_headers = [(k, v) for k, v in response.raw_headers if k != b"content-length"]
    else:
        body = text.encode()
        all_headers = [(b"content-type", b"text/plain; charset=utf-8")]
    all_headers += [(b"content-length", str(len(body)).encode()), (b"connection", b"close"),
                    (b"cache-control", b"no-store"), *headers]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


class RequestLimits:
    """The ASGI layer of the module docstring."""

    def __init__(self, app: ASGIApp, *, budgets: Sequence[Budget]) -> None:
        self.app = app
        self.budgets = sorted(budgets, key=lambda b: len(b.prefix), reverse=True)

    def budget_for(self, path: str) -> Budget:
        return next(b for b in self.budgets if path.startswith(b.prefix) or b.prefix == "/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        budget = self.budget_for(scope.get("path", "/"))
        api = budget.authenticate_api
        length = _header(scope, b"content-length")
        if length is not None:
            if not length.strip().isdigit():
                await _plain(send, 400, "invalid Content-Length", json=api)
                return
            if int(length) > budget.max_bytes:
                await _plain(send, 413, f"the request body exceeds {budget.max_bytes} bytes",
                             json=api)
                return
        method = scope.get("method", "GET")
        if budget.urlencoded_only and method in BODY_METHODS:
            media = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
            has_body = (length is not None and int(length) > 0) or \
                _header(scope, b"transfer-encoding") is not None
            if media != "application/x-www-form-urlencoded" and (media or has_body):
                await _plain(send, 415, "this form is sent as application/x-www-form-urlencoded")
                return
        if api and method in BODY_METHODS and not await self._authenticated(scope):
            await _plain(send, 401, "a valid bearer token or registered client certificate is "
                         "required", json=True,
                         headers=[(b"www-authenticate", b'Bearer realm="dsp"')])
            return
        await self._counted(scope, receive, send, budget, api)

    async def _authenticated(self, scope: Scope) -> bool:
        """The route's own authentication (:func:`ncp.api.routes.professional`), run before the
        body is read. A failure is logged there (login log); the route runs it again."""
        from fastapi.security import HTTPAuthorizationCredentials

        from ncp.api.routes import professional
        from ncp.auth.service import AuthError

        request = Request(scope)
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        credentials = (HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip())
                       if scheme.lower() == "bearer" and token.strip() else None)
        try:
            await run_in_threadpool(professional, request, credentials)
        except AuthError:
            return False
        return True

    async def _counted(self, scope: Scope, receive: Receive, send: Send, budget: Budget,
                       api: bool) -> None:
        received = 0
        refused = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > budget.max_bytes:
                    refused = True
                    if not started:
                        log.info("request body over %d bytes refused: %s %s", budget.max_bytes,
                                 scope.get("method"), scope.get("path"))
                        await _plain(send, 413, f"the request body exceeds {budget.max_bytes} "
                                     "bytes", json=api)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # our 413 was the answer
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not refused:
                raise
            # the application saw the client "disconnect" mid-body: its error is ours to drop
