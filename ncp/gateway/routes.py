"""The SOAP endpoints of the responding gateway (FastAPI): one thin route per service.

``POST /ws/xcpd`` (ITI-55), ``POST /ws/xca`` (ITI-38 and ITI-39, told apart by ``wsa:Action``),
``POST /ws/xdr`` (ITI-41). A route reads the body (never more than the configured limit plus
one byte: the pipeline then refuses it as too large), takes the verified TLS client certificate
from the request scope (:mod:`ncp.server`) and hands both to :meth:`Gateway.handle` in a worker
thread (at most ``NCP_GATEWAY_CONCURRENCY`` at once per process); the answer goes back as is.

The routes are plain Starlette routes put first in the app's routing table (:func:`install`),
not FastAPI path operations: they take the raw request and return a ready response, so
FastAPI's per-request machinery (parameter solving, the walk through the portal's and the
API's included routers) was pure overhead, about a third of the HTTP side's CPU per request.
They are not in the OpenAPI description either way (SOAP is described by its WSDLs).
"""

from __future__ import annotations

import functools
import threading

import anyio
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ncp.gateway.pipeline import Gateway
from ncp.gateway.setup import build_gateway
from ncp.server import client_cert_pem

__all__ = ["ROUTES", "gateway_of", "install"]

_lock = threading.Lock()


def _limiter(request: Request) -> anyio.CapacityLimiter:
    """At most ``NCP_GATEWAY_CONCURRENCY`` requests of this process in the pipeline at once;
    the others wait their turn in order. Why: the work is CPU-bound under one GIL, and with
    SQLite every extra thread is one more writer polling for the database lock (long tails)."""
    state = request.app.state
    limiter = getattr(state, "gateway_limiter", None)
    if limiter is None:
        with _lock:
            limiter = getattr(state, "gateway_limiter", None)
            if limiter is None:
                limiter = anyio.CapacityLimiter(gateway_of(request).settings.gateway_concurrency)
                state.gateway_limiter = limiter
    return limiter


def gateway_of(request: Request) -> Gateway:
    """The process's gateway, built on first use from the app's runtime."""
    state = request.app.state
    gateway = getattr(state, "gateway", None)
    if gateway is None:
        with _lock:
            gateway = getattr(state, "gateway", None)
            if gateway is None:
                runtime = state.runtime
                gateway = build_gateway(runtime.settings, runtime.engine, runtime.records)
                state.gateway = gateway
    return gateway


async def _body(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)


async def _serve(request: Request, endpoint: str) -> Response:
    gateway = gateway_of(request)
    body = await _body(request, gateway.settings.max_request_bytes)
    call = functools.partial(
        gateway.handle, endpoint, body, request.headers.get("content-type", ""),
        peer_certificate_pem=client_cert_pem(request.scope),
        peer_host=request.client.host if request.client else None)
    answer = await anyio.to_thread.run_sync(call, limiter=_limiter(request))
    return Response(content=answer.body, status_code=answer.status,
                    headers={"content-type": answer.content_type})


async def xcpd(request: Request) -> Response:
    """XCPD Cross Gateway Patient Discovery (ITI-55)."""
    return await _serve(request, "xcpd")


async def xca(request: Request) -> Response:
    """XCA Cross Gateway Query and Retrieve (ITI-38, ITI-39)."""
    return await _serve(request, "xca")


async def xdr(request: Request) -> Response:
    """XDR Provide and Register Document Set-b (ITI-41)."""
    return await _serve(request, "xdr")


ROUTES: tuple[Route, ...] = (
    Route("/ws/xcpd", xcpd, methods=["POST"], name="gateway-xcpd"),
    Route("/ws/xca", xca, methods=["POST"], name="gateway-xca"),
    Route("/ws/xdr", xdr, methods=["POST"], name="gateway-xdr"),
)


def install(app: FastAPI) -> None:
    """Put the SOAP routes first in ``app``'s routing table (their paths are theirs alone)."""
    app.router.routes[0:0] = list(ROUTES)
