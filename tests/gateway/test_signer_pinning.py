"""Incoming signer certificates are pinned to the registered peer gateways (issue 14 item 5),
over the real HTTPS endpoint with mutual TLS.

Belgium is registered in the peers directory with its CA as TLS anchor and its gateway's own
signing certificate as signing anchor. The attack: another certificate under Belgium's CA,
valid for signing (any Belgian service, a test certificate), signs the SAML assertions or the
message, sent over Belgium's real TLS client certificate. The trust list accepts that signer
(the right country, the right CA, signing usage): only the directory says it is not Belgium's
gateway. It is refused with 1001 (HCP) or 1002 (TRC) inside the XCA answer, or with a
``wsse:SecurityTokenUnavailable`` fault for the message signature, and stored under
``signer-not-pinned``; the registered signer is accepted on the same server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from ncp.app import create_app
from ncp.ihe.codes import ResponseStatus
from ncp.ihe.xca import query
from ncp.security.keys import SigningCredentials
from ncp.security.pki import IssuedCertificate, issue_leaf
from ncp.security.saml import TrcClaims, build_trc_assertion
from ncp.security.truststore import Purpose
from ncp.store.db import session_factory
from ncp.store.models import AuditMessage
from ncp.store.peers import PeerStore
from ncp.testing.server import free_port, running_server
from tests.gateway.conftest import GatewayEnv, patient
from tests.gateway.peer import DOCTOR, Peer, Sent
from tests.gateway.test_header_policy import Https


def credentials(issued: IssuedCertificate) -> SigningCredentials:
    cert = issued.certificate
    return SigningCredentials(issued.key, cert,  # type: ignore[arg-type]
                              cert.public_bytes(serialization.Encoding.DER))


def ca_of(env: GatewayEnv, country: str) -> IssuedCertificate:
    folder = env.pki / country.lower()
    return IssuedCertificate(
        x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes()),
        serialization.load_pem_private_key((folder / "ca.key").read_bytes(), None))  # type: ignore[arg-type]


def register_be(env: GatewayEnv, *, signing: str | None) -> None:
    """Belgium's gateway: its CA for TLS; ``signing``: the file of its signing anchor."""
    folder = env.pki / "be"
    PeerStore(session_factory(env.engine)).upsert(
        country="BE", name="NCPeH BE", home_community_id="2.999.32.99", endpoints={},
        source="manual", now=dt.datetime.now(dt.UTC),
        tls_anchor_pem=(folder / "ca.pem").read_text(),
        signing_anchor_pem=(folder / signing).read_text() if signing else None, merge=False)


@pytest.fixture
def served(env_factory) -> Iterator[Https]:  # type: ignore[no-untyped-def]
    env = env_factory(port=free_port())
    register_be(env, signing="signing.pem")
    with running_server(create_app(env.settings), env.settings) as url:
        peer = Https(url, env)
        try:
            yield peer
        finally:
            peer.client.close()


def errors_of(https: Https, sent: Sent) -> list[str]:
    listed = query.parse_response(https.answer("xca", sent).body_element)
    if not listed.errors:
        assert listed.status is ResponseStatus.SUCCESS and listed.entries
    return [e.error_code for e in listed.errors]


def last_check(env: GatewayEnv) -> str | None:
    with session_factory(env.engine)() as s:
        return s.scalars(select(AuditMessage.refusal_check)
                         .order_by(AuditMessage.id.desc()).limit(1)).first()


def test_another_signer_under_the_country_ca_is_not_its_gateway(served: Https) -> None:
    env, pid = served.env, patient(0)
    be = env.be
    assert errors_of(served, be.query(pid)) == []  # the registered gateway's signer
    rogue = credentials(issue_leaf(ca_of(env, "BE"), "signing", common_name="not-the-ncp"))
    env.trust.validate(rogue.certificate, country="BE", purpose=Purpose.SIGNING,
                       now=dt.datetime.now(dt.UTC))  # what the trust list alone accepts
    # both assertions signed by the other certificate (the message by the gateway): the HCP
    # assertion is refused first
    forged = Peer(env.pki, "BE", signer=rogue).assertions(pid)
    assert errors_of(served, be.query(pid, assertions=forged)) == ["1001"]
    assert last_check(env) == "signer-not-pinned"
    # a TRC signed by it, bound to the gateway's own HCP assertion
    hcp, _ = be.assertions(pid)
    trc = build_trc_assertion(
        TrcClaims(subject_id=DOCTOR.subject_id, patient_id=pid.cx,
                  hcp_assertion_id=hcp.get("ID")),
        issuer="urn:initgw:BE:countryB", credentials=rogue, now=dt.datetime.now(dt.UTC),
        lifetime=dt.timedelta(hours=1))
    assert errors_of(served, be.query(pid, assertions=[hcp, trc])) == ["1002"]
    assert last_check(env) == "signer-not-pinned"


def test_the_message_signature_signer_is_pinned_too(served: Https) -> None:
    env, pid = served.env, patient(0)
    rogue = credentials(issue_leaf(ca_of(env, "BE"), "signing", common_name="not-the-ncp"))
    lawful = env.be.assertions(pid)  # the gateway's own assertions...
    sent = Peer(env.pki, "BE", signer=rogue).query(pid, assertions=lawful)  # ...message: rogue
    r = served.post("xca", sent)
    assert r.status_code == 400 and b"SecurityTokenUnavailable" in r.content
    assert last_check(env) == "signer-not-pinned"


def test_a_signer_of_another_country_than_the_tls_peer_is_refused(served: Https) -> None:
    """France's own gateway signer, sent over Belgium's TLS client certificate (the trust
    list already refuses it for Belgium: wrong-country; the directory's pin stands behind)."""
    env, pid = served.env, patient(0)
    fr = Peer(env.pki, "FR")
    assert errors_of(served, env.be.query(pid, assertions=fr.assertions(pid))) == ["1001"]
    assert last_check(env) in ("wrong-country", "signer-not-pinned")


def test_a_country_registered_with_its_ca_accepts_what_the_ca_issued(env_factory) -> None:  # type: ignore[no-untyped-def]
    """A CA as signing anchor (what ``ncp demo`` registers) accepts any signer it issued
    directly; without a signing anchor the TLS anchor stands for it."""
    env = env_factory(port=free_port())
    other = Peer(env.pki, "BE", signer=credentials(issue_leaf(ca_of(env, "BE"), "signing")))
    # (the message, too, is signed by that other certificate)
    for signing in ("ca.pem", None):
        register_be(env, signing=signing)
        with running_server(create_app(env.settings), env.settings) as url:
            https = Https(url, env)
            try:
                assert errors_of(https, other.query(patient(0))) == []
            finally:
                https.client.close()
