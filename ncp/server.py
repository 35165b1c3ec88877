"""Serving the ASGI app over TLS with uvicorn, with the client certificate handed to the app.

Uvicorn verifies a client certificate against the CA bundle but does not pass it to the
application; the gateway needs it (the TLS client's country must equal the assertion signer's
country). Our protocols add it to each request scope under the ASGI TLS extension:
``scope["extensions"]["tls"]["client_cert_chain"]`` (PEM strings).

:class:`PeerCertHttpToolsProtocol` is the default: httptools, the C parser of
uvicorn[standard], with uvloop through uvicorn's ``auto`` loop; the whole HTTP side of a SOAP
request (TLS included) costs a quarter less CPU than with the pure-Python h11 parser
(:class:`PeerCertH11Protocol`, kept for comparison: 0.72 against 0.95 ms in
``bench/gateway.py`` conditions). Both read the certificate once per connection, when TLS is
established.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import uvicorn
from cryptography.hazmat.primitives.serialization import Encoding
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ncp.security.truststore import Purpose, load_trust_list
from ncp.settings import Settings

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]],
                   Awaitable[None]]


class _WithPeerCert:
    def __init__(self, app: ASGIApp, pem: str | None) -> None:
        self.app = app
        self.pem = pem

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            extensions = dict(scope.get("extensions") or {})
            extensions["tls"] = _tls_extension(self.pem)
            scope["extensions"] = extensions
        await self.app(scope, receive, send)


def _peer_pem(transport: Any) -> str | None:
    """The client certificate the TLS layer verified on this connection, as PEM."""
    ssl_object = transport.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    return ssl.DER_cert_to_PEM_cert(der) if der else None


def _tls_extension(pem: str | None) -> dict[str, Any]:
    return {"client_cert_chain": [pem] if pem else [], "client_cert_name": None,
            "client_cert_error": None}


class PeerCertH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus the verified client certificate in every request scope."""

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.app = _WithPeerCert(self.app, _peer_pem(transport))


class PeerCertHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus the verified client certificate in every request
    scope (set where the protocol creates the scope: no extra ASGI layer per request)."""

    _peer_pem: str | None = None

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._peer_pem = _peer_pem(transport)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {"tls": _tls_extension(self._peer_pem)}  # type: ignore[typeddict-unknown-key]


def client_cert_pem(scope: Scope) -> str | None:
    """The TLS client certificate of the request (verified by the TLS layer), if any."""
    chain = (scope.get("extensions") or {}).get("tls", {}).get("client_cert_chain") or []
    return chain[0] if chain else None


def tls_client_anchor_bundle(settings: Settings) -> Path:
    """Write the CA bundle of every anchor trusted for TLS clients (gateways and professional
    cards), for the TLS layer. The TLS layer lets either through; the app then checks each for
    its own purpose: the gateway for ``tls-client`` (so a card is never a peer), the card login
    for ``card`` (with the CRL)."""
    trust = load_trust_list(settings.trust_list_path)
    pems = []
    for country in trust.countries.values():
        for anchor in country.anchors:
            if anchor.purposes & {Purpose.TLS_CLIENT, Purpose.CARD}:
                pems.append(anchor.certificate.public_bytes(Encoding.PEM).decode())
    bundle = settings.var_dir / "run" / "tls-client-anchors.pem"
    bundle.parent.mkdir(parents=True, exist_ok=True)
    bundle.write_text("".join(pems))
    return bundle


def uvicorn_config(app: ASGIApp, settings: Settings, **overrides: Any) -> uvicorn.Config:
    """The uvicorn configuration for ``settings``: HTTPS with client certificates verified when
    presented (the SOAP routes require one), or plain HTTP only if explicitly allowed."""
    options: dict[str, Any] = {"host": settings.host, "port": settings.port,
                               "log_level": "info", "proxy_headers": False,
                               "server_header": False}
    if settings.allow_plain_http:
        options["http"] = "httptools"
    else:
        options.update(
            http=PeerCertHttpToolsProtocol,
            ssl_certfile=str(settings.tls_cert_path),
            ssl_keyfile=str(settings.tls_key_path),
            ssl_ca_certs=str(tls_client_anchor_bundle(settings)),
            ssl_cert_reqs=ssl.CERT_OPTIONAL,
        )
    options.update(overrides)
    return uvicorn.Config(app, **options)


def serve(app: ASGIApp, settings: Settings) -> None:
    """Run ``app`` on the configured address until interrupted, logging in the configured
    format (uvicorn's own lines included: its logging set-up is turned off)."""
    from ncp.observability import configure_logging

    configure_logging(settings.log_format_effective, settings.log_level)
    uvicorn.Server(uvicorn_config(app, settings, log_config=None,
                                  log_level=settings.log_level.lower())).run()
