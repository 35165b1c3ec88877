"""Bad input: each gets the specified error, writes nothing but the audit record, leaks nothing."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from lxml import etree

from ncp import soap
from ncp.ihe.codes import ClassCode, ResponseStatus
from ncp.ihe.xca import query
from ncp.store.models import AuditMessage
from tests.gateway.conftest import GatewayEnv, patient
from tests.gateway.peer import Peer, Sent, read_answer

SOAP = "http://www.w3.org/2003/05/soap-envelope"


def fault_subcodes(body: bytes) -> list[str]:
    root = etree.fromstring(body)
    return [(v.text or "").split(":")[-1] for v in root.iter(f"{{{SOAP}}}Value")]


@pytest.fixture
def watched(env: GatewayEnv):  # type: ignore[no-untyped-def]
    """Asserts, after the test, that only audit records were added."""
    before = env.counts()
    yield env
    after = env.counts()
    assert after["audit_messages"] > before["audit_messages"]
    for table in ("documents", "dispensations", "pivot_cache", "access_log"):
        assert after[table] == before[table], table


def no_patient_data(body: bytes) -> None:
    for name in (b"Schmit", b"Da Silva", b"ClinicalDocument", b"ExtrinsicObject"):
        assert name not in body


def test_malformed_xml_is_a_sender_fault(watched: GatewayEnv) -> None:
    r = watched.post("xca", Sent(b"<soap:Envelope xmlns:soap='x'><broken",
                                 "application/soap+xml; charset=utf-8", ""))
    assert r.status == 400 and "Sender" in fault_subcodes(r.body)
    no_patient_data(r.body)


def test_wrong_action_is_a_fault(watched: GatewayEnv) -> None:
    sent = watched.be.query(patient(0))
    wrong = sent.content_type.replace("CrossGatewayQuery", "CrossGatewayRetrieve")
    r = watched.post("xca", Sent(sent.body, wrong, ""))
    assert r.status == 400 and "ActionMismatch" in fault_subcodes(r.body)
    r = watched.post("xcpd", sent)  # an XCA action at the XCPD endpoint
    assert "ActionNotSupported" in fault_subcodes(r.body)
    no_patient_data(r.body)


def test_no_client_certificate_is_refused(watched: GatewayEnv) -> None:
    r = watched.post("xca", watched.be.query(patient(0)), pem=None)
    assert r.status == 400 and "SecurityTokenUnavailable" in fault_subcodes(r.body)
    no_patient_data(r.body)


def test_tls_country_must_equal_signer_country(watched: GatewayEnv) -> None:
    fr = Peer(watched.pki, "FR")
    # Signed (message and assertions) by Belgium, sent over a French TLS connection.
    r = watched.post("xca", watched.be.query(patient(0)), peer=fr)
    assert r.status == 400 and "SecurityTokenUnavailable" in fault_subcodes(r.body)
    no_patient_data(r.body)


def test_stale_message_is_refused(watched: GatewayEnv) -> None:
    # An unsigned message is lawful by default (issue 12 item 1: tests/gateway/
    # test_header_policy.py); a Timestamp that is present is checked, signed or not.
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    r = watched.post("xca", watched.be.query(patient(0), now=old, sign=False))
    assert r.status == 400 and "MessageExpired" in fault_subcodes(r.body)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    r = watched.post("xca", watched.be.query(patient(0), now=old))
    assert r.status == 400 and "MessageExpired" in fault_subcodes(r.body)


def _registry_errors(env: GatewayEnv, r) -> list[str]:  # type: ignore[no-untyped-def]
    assert r.status == 200
    msg = read_answer(r.body, r.content_type, env.trust)
    res = query.parse_response(msg.body_element)
    assert res.status is ResponseStatus.FAILURE and not res.entries
    no_patient_data(r.body)
    return [e.error_code for e in res.errors]


def test_missing_assertion_is_1001(watched: GatewayEnv) -> None:
    pid = patient(0)
    trc_only = watched.be.assertions(pid)[1:]
    r = watched.post("xca", watched.be.query(pid, assertions=trc_only))
    assert _registry_errors(watched, r) == ["1001"]


def test_assertion_signed_by_another_country_is_1001(watched: GatewayEnv) -> None:
    from ncp.security.keys import load_credentials

    pid = patient(0)
    fr = load_credentials(watched.pki / "fr" / "signing.key", watched.pki / "fr" / "signing.pem")
    r = watched.post("xca", watched.be.query(pid, assertions=watched.be.assertions(pid,
                                                                                  signer=fr)))
    assert _registry_errors(watched, r) == ["1001"]


def test_tampered_assertion_is_1001(watched: GatewayEnv) -> None:
    pid = patient(0)
    hcp, trc = watched.be.assertions(pid)
    for value in hcp.iter("{urn:oasis:names:tc:SAML:2.0:assertion}AttributeValue"):
        if value.text == "UZ Leuven":
            value.text = "Another hospital"
    r = watched.post("xca", watched.be.query(pid, assertions=[hcp, trc]))
    assert _registry_errors(watched, r) == ["1001"]


def test_replayed_message_is_refused(env: GatewayEnv) -> None:
    """The same request again (its wsa:MessageID seen) is refused and reads nothing. The same
    assertions in a new message are a portal session's reuse (tests/gateway/
    test_header_policy.py), another assertion under a seen id a replay (idem)."""
    pid = patient(0)
    sent = env.be.query(pid)
    first = env.post("xca", sent)
    assert query.parse_response(read_answer(first.body, first.content_type, env.trust)
                                .body_element).entries
    before = env.counts()
    second = env.post("xca", sent)
    assert _registry_errors(env, second) == ["1001"]
    after = env.counts()
    assert after["access_log"] == before["access_log"]


def test_unknown_patient_is_no_match(env: GatewayEnv) -> None:
    from ncp.ihe.identifiers import PatientId

    unknown = PatientId(extension="1999010100000", root="1.3.182.4.4")
    r = env.post("xca", env.be.query(unknown))
    assert _registry_errors(env, r) == ["ERROR_PI_NO_MATCH", "XDSUnknownPatientId"]
    foreign = PatientId(extension="123", root="2.999.1")
    r = env.post("xca", env.be.query(foreign))
    assert _registry_errors(env, r) == ["ERROR_PI_NO_MATCH", "XDSUnknownPatientId"]


def test_unsupported_class_code_is_service_signifier_unknown(watched: GatewayEnv) -> None:
    r = watched.post("xca", watched.be.query(patient(0), ClassCode.EDISPENSATION))
    assert _registry_errors(watched, r) == ["ERROR_GENERIC_SERVICE_SIGNIFIER_UNKNOWN"]


def test_request_too_large_is_413(env_factory) -> None:  # type: ignore[no-untyped-def]
    small = env_factory(max_request_bytes=1000)
    r = small.post("xca", small.be.query(patient(0)))
    assert r.status == 413 and "Sender" in fault_subcodes(r.body)


def test_every_refusal_is_audited_as_a_failure(env: GatewayEnv) -> None:
    env.post("xca", Sent(b"garbage", "application/soap+xml", ""))
    env.post("xca", env.be.query(patient(3)))
    with env.records._sessions() as s:
        rows = s.query(AuditMessage).order_by(AuditMessage.id).all()[-2:]
    assert [r.outcome for r in rows] == ["8", "8"]
    assert rows[1].patient_ref == patient(3).cx and "4701" in rows[1].message
    _ = uuid, soap


HOSTILE = [
    (b"", "application/soap+xml"),
    (b"<x/>", "text/plain"),
    (b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>&x;</e:Body>'
     b"</e:Envelope>", "application/soap+xml"),
    (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>',
     "text/xml"),
    (b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope">' + b"<a>" * 5000
     + b"</a>" * 5000 + b"</e:Envelope>", "application/soap+xml"),
    (b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n",
     'multipart/related; boundary="b"; type="application/xop+xml"'),
    (b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Header/><e:Body>'
     b"<q/></e:Body></e:Envelope>", "application/soap+xml"),
]


@pytest.mark.parametrize("body, content_type", HOSTILE)
def test_hostile_input_is_a_client_fault_audited_and_never_a_crash(
        watched: GatewayEnv, body: bytes, content_type: str) -> None:
    r = watched.post("xca", Sent(body, content_type, ""))
    assert 400 <= r.status < 500 or (r.status == 500 and b"VersionMismatch" in r.body)
    assert r.content_type.startswith("application/soap+xml")
    assert b"passwd" not in r.body and b"root:" not in r.body
    no_patient_data(r.body)


def test_an_internal_error_is_a_receiver_fault_audited_as_major_failure(
        env: GatewayEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("database on fire: secret detail")

    monkeypatch.setattr(env.gateway.summaries, "find_summary", broken)
    r = env.post("xca", env.be.query(patient(0)))
    assert r.status == 500 and "Receiver" in fault_subcodes(r.body)
    assert b"secret detail" not in r.body and b"error id" in r.body
    with env.records._sessions() as s:
        row = s.query(AuditMessage).order_by(AuditMessage.id.desc()).first()
    assert row is not None and row.outcome == "12" and row.transaction == "ITI-38"
