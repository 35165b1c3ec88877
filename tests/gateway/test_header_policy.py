"""The WS-Security header as live peers send it, over the real HTTPS endpoint, on defaults.

The reference gateway (OpenNCP) sends a ``wsse:Security`` holding only the signed HCP and TRC
assertions, no ``wsu:Timestamp`` and no message signature, and a portal session reuses one HCP
assertion for discovery, query and retrieve (issue 12 items 1 and 2). What is present is still
verified strictly; a peer whose trust-list entry says it signs must sign.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
import ssl
from collections.abc import Iterator

import httpx
import pytest
from lxml import etree

from ncp.app import create_app
from ncp.ihe import xcpd
from ncp.ihe.codes import QueryResponseCode, ResponseStatus
from ncp.ihe.xca import query, retrieve
from ncp.testing.server import free_port, running_server
from ncp.xmlutil import parse_xml
from tests.gateway.conftest import GatewayEnv, make_env, patient
from tests.gateway.peer import Sent, read_answer

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
WSA = "http://www.w3.org/2005/08/addressing"


class Https:
    """A peer calling the served gateway over mutual TLS."""

    def __init__(self, url: str, env: GatewayEnv) -> None:
        self.url, self.env = url, env
        ctx = ssl.create_default_context(cafile=str(env.pki / "lu" / "ca.pem"))
        ctx.load_cert_chain(str(env.be.tls_cert), str(env.be.tls_key))
        self.client = httpx.Client(verify=ctx, timeout=30)

    def post(self, endpoint: str, sent: Sent) -> httpx.Response:
        return self.client.post(f"{self.url}/ws/{endpoint}", content=sent.body,
                                headers={"content-type": sent.content_type})

    def answer(self, endpoint: str, sent: Sent):  # type: ignore[no-untyped-def]
        r = self.post(endpoint, sent)
        assert r.status_code == 200, r.content[:800]
        return read_answer(r.content, r.headers["content-type"], self.env.trust)


def _serve(env: GatewayEnv) -> Iterator[Https]:
    with running_server(create_app(env.settings), env.settings) as url:
        peer = Https(url, env)
        try:
            yield peer
        finally:
            peer.client.close()


@pytest.fixture
def https(env_factory) -> Iterator[Https]:  # type: ignore[no-untyped-def]
    """The gateway on its default settings, served over HTTPS."""
    yield from _serve(env_factory(port=free_port()))


def _query_errors(msg) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.error_code for e in query.parse_response(msg.body_element).errors]


def test_an_openncp_portal_session_works_on_defaults(https: Https) -> None:
    """Discovery, query and retrieve with one HCP (and one TRC), no Timestamp, no message
    signature: every step answered."""
    be, pid = https.env.be, patient(0)
    hcp, trc = be.assertions(pid)
    plain = {"sign": False, "timestamp": False}
    found = xcpd.parse_response(https.answer("xcpd", be.xcpd(
        pid.extension, assertions=[copy.deepcopy(hcp)], **plain)).body_element)
    assert found.query_response_code is QueryResponseCode.OK
    listed = query.parse_response(https.answer("xca", be.query(
        pid, assertions=[copy.deepcopy(hcp), copy.deepcopy(trc)], **plain)).body_element)
    assert listed.status is ResponseStatus.SUCCESS and listed.entries
    msg = https.answer("xca", be.retrieve(pid, [listed.entries[0].unique_id],
                                          assertions=[copy.deepcopy(hcp), copy.deepcopy(trc)],
                                          **plain))
    got = retrieve.parse_response(msg.body_element, msg.attachments)
    assert got.status is ResponseStatus.SUCCESS and got.documents


def test_another_assertion_under_a_seen_id_and_a_reused_message_id_are_refused(
        https: Https) -> None:
    be, pid = https.env.be, patient(0)
    hcp, trc = be.assertions(pid)
    first = be.query(pid, assertions=[hcp, trc], sign=False, timestamp=False)
    assert not _query_errors(https.answer("xca", first))
    # the very same bytes again: the MessageID was used
    assert _query_errors(https.answer("xca", first)) == ["1001"]
    # a fresh, validly signed HCP assertion that takes the seen id
    from ncp.security.saml import build_hcp_assertion
    from tests.gateway.peer import DOCTOR

    forged = build_hcp_assertion(DOCTOR, issuer="urn:idp:BE:countryB", credentials=be.creds,
                                 now=dt.datetime.now(dt.UTC), lifetime=dt.timedelta(hours=1),
                                 assertion_id=hcp.get("ID"))
    again = be.query(pid, assertions=[forged, copy.deepcopy(trc)], sign=False,
                     timestamp=False)
    assert _query_errors(https.answer("xca", again)) == ["1001"]


def _security(sent: Sent) -> tuple[etree._Element, etree._Element]:
    env = parse_xml(sent.body)
    return env, env.find(f".//{{{WSSE}}}Security")


def _resend(sent: Sent, env: etree._Element) -> Sent:
    return Sent(etree.tostring(env), sent.content_type, sent.message_id)


def test_a_present_timestamp_or_signature_is_still_verified(https: Https) -> None:
    be, pid = https.env.be, patient(0)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)
    expired = be.query(pid, now=old, assertions=be.assertions(pid))  # signed, stale Timestamp
    r = https.post("xca", expired)
    assert r.status_code >= 400 and b"MessageExpired" in r.content
    # a signed message whose Body was changed after signing
    signed = be.query(pid)
    env, _sec = _security(signed)
    slot = next(el for el in env.iter("{*}Slot") if el.get("name") == "$XDSDocumentEntryStatus")
    slot.find("{*}ValueList/{*}Value").text = "('urn:x:tampered')"
    r = https.post("xca", _resend(signed, env))
    assert r.status_code >= 400 and b"FailedCheck" in r.content
    # wrapping: the signed Body moved into the header, another Body in its place
    signed = be.query(pid)
    env, sec = _security(signed)
    body = env[1]
    sec.append(copy.deepcopy(body))
    for child in list(body):
        body.remove(child)
    body.append(copy.deepcopy(sec[-1][0]))
    r = https.post("xca", _resend(signed, env))
    assert r.status_code >= 400


@pytest.fixture
def https_strict_be(tmp_path, _gateway_template, gw_pki) -> Iterator[Https]:  # type: ignore[no-untyped-def]
    """Defaults, but the trust list says the Belgian gateway signs and stamps its messages."""
    pki = tmp_path / "strict-pki"
    shutil.copytree(gw_pki, pki)
    listed = json.loads((pki / "trust-list.json").read_text())
    listed["countries"]["BE"]["require_message_signature"] = True
    listed["countries"]["BE"]["require_timestamp"] = True
    (pki / "trust-list.json").write_text(json.dumps(listed))
    folder = tmp_path / "strict"
    folder.mkdir()
    env = make_env(folder, _gateway_template, pki, port=free_port())
    try:
        yield from _serve(env)
    finally:
        env.engine.dispose()


def test_per_country_policy_refuses_an_unsigned_message_from_a_peer_known_to_sign(
        https_strict_be: Https) -> None:
    be, pid = https_strict_be.env.be, patient(0)
    r = https_strict_be.post("xca", be.query(pid, sign=False, timestamp=False))
    assert r.status_code >= 400 and b"InvalidSecurity" in r.content
    r = https_strict_be.post("xca", be.query(pid, sign=False))
    assert r.status_code >= 400
    assert not _query_errors(https_strict_be.answer("xca", be.query(pid)))


@pytest.mark.parametrize("form", ["uuid:{u}", "http://gateway.example/msg/{u}", "urn:uuid:{u}"])
def test_any_absolute_iri_is_a_message_id(https: Https, form: str) -> None:
    """WS-Addressing 1.0: MessageID is an anyURI (issue 12 item 5): Axis2/CXF send uuid:…"""
    import uuid

    be, pid = https.env.be, patient(0)
    sent = be.query(pid, sign=False, timestamp=False)
    env, _sec = _security(sent)
    env.find(f".//{{{WSA}}}MessageID").text = form.format(u=uuid.uuid4())
    assert not _query_errors(https.answer("xca", _resend(sent, env)))


def test_assertions_signed_by_a_certificate_without_extensions_are_accepted(
        https: Https) -> None:
    """The eHDSI CA issues signing certificates with no extensions (issue 12 item 7)."""
    from cryptography.hazmat.primitives import serialization

    from ncp.security.keys import SigningCredentials
    from ncp.security.pki import _load
    from tests.security.test_truststore import bare_certificate

    bare = bare_certificate(_load(https.env.pki / "be", "ca"))
    creds = SigningCredentials.from_pem(
        bare.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption()),
        bare.certificate.public_bytes(serialization.Encoding.PEM))
    be, pid = https.env.be, patient(0)
    sent = be.query(pid, assertions=be.assertions(pid, signer=creds), sign=False,
                    timestamp=False)
    assert not _query_errors(https.answer("xca", sent))


def test_an_hcp_without_organisation_is_accepted_and_audited_with_what_is_there(
        https: Https) -> None:
    """Issue 12 item 6: the XSPA organization is optional (Finnish assertions carry none); the
    eDispensation still needs the organization id (it names the dispensing organisation)."""
    from dataclasses import replace

    from sqlalchemy import select

    from ncp.store.db import session_factory
    from ncp.store.models import AuditMessage
    from tests.gateway.peer import DOCTOR, PHARMACIST

    be, pid = https.env.be, patient(0)
    finnish = replace(DOCTOR, organisation="")
    sent = be.query(pid, hcp=finnish, sign=False, timestamp=False)
    assert b"subject:organization\"" not in sent.body
    assert not _query_errors(https.answer("xca", sent))
    with session_factory(https.env.engine)() as s:
        last = s.scalars(select(AuditMessage).order_by(AuditMessage.id.desc())).first()
    assert last is not None and f"@{DOCTOR.organisation_id}&gt;" in last.message
    no_id = replace(PHARMACIST, organisation="", organisation_id="")
    r = https.post("xdr", be.submit(pid, b"<x/>", hcp=no_id, sign=False, timestamp=False))
    assert r.status_code == 200 and b"1001" in r.content
