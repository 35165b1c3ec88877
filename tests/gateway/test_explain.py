"""``ncp explain --message``: the gateway's inbound checks on a captured request, offline, with
every verdict the real endpoint would give, and nothing written."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from ncp.cli import app
from ncp.gateway.explain import explain_message
from ncp.settings import get_settings
from ncp.xmlutil import NS
from tests.gateway.conftest import GatewayEnv, patient

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"


def _explain(env: GatewayEnv, body: bytes, content_type: str, **kw: object):  # type: ignore[no-untyped-def]
    # The peer signs with the real clock (tests/gateway/peer.py): judge at that instant, not
    # at the session's NOW, which a long run leaves minutes behind ("created in the future").
    return explain_message(env.settings, body, content_type, now=dt.datetime.now(dt.UTC),
                           **kw)  # type: ignore[arg-type]


def test_a_good_request_passes_every_check_and_nothing_is_written(env: GatewayEnv) -> None:
    sent = env.be.query(patient(0))
    before = env.counts()
    result = _explain(env, sent.body, sent.content_type, country="BE")
    assert result.accepted, result.text()
    assert [c.step for c in result.checks] == ["parse", "addressing", "tls-peer", "ws-security",
                                               "body", "ihe", "assertions"]
    again = _explain(env, sent.body, sent.content_type, country="BE")
    assert again.accepted  # no replay was registered by the first run
    assert env.counts() == before  # nothing stored, nothing audited
    # and the real endpoint still takes the very same message: nothing was consumed
    assert env.post("xca", sent).status == 200


def test_a_changed_assertion_shows_its_canonical_form_and_the_usual_causes(
        env: GatewayEnv) -> None:
    sent = env.be.query(patient(0))
    root = etree.fromstring(sent.body)
    hcp = next(a for a in root.iter(f"{{{SAML}}}Assertion")
               if a.find(f"{{{SAML}}}Issuer").get("NameQualifier").endswith(":hcp"))
    name = hcp.find(f".//{{{SAML}}}AttributeValue")
    name.text = (name.text or "") + " "  # one character after signing
    data = etree.tostring(root)
    result = _explain(env, data, sent.content_type, country="BE")
    assert not result.accepted
    failed = next(c for c in result.checks if not c.ok)
    text = result.text()
    assert failed.step in ("ws-security", "assertions"), text
    assert "digest mismatch" in failed.detail, text
    assert f"exclusive c14n of #{hcp.get('ID')}" in text and "re-indented" in text
    real = env.post("xca", dataclasses.replace(sent, body=data))
    assert b"1001" in real.body  # the endpoint refuses it with the same check


def test_unreadable_and_misaddressed_messages_stop_at_their_step(env: GatewayEnv) -> None:
    assert _explain(env, b"<not xml", "application/soap+xml").checks[0].step == "parse"
    sent = env.be.query(patient(0))
    root = etree.fromstring(sent.body)
    root.find(f".//{{{NS['wsa']}}}Action").text = "urn:unknown"
    result = _explain(env, etree.tostring(root), "application/soap+xml; charset=UTF-8",
                      country="BE")
    assert [(c.step, c.ok) for c in result.checks] == [("parse", True),
                                                        ("addressing", False)], result.text()
    assert "ActionNotSupported" in result.checks[-1].detail


def test_an_untrusted_client_certificate_is_explained(env: GatewayEnv) -> None:
    import ssl

    sent = env.be.query(patient(0))
    own = ssl.PEM_cert_to_DER_cert((env.pki / "lu" / "tls-client.pem").read_text())
    result = _explain(env, sent.body, sent.content_type, peer_certificate_der=own)
    failed = next(c for c in result.checks if not c.ok)
    assert failed.step == "tls-peer" and "own" in failed.detail, result.text()


def test_the_command(env: GatewayEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = env.be.query(patient(0))
    captured = tmp_path / "request.xml"
    captured.write_bytes(sent.body)
    for key, value in {"NCP_VAR_DIR": str(env.settings.var_dir),
                       "NCP_PKI_DIR": str(env.pki)}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["explain", "--message", str(captured), "--country",
                                          "BE", "--at", dt.datetime.now(dt.UTC).isoformat()])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "the gateway would accept this message" in result.output



def test_explain_an_error_id_a_peer_quotes(env: GatewayEnv, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    """A refused request's error id, as the peer received it, explained from the audit record:
    the check, the element, the rule and its source, in the operator's language."""
    import json
    import re

    sent = env.be.query(patient(0))
    own = (env.pki / "lu" / "tls-client.pem").read_text()
    refused = env.post("xca", sent, pem=own)  # our own country's certificate: never a peer
    found = re.search(rb"error id ([0-9a-f]{8,64})", refused.body)
    assert found, refused.body[:2000]
    error_id = found.group(1).decode()
    monkeypatch.setenv("NCP_DATABASE_URL", env.engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        out = CliRunner().invoke(app, ["explain", error_id, "--lang", "de"])
        as_json = CliRunner().invoke(app, ["explain", error_id, "--json"])
        missing = CliRunner().invoke(app, ["explain", "0" * 32])
    finally:
        get_settings.cache_clear()
    assert out.exit_code == 0, out.output
    assert "Prüfung" in out.output and "own-country" in out.output
    assert "ausländisches Gateway" in out.output  # the rule, in the operator's language
    data = json.loads(as_json.output)
    assert data["error_id"] == error_id and data["check"] and data["rule"]
    assert data["source"], data  # a known check names where its rule is written
    assert missing.exit_code == 1 and "no refusal" in missing.output
