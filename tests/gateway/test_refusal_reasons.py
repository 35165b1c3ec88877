"""Each refusal's reason is stored with its audit record and logged (issue 14 item 17): an
operator given the error id a peer received finds which check refused and on what."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from ncp.store.audit import AuditLog
from ncp.store.db import session_factory
from ncp.store.models import AuditMessage
from tests.gateway.conftest import GatewayEnv, patient
from tests.gateway.peer import Peer


def _error_id(body: bytes) -> str:
    found = re.search(rb"error id ([0-9a-f]{32})", body)
    assert found, body[:600]
    return found.group(1).decode()


def test_a_refused_peer_certificate_is_explained_by_its_error_id(
        any_env: GatewayEnv, caplog: pytest.LogCaptureFixture) -> None:
    env = any_env
    sent = env.be.xcpd(patient(0).extension)
    own = (env.pki / "lu" / "tls-client.pem").read_text()  # our own gateway: never a peer
    with caplog.at_level(logging.INFO, logger="ncp.gateway.refusals"):
        r = env.post("xcpd", sent, pem=own)
    assert r.status == 400
    error_id = _error_id(r.body)
    assert error_id.encode() in r.body and b"own-country" not in r.body  # the reason stays here
    found = AuditLog(session_factory(env.engine)).refusal(error_id)
    assert found is not None
    stored, refusal = found
    assert stored.transaction == "ITI-55" and refusal.check == "own-country"
    assert "our own country" in refusal.detail
    line = next(r for r in caplog.records if r.name == "ncp.gateway.refusals")
    assert error_id in line.getMessage() and "check=own-country" in line.getMessage()


def test_a_refused_assertion_names_its_check(env: GatewayEnv) -> None:
    fr = Peer(env.pki, "FR")
    # Belgium's TLS certificate with France's assertions: the signer's country is not the peer's.
    sent = fr.xcpd(patient(0).extension)
    r = env.post("xcpd", sent)
    with session_factory(env.engine)() as s:
        row = s.scalars(select(AuditMessage).order_by(AuditMessage.id.desc())).first()
    assert row is not None and row.error_id and row.refusal_check
    assert row.error_id.encode() in r.body
    assert row.refusal_check not in ("", "NcpError")


def test_a_success_stores_no_refusal(env: GatewayEnv) -> None:
    r = env.post("xcpd", env.be.xcpd(patient(0).extension))
    assert r.status == 200
    with session_factory(env.engine)() as s:
        row = s.scalars(select(AuditMessage).order_by(AuditMessage.id.desc())).first()
    assert row is not None and row.error_id is None and row.refusal_check is None
