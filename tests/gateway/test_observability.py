"""Metrics and log lines of gateway exchanges, made from the real pipeline (issue 16)."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import ssl

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, text

from ncp.app import create_app
from ncp.demo import PATIENTS
from ncp.observability import configure_logging
from ncp.observability.metrics import render
from ncp.store.accounts import AccountStore
from ncp.store.db import session_factory
from ncp.store.models import AuditMessage
from ncp.testing.server import free_port, running_server
from tests.gateway.conftest import GatewayEnv, patient


def samples(data: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(data.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(data: bytes, name: str, **labels: str) -> float:
    return samples(data).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def events() -> list[logging.LogRecord]:
    got: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            got.append(record)

    handler = Keep(logging.INFO)
    lg = logging.getLogger("ncp.events")
    lg.addHandler(handler)
    old = lg.level
    lg.setLevel(logging.INFO)
    yield got
    lg.removeHandler(handler)
    lg.setLevel(old)


def test_exchanges_are_counted_by_transaction_country_outcome_and_code(env: GatewayEnv) -> None:
    ok = dict(transaction="ITI-55", peer_country="BE", outcome="success", error_code="")
    refused = dict(transaction="ITI-55", peer_country="BE", outcome="refused",
                   error_code="ERROR_NO_CONSENT")
    before = render()
    assert env.post("xcpd", env.be.xcpd(patient(0).extension)).status == 200
    assert env.post("xcpd", env.be.xcpd(patient(3).extension)).status == 200  # AE no consent
    r = env.post("xcpd", env.be.xcpd(patient(0).extension), pem=None)  # no TLS client cert
    assert r.status >= 400
    after = render()
    assert value(after, "ncp_exchanges_total", **ok) == value(before, "ncp_exchanges_total",
                                                              **ok) + 1
    assert value(after, "ncp_exchanges_total", **refused) == value(
        before, "ncp_exchanges_total", **refused) + 1
    faults = [k for k in samples(after) if k[0] == "ncp_exchanges_total"
              and dict(k[1])["peer_country"] == "unknown" and dict(k[1])["outcome"] == "refused"]
    assert faults, "the transport refusal was not counted"
    count = "ncp_exchange_duration_seconds_count"
    assert value(after, count, transaction="ITI-55") == value(before, count,
                                                              transaction="ITI-55") + 3
    # the latency histogram has its buckets, and the slowest bucket holds every exchange
    assert value(after, "ncp_exchange_duration_seconds_bucket", transaction="ITI-55",
                 le="+Inf") == value(after, count, transaction="ITI-55")


def test_one_log_line_per_exchange_with_the_audit_id_and_no_identifiers(
        env: GatewayEnv, events: list[logging.LogRecord]) -> None:
    env.post("xcpd", env.be.xcpd(patient(3).extension))  # refused: no consent
    (record,) = [r for r in events if getattr(r, "event", {}).get("event") == "exchange"]
    event = record.event  # type: ignore[attr-defined]
    with session_factory(env.engine)() as s:
        last = s.scalar(select(AuditMessage).order_by(AuditMessage.id.desc()).limit(1))
    assert last is not None
    assert event["audit_id"] == last.id  # the correlation id is the audit record's id
    assert event["transaction"] == "ITI-55" and event["peer_country"] == "BE"
    assert event["outcome"] == "refused" and event["error_code"] == "ERROR_NO_CONSENT"
    assert event["duration_ms"] > 0 and event["hcp_role"]
    line = _json_line(record)
    assert json.loads(line)["audit_id"] == last.id
    person = PATIENTS[3].patient
    for secret in (person.matricule, person.family_name, person.given_name):
        assert secret not in line, secret


def test_refusal_reasons_are_logged_with_identifiers_redacted(
        env: GatewayEnv, events: list[logging.LogRecord]) -> None:
    unknown = "1999010100000"
    env.post("xcpd", env.be.xcpd(unknown), pem="not a certificate")
    (record,) = [r for r in events if getattr(r, "event", {}).get("event") == "exchange"]
    assert record.event["reason"]  # type: ignore[attr-defined]
    assert unknown not in _json_line(record)


def _json_line(record: logging.LogRecord) -> str:
    from ncp.observability.logs import JsonFormatter

    line = JsonFormatter().format(record)
    assert "\n" not in line
    return line


def test_database_errors_are_counted(env: GatewayEnv) -> None:
    before = value(render(), "ncp_database_errors_total", kind="OperationalError")
    with pytest.raises(Exception, match="no such table"), env.engine.connect() as c:
        c.execute(text("SELECT * FROM no_such_table"))
    assert value(render(), "ncp_database_errors_total",
                 kind="OperationalError") == before + 1


def test_logins_are_counted_by_outcome(env: GatewayEnv) -> None:
    store = AccountStore(session_factory(env.engine), env.records.keys)
    labels = dict(method="password", outcome="failure")
    before = value(render(), "ncp_portal_logins_total", **labels)
    store.log_login(now=dt.datetime.now(dt.UTC), login="nobody", account_id=None,
                    method="password", outcome="failure", reason="unknown login", client=None)
    assert value(render(), "ncp_portal_logins_total", **labels) == before + 1


def test_metrics_endpoint_needs_its_token_and_shows_expiry(env_factory) -> None:  # type: ignore[no-untyped-def]
    env = env_factory(port=free_port(), metrics_token="s3cret-scrape-token")
    auth = {"Authorization": "Bearer s3cret-scrape-token"}
    ca = ssl.create_default_context(cafile=str(env.pki / "lu" / "ca.pem"))
    with running_server(create_app(env.settings), env.settings) as url, \
            httpx.Client(base_url=url, verify=ca) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}
                          ).status_code == 401
        r = client.get("/metrics", headers=auth)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        got = samples(r.content)
        days = [v for (name, labels), v in got.items()
                if name == "ncp_certificate_days_to_expiry"
                and dict(labels)["purpose"] == "own tls-server"]
        assert days and 0 < days[0] < 3 * 366
        assert any(name == "ncp_crl_days_to_next_update" for name, _ in got)
        assert got[("ncp_database_up", ())] == 1
        client.get("/portal/login")  # a portal request is counted by area
        after = samples(client.get("/metrics", headers=auth).content)
        assert any(n == "ncp_portal_requests_total" and dict(lb)["area"] == "portal"
                   for n, lb in after)
    plain = env_factory(port=free_port())  # no token configured: no endpoint at all
    with running_server(create_app(plain.settings), plain.settings) as url:
        assert httpx.get(f"{url}/metrics", verify=ca).status_code == 404


def test_log_format_json_and_text() -> None:
    from ncp.settings import Settings

    assert Settings(environment="development").log_format_effective == "text"
    assert Settings(environment="production").log_format_effective == "json"
    assert Settings(log_format="json").log_format_effective == "json"
    stream = io.StringIO()
    handler = configure_logging("json", "INFO", stream=stream)
    try:
        logging.getLogger("ncp.events").info("x", extra={"event": {"event": "t", "n": 1}})
        logging.getLogger("ncp.other").debug("not at INFO")
        (line,) = stream.getvalue().splitlines()
        assert json.loads(line)["n"] == 1 and json.loads(line)["level"] == "info"
        configure_logging("text", "DEBUG", stream=stream)
        assert logging.getLogger().handlers.count(handler) == 0  # replaced, not added
    finally:
        root = logging.getLogger()
        for h in list(root.handlers):
            if h.get_name() == "ncp-observability":
                root.removeHandler(h)
        root.setLevel(logging.WARNING)


def test_an_exchange_whose_audit_record_cannot_be_written_is_a_503_fault(
        env: GatewayEnv, events: list[logging.LogRecord]) -> None:
    """Nothing leaves unaudited, and the peer gets a clear, immediate refusal (not a dropped
    connection): what a database outage or a full disk looks like to a peer."""
    with env.engine.begin() as c:
        c.execute(text("ALTER TABLE audit_messages RENAME TO audit_messages_away"))
    r = env.post("xcpd", env.be.xcpd(patient(0).extension))
    assert r.status == 503
    assert b"Receiver" in r.body and b"Schmit" not in r.body  # a fault, not the answer
    (record,) = [x for x in events if getattr(x, "event", {}).get("event") == "exchange"]
    assert record.event["outcome"] == "error" and record.event["audit_id"] is None  # type: ignore[attr-defined]
