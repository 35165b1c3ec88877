"""A real DSP server for the portal and API tests: uvicorn over HTTPS on loopback with the
development PKI, a migrated SQLite database with the demo data and demo logins, and helpers to
log in as anyone (password + TOTP, like a person would)."""

from __future__ import annotations

import datetime as dt
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import Engine, select

from ncp import demo
from ncp.app import build_runtime, create_app
from ncp.auth import totp
from ncp.auth.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, seed_accounts
from ncp.auth.service import Authenticator
from ncp.security.pki import CARD_CA_FOLDER, IssuedCertificate, init_pki, issue_leaf
from ncp.settings import Settings
from ncp.store.accounts import Account, AccountStore
from ncp.store.db import session_factory, upgrade
from ncp.store.records import Records
from ncp.testing.server import free_port, running_server


@dataclass
class Live:
    url: str
    settings: Settings
    records: Records
    engine: Engine
    pki: Path
    app: object
    clients: list[httpx.Client]
    sessions: dict[str, httpx.Client] = field(default_factory=dict)

    def tls(self, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki / "lu" / "ca.pem"))
        if cert is not None:
            ctx.load_cert_chain(str(cert), str(key))
        return ctx

    def client(self, **kwargs: object) -> httpx.Client:
        verify = kwargs.pop("verify", None) or self.tls()
        client = httpx.Client(base_url=self.url, verify=verify, follow_redirects=False,
                              timeout=60, **kwargs)  # type: ignore[arg-type]
        self.clients.append(client)
        return client

    def next_code(self, login: str) -> str:
        """A TOTP code not used yet for ``login`` (waits for the next 30 s step if needed)."""
        with self.engine.connect() as conn:
            last = conn.execute(select(Account.totp_last_step).where(Account.login == login)
                                ).scalar()
        now = dt.datetime.now(dt.UTC)
        step = int(now.timestamp()) // totp.STEP_SECONDS
        wanted = max(step, (last or 0) + 1)
        while wanted > step + totp.DRIFT_STEPS:
            time.sleep(1)
            step = int(time.time()) // totp.STEP_SECONDS
        secret = conn_secret(self.engine, self.records, login)
        return totp.code_at(secret, dt.datetime.fromtimestamp(wanted * totp.STEP_SECONDS,
                                                              dt.UTC))

    def card(self, folder: Path, login: str, *, register: bool = True,
             issuer: str = CARD_CA_FOLDER) -> tuple[Path, Path]:
        """A professional card issued by the (trusted) LU card CA, registered to ``login``
        (``issuer=""``: by the LU country CA, the gateway anchor, which no card may use)."""
        ca_dir = self.pki / "lu" / issuer if issuer else self.pki / "lu"
        ca = IssuedCertificate(
            x509.load_pem_x509_certificate((ca_dir / "ca.pem").read_bytes()),
            serialization.load_pem_private_key((ca_dir / "ca.key").read_bytes(), None))  # type: ignore[arg-type]
        issued = issue_leaf(ca, "tls-client", common_name=login, country="LU")
        cert, key = folder / f"{login}.pem", folder / f"{login}.key"
        cert.write_bytes(issued.certificate.public_bytes(Encoding.PEM))
        key.write_bytes(issued.key.private_bytes(Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
        if register:
            auth = Authenticator(session_factory(self.engine), self.records)
            account = auth.store.by_login(login)
            assert account is not None
            auth.register_certificate(account.id, cert.read_text())
        return cert, key

    def login(self, login: str, password: str = DEMO_PASSWORD) -> httpx.Client:
        """An HTTP client with a full portal session of ``login`` (reused while it is live:
        a TOTP code is good once, so fresh logins of one account wait for the next step)."""
        cached = self.sessions.get(login)
        if cached is not None:
            home = cached.get("/portal/")
            if home.status_code == 303 and "/login" not in home.headers["location"]:
                return cached
        client = self.client()
        self.sessions[login] = client
        r = client.post("/portal/login", data={"login": login, "password": password})
        assert r.status_code == 303, r.text
        r = client.post("/portal/login/totp", data={"code": self.next_code(login)})
        assert r.status_code == 303 and "/portal/login" not in r.headers["location"], r.text
        return client


def conn_secret(engine: Engine, records: Records, login: str) -> str:
    """The account's TOTP secret, unsealed through the store (it is encrypted at rest)."""
    account = AccountStore(session_factory(engine), records.keys).by_login(login)
    return account.totp_secret if account else DEMO_TOTP_SECRET


def csrf(page_html: str) -> str:
    marker = 'name="csrf" value="'
    start = page_html.index(marker) + len(marker)
    return page_html[start:page_html.index('"', start)]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory,
         request: pytest.FixtureRequest) -> Iterator[Live]:
    """A module that sets ``LOAD_TERMINOLOGY = True`` gets the eHDSI terminology loaded too
    (as ``ncp demo`` does; ~5 s), for checks that transcode a summary."""
    root = tmp_path_factory.mktemp("live")
    pki = root / "pki"
    init_pki(pki, ("LU", "BE"))
    settings = Settings(var_dir=root, pki_dir=pki, port=free_port())
    runtime = build_runtime(settings)
    upgrade(runtime.engine)
    if getattr(request.module, "LOAD_TERMINOLOGY", False):
        from ncp.terminology.loader import load_all

        load_all(session_factory(runtime.engine), settings.specs_path)
    demo.seed(runtime.records)
    seed_accounts(runtime.records, runtime.engine, cheap_hashes=True, pki_root=pki)
    app = create_app(settings)
    with running_server(app, settings) as url:
        running = Live(url, settings, runtime.records, runtime.engine, pki, app, [])
        yield running
        for client in running.clients:
            client.close()
    runtime.engine.dispose()
