"""The real server: HTTPS on loopback with the development PKI, /health, the client certificate
reaching the application, and the CLI that sets it all up."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import Request
from typer.testing import CliRunner

from ncp.app import create_app
from ncp.security.pki import init_pki
from ncp.server import (
    PeerCertH11Protocol,
    PeerCertHttpToolsProtocol,
    client_cert_pem,
    uvicorn_config,
)
from ncp.settings import Settings
from ncp.testing.server import free_port, running_server

#: A loaded CI machine (2 cores, the whole suite) can take more than httpx's 5 s default.
TIMEOUT = 60


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pki")
    init_pki(root, ("LU", "BE"))
    return root


@pytest.fixture
def server(pki: Path, tmp_path: Path, request: pytest.FixtureRequest
           ) -> Iterator[tuple[str, Settings]]:
    """The app over real TLS; ``@pytest.mark.parametrize("server", [protocol], indirect=True)``
    chooses the HTTP protocol (default: the one ``ncp serve`` uses)."""
    overrides = {"http": request.param} if hasattr(request, "param") else {}
    settings = Settings(var_dir=tmp_path, pki_dir=pki, port=free_port())
    from ncp.store.db import make_engine, upgrade

    engine = make_engine(settings.sqlalchemy_url)
    upgrade(engine)
    engine.dispose()
    app = create_app(settings)

    @app.get("/_test/peer")
    def peer(request: Request) -> dict[str, str | None]:
        return {"pem": client_cert_pem(request.scope)}

    with running_server(app, settings, **overrides) as url:
        yield url, settings


def test_health_over_real_tls(server: tuple[str, Settings], pki: Path) -> None:
    url, _ = server
    ctx = ssl.create_default_context(cafile=str(pki / "lu" / "ca.pem"))
    r = httpx.get(f"{url}/health", verify=ctx, timeout=TIMEOUT)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["country"] == "LU"
    with pytest.raises(httpx.ConnectError):
        # untrusted by default
        httpx.get(f"{url}/health", verify=ssl.create_default_context(), timeout=TIMEOUT)


def test_client_certificate_reaches_the_app(server: tuple[str, Settings], pki: Path) -> None:
    url, _ = server
    ctx = ssl.create_default_context(cafile=str(pki / "lu" / "ca.pem"))
    assert httpx.get(f"{url}/_test/peer", verify=ctx, timeout=TIMEOUT).json()["pem"] is None
    ctx.load_cert_chain(str(pki / "be" / "tls-client.pem"), str(pki / "be" / "tls-client.key"))
    pem = httpx.get(f"{url}/_test/peer", verify=ctx, timeout=TIMEOUT).json()["pem"]
    expected = (pki / "be" / "tls-client.pem").read_text()
    from cryptography import x509

    assert x509.load_pem_x509_certificate(pem.encode()) == \
        x509.load_pem_x509_certificate(expected.encode())


def test_httptools_is_the_default_protocol(tmp_path: Path, pki: Path) -> None:
    settings = Settings(var_dir=tmp_path, pki_dir=pki)
    assert uvicorn_config(create_app(settings), settings).http is PeerCertHttpToolsProtocol


@pytest.mark.parametrize("server", [PeerCertHttpToolsProtocol, PeerCertH11Protocol],
                         indirect=True)
def test_every_request_of_a_connection_gets_the_certificate(server: tuple[str, Settings],
                                                            pki: Path) -> None:
    """Keep-alive: the scope of each request on one connection carries the certificate."""
    url, _ = server
    ctx = ssl.create_default_context(cafile=str(pki / "lu" / "ca.pem"))
    ctx.load_cert_chain(str(pki / "be" / "tls-client.pem"), str(pki / "be" / "tls-client.key"))
    expected = (pki / "be" / "tls-client.pem").read_text()
    from cryptography import x509

    with httpx.Client(verify=ctx, timeout=TIMEOUT) as client:
        pems = [client.get(f"{url}/_test/peer").json()["pem"] for _ in range(3)]
    assert len({*pems}) == 1
    assert x509.load_pem_x509_certificate(pems[0].encode()) == \
        x509.load_pem_x509_certificate(expected.encode())


def test_untrusted_client_certificate_is_refused_by_tls(server: tuple[str, Settings],
                                                        tmp_path: Path) -> None:
    url, _ = server
    rogue = tmp_path / "rogue"
    init_pki(rogue, ("FR",))
    ctx = ssl.create_default_context(cafile=str(server[1].pki_root / "lu" / "ca.pem"))
    ctx.load_cert_chain(str(rogue / "fr" / "tls-client.pem"), str(rogue / "fr" / "tls-client.key"))
    with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.get(f"{url}/health", verify=ctx, timeout=TIMEOUT)


def test_cli_db_upgrade_and_demo_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ncp.cli import app
    from ncp.settings import get_settings

    monkeypatch.setenv("NCP_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(app, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        result = runner.invoke(app, ["demo", "--no-serve"])
        assert result.exit_code == 0, result.output
        assert "demo data loaded" in result.output
        assert (tmp_path / "pki" / "lu" / "tls-server.pem").exists()
        assert (tmp_path / "pki" / "be" / "signing.pem").exists()
        again = runner.invoke(app, ["demo", "--no-serve"])
        assert "already present" in again.output
        rotated = runner.invoke(app, ["keys", "rotate"])
        assert rotated.exit_code == 0 and "re-wrapped" in rotated.output
        assert runner.invoke(app, ["--help"]).exit_code == 0
    finally:
        get_settings.cache_clear()


def test_health_reports_an_unavailable_database(tmp_path: Path) -> None:
    import asyncio

    settings = Settings(var_dir=tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none")
    app = create_app(settings)

    async def call() -> httpx.Response:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return await client.get("/health")

    r = asyncio.run(call())
    assert r.status_code == 503
    assert r.json()["database"].startswith("unavailable")
