"""Two real gateways on loopback: Luxembourg and Belgium, each its own process, database and
PKI (CA, TLS and signing keys), trusting each other through the development trust list."""

from __future__ import annotations

import datetime as dt
import re
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from ncp.auth import totp
from ncp.auth.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from ncp.crossborder.partner import COUNTRIES, run_prepare, start
from ncp.store.accounts import Account
from ncp.store.db import make_engine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Country:
    code: str
    url: str
    var: Path
    pki: Path
    engine: Engine
    process: subprocess.Popen[bytes]
    log: Path

    def client(self) -> httpx.Client:
        ctx = ssl.create_default_context(cafile=str(self.pki / self.code.lower() / "ca.pem"))
        return httpx.Client(base_url=self.url, verify=ctx, timeout=90)

    def next_code(self, login: str) -> str:
        """A TOTP code of a step not used yet by ``login`` (waits for the next step)."""
        while True:
            with self.engine.connect() as conn:
                last = conn.execute(select(Account.totp_last_step)
                                    .where(Account.login == login)).scalar()
            step = int(time.time()) // totp.STEP_SECONDS
            wanted = max(step, (last or 0) + 1)
            if wanted <= step + totp.DRIFT_STEPS:
                return totp.code_at(DEMO_TOTP_SECRET, dt.datetime.fromtimestamp(
                    wanted * totp.STEP_SECONDS, dt.UTC))
            time.sleep(1)

    def login(self, login: str) -> httpx.Client:
        client = self.client()
        r = client.post("/portal/login", data={"login": login, "password": DEMO_PASSWORD})
        assert r.status_code == 303, r.text
        r = client.post("/portal/login/totp", data={"code": self.next_code(login)})
        assert r.status_code == 303 and "/login" not in r.headers["location"], r.text
        return client


@dataclass
class TwoCountries:
    lu: Country
    be: Country


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def _wait(country: Country) -> None:
    deadline = time.monotonic() + 60
    with country.client() as client:
        while True:
            if country.process.poll() is not None:
                pytest.fail(f"{country.code} gateway exited: {country.log.read_text()[-2000:]}")
            try:
                if client.get("/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{country.code} gateway did not start")
            time.sleep(0.3)


@pytest.fixture(scope="session")
def two_countries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoCountries]:
    root = tmp_path_factory.mktemp("two-countries")
    pki = root / "pki"
    ports = {"LU": free_port(), "BE": free_port()}
    urls = {cc: f"https://localhost:{port}" for cc, port in ports.items()}
    for cc, other in (("LU", "BE"), ("BE", "LU")):
        run_prepare(COUNTRIES[cc], var_dir=root / cc.lower(), pki_dir=pki, port=ports[cc],
                    peers={other: urls[other]}, cheap_hashes=True)
    countries = {}
    try:
        for cc in ("LU", "BE"):
            log = root / f"{cc.lower()}.log"
            process = start(COUNTRIES[cc], var_dir=root / cc.lower(), pki_dir=pki,
                            port=ports[cc], log=log)
            engine = make_engine(f"sqlite:///{root / cc.lower() / 'ncp.sqlite'}")
            countries[cc] = Country(cc, urls[cc], root / cc.lower(), pki, engine, process, log)
        for country in countries.values():
            _wait(country)
        yield TwoCountries(countries["LU"], countries["BE"])
    finally:
        for country in countries.values():
            country.process.terminate()
        for country in countries.values():
            try:
                country.process.wait(20)
            except subprocess.TimeoutExpired:
                country.process.kill()
                country.process.wait(10)
            country.engine.dispose()
