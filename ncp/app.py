"""The ASGI application: one FastAPI app for the gateway, the portal and the API.

Resources (database engine, record service, key ring) are built once at startup from the
settings, in the lifespan, never at import time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request, Response
from sqlalchemy import Engine

from ncp import __version__
from ncp.api.problems import MAX_BODY_BYTES
from ncp.hardening import StrictTransport, redact_access_log
from ncp.portal.content import MAX_UPLOAD_BYTES
from ncp.request_limits import RequestLimits, budgets
from ncp.settings import Settings, get_settings
from ncp.store.db import database_status, make_engine, session_factory
from ncp.store.dsp import Records
from ncp.store.keys import KeyRingSource

log = logging.getLogger("ncp.app")


@dataclass
class Runtime:
    """What a request needs, built once per process."""

    settings: Settings
    engine: Engine
    records: Records
    #: The master key ring of the encryption at rest, shared by every store of the process.
    keys: KeyRingSource


def build_runtime(settings: Settings) -> Runtime:
    engine = make_engine(settings.sqlalchemy_url)
    keys = KeyRingSource.from_file(settings.master_keys_path,
                                   create=settings.environment == "development")
    return Runtime(settings, engine, Records(session_factory(engine), keys), keys)


#: How often each process chains the new access-log and audit rows (ncp.store.chain) and
#: deletes the replay ids and request counts whose time is over (ncp.store.housekeeping).
SEAL_INTERVAL_SECONDS = 60


def _maintain(runtime: Runtime, now: dt.datetime | None = None) -> None:
    """One round of the periodic work: seal the audit chain, then purge what has expired."""
    from ncp.store.chain import seal
    from ncp.store.housekeeping import purge

    seal(session_factory(runtime.engine))
    purge(runtime.engine, now=now or dt.datetime.now(dt.UTC),
          window=dt.timedelta(minutes=runtime.settings.request_window_minutes))


async def _seal_audit_chain(runtime: Runtime) -> None:
    """Seal the audit trail's new rows and purge expired ones once a minute, off the loop."""
    while True:
        await asyncio.sleep(SEAL_INTERVAL_SECONDS)
        try:
            await asyncio.to_thread(_maintain, runtime)
        except Exception:  # the database may be away; the next round catches up
            log.exception("sealing the audit chain or purging expired rows failed")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check_production()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = build_runtime(settings)
        app.state.runtime = runtime
        sealer = asyncio.create_task(_seal_audit_chain(runtime))
        try:
            yield
        finally:
            sealer.cancel()
            runtime.engine.dispose()

    # FastAPI's own docs page loads Swagger UI from a CDN: ours serves it from the package.
    app = FastAPI(title="NCPeH Luxembourg", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json" if settings.api_docs_enabled else None)
    # Outermost last: HSTS is added to every answer, the body budgets' refusals included.
    app.add_middleware(RequestLimits, budgets=budgets(
        soap_bytes=settings.max_request_bytes, api_bytes=MAX_BODY_BYTES,
        portal_bytes=MAX_UPLOAD_BYTES + 256 * 1024))
    app.add_middleware(StrictTransport)
    redact_access_log()

    @app.get("/health", tags=["operations"])
    def health(request: Request, response: Response) -> dict[str, str]:
        """Liveness and database status, for load balancers and operators (503 when the
        database does not answer)."""
        runtime: Runtime = request.app.state.runtime
        database = database_status(runtime.engine)
        if database != "ok":
            response.status_code = 503
        return {
            "status": "ok" if database == "ok" else "degraded",
            "version": __version__,
            "country": settings.country_code,
            "database": database,
        }

    from ncp import api, portal  # the faces of the DSP (issue 7)

    portal.install(app)
    api.install(app)
    if settings.api_docs_enabled:
        from ncp.api import docs

        docs.install(app)
    from ncp import gateway  # the SOAP faces (issue 5)
    from ncp.observability import asgi as observability  # /metrics, portal action log

    observability.install(app, settings.metrics_token)

    gateway.install(app)
    from ncp import crossborder  # doctors' and pharmacists' pages for visitors (issue 6)

    crossborder.install(app)
    return app
