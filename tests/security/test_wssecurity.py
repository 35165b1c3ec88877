"""WS-Security: signing and strict verification of SOAP 1.2 messages, wrapping attacks included."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from lxml import etree

from ncp.errors import ErrorCode
from ncp.security.errors import AssertionInvalid, MessageSecurityError
from ncp.security.permissions import Transaction
from ncp.security.wssecurity import (
    WsSecurityPolicy,
    build_security_header,
    sign_envelope,
    verify_message,
)
from ncp.xmlutil import NS
from tests.security.conftest import NOW, PATIENT, soap_envelope

SOAP, WSSE, WSU, WSA, DS, SAML = (NS[k] for k in ("soap", "wsse", "wsu", "wsa", "ds", "saml"))


@pytest.fixture
def message(make_pair, be_creds) -> bytes:
    """A signed request from the Belgian gateway, as bytes on the wire."""
    env = soap_envelope()
    build_security_header(env, assertions=make_pair(), now=NOW)
    sign_envelope(env, be_creds)
    return etree.tostring(env)


def verify(data: bytes, trust, *, policy=None, now=NOW, peer="BE"):
    return verify_message(data, trust=trust, peer_country=peer, now=now, policy=policy)


def refused(data: bytes, trust, **kw) -> MessageSecurityError:
    with pytest.raises(MessageSecurityError) as info:
        verify(data, trust, **kw)
    return info.value


def test_signed_message_verifies_and_yields_assertions(message, trust, validator):
    msg = verify(message, trust)
    assert msg.message_signed and msg.signer is not None
    assert msg.action == "urn:ihe:iti:2007:CrossGatewayQuery"
    assert msg.body.tag == f"{{{SOAP}}}Body"
    assert len(msg.assertions) == 2
    ident = validator.validate(msg.assertions, transaction=Transaction.XCA_QUERY_PS,
                               patient_id=PATIENT, peer_country="BE", now=NOW,
                               message_id=msg.message_id)
    assert ident.hcp.name == "Dr. An Peeters"


def test_every_addressing_header_the_body_and_timestamp_are_covered(message):
    env = etree.fromstring(message)
    refs = {r.get("URI")[1:] for r in env.iter(f"{{{DS}}}Reference")
            if r.getparent().getparent().getparent().tag == f"{{{WSSE}}}Security"}
    covered = {el.tag for el in env.iter() if el.get(f"{{{WSU}}}Id") in refs}
    assert covered == {f"{{{SOAP}}}Body", f"{{{WSU}}}Timestamp", f"{{{WSA}}}Action",
                       f"{{{WSA}}}MessageID", f"{{{WSA}}}To"}


def _edit(data: bytes, fn) -> bytes:
    env = etree.fromstring(data)
    fn(env)
    return etree.tostring(env)


def _body(env):
    return env.find(f"{{{SOAP}}}Body")


def _sec(env):
    return env.find(f"{{{SOAP}}}Header/{{{WSSE}}}Security")


def test_tampered_body(message, trust):
    data = _edit(message, lambda env: setattr(_body(env)[0], "text", "evil"))
    err = refused(data, trust)
    assert err.reason == "bad-signature" and err.fault == "wsse:FailedCheck"


def test_tampered_action(message, trust):
    def edit(env):
        env.find(f"{{{SOAP}}}Header/{{{WSA}}}Action").text = "urn:ihe:iti:2007:CrossGatewayRetrieve"
    assert refused(_edit(message, edit), trust).reason == "bad-signature"


def test_body_wrapping_is_refused(message, trust):
    # XSW: the signed Body is hidden in a header, an unsigned evil Body takes its place.
    def edit(env):
        body = _body(env)
        holder = etree.SubElement(env.find(f"{{{SOAP}}}Header"), "{urn:evil}Holder")
        env.remove(body)
        holder.append(body)
        evil = etree.SubElement(env, f"{{{SOAP}}}Body")
        etree.SubElement(evil, "{urn:evil}DeleteEverything")
    assert refused(_edit(message, edit), trust).reason == "coverage"


def test_body_wrapping_with_copied_id_is_refused(message, trust):
    def edit(env):
        body = _body(env)
        holder = etree.SubElement(env.find(f"{{{SOAP}}}Header"), "{urn:evil}Holder")
        holder.append(copy.deepcopy(body))
        body[0].text = "evil"
    assert refused(_edit(message, edit), trust).reason == "duplicate-id"


def test_unsigned_addressing_header_is_refused(message, trust):
    def edit(env):
        etree.SubElement(env.find(f"{{{SOAP}}}Header"), f"{{{WSA}}}ReplyTo").text = "http://x"
    err = refused(_edit(message, edit), trust)
    assert err.reason == "coverage" and err.error is ErrorCode.NO_SIGNATURE


def test_signature_over_a_foreign_element_is_refused(be_creds, trust, make_pair):
    env = soap_envelope()
    build_security_header(env, assertions=make_pair(), now=NOW)
    extra = etree.SubElement(env.find(f"{{{SOAP}}}Header"), "{urn:x}Extra")
    extra.set(f"{{{WSU}}}Id", "extra")
    from ncp.security.xmldsig import sign_references
    header = env.find(f"{{{SOAP}}}Header")
    targets = [*list(header.iterchildren(f"{{{WSA}}}*")),
               _sec(env).find(f"{{{WSU}}}Timestamp"), _body(env), extra]
    for i, t in enumerate(targets):
        t.set(f"{{{WSU}}}Id", t.get(f"{{{WSU}}}Id") or f"id{i}")
    sign_references(_sec(env), targets, be_creds)
    assert refused(etree.tostring(env), trust).reason == "coverage"


def test_missing_message_signature(make_pair, trust):
    env = soap_envelope()
    build_security_header(env, assertions=make_pair(), now=NOW)
    data = etree.tostring(env)
    # the reference gateway's layout (only the signed assertions) is lawful by default
    msg = verify(data, trust)
    assert not msg.message_signed and len(msg.assertions) == 2
    # the global floor, when raised, refuses it
    err = refused(data, trust, policy=WsSecurityPolicy(require_message_signature=True))
    assert err.reason == "message-signature-missing" and err.error is ErrorCode.NO_SIGNATURE


def test_assertion_only_policy_still_checks_assertions(make_pair, trust, validator):
    hcp, trc = make_pair()
    hcp.find(f"{{{SAML}}}AttributeStatement").append(etree.Element(f"{{{SAML}}}Attribute"))
    env = soap_envelope()
    build_security_header(env, assertions=[hcp, trc], now=NOW)
    msg = verify(etree.tostring(env), trust,
                 policy=WsSecurityPolicy(require_message_signature=False))
    with pytest.raises(AssertionInvalid) as info:
        validator.validate(msg.assertions, transaction=Transaction.XCA_QUERY_PS,
                           patient_id=PATIENT, peer_country="BE", now=NOW)
    assert info.value.reason == "bad-signature"


@pytest.mark.parametrize(("offset", "reason"), [
    (dt.timedelta(minutes=10), "timestamp-expired"),
    (dt.timedelta(minutes=-5), "timestamp-future"),
])
def test_timestamp_window(message, trust, offset, reason):
    err = refused(message, trust, now=NOW + offset)
    assert err.reason == reason and err.fault == "wsse:MessageExpired"


def test_timestamp_is_optional_but_never_half_removed(message, trust, make_pair):
    def edit(env):
        sec = _sec(env)
        sec.remove(sec.find(f"{{{WSU}}}Timestamp"))
    data = _edit(message, edit)
    # without the timestamp the signature's reference dangles: still refused
    assert refused(data, trust).reason == "dangling-reference"
    env = soap_envelope()
    sec = etree.SubElement(env.find(f"{{{SOAP}}}Header"), f"{{{WSSE}}}Security")
    for a in make_pair():
        sec.append(a)
    unstamped = etree.tostring(env)
    assert verify(unstamped, trust).created is None
    policy = WsSecurityPolicy(require_timestamp=True)
    assert refused(unstamped, trust, policy=policy).reason == "timestamp-missing"


def test_message_signer_of_another_country(message, trust):
    err = refused(message, trust, peer="LU")
    assert err.reason == "wrong-country" and err.fault == "wsse:SecurityTokenUnavailable"


def test_token_reference_must_be_local(message, trust):
    def edit(env):
        ref = env.find(f".//{{{WSSE}}}SecurityTokenReference/{{{WSSE}}}Reference")
        ref.set("URI", "http://127.0.0.1:9/cert")
    assert refused(_edit(message, edit), trust).reason == "external-reference"


def test_external_reference_uri_in_message_signature(message, trust):
    def edit(env):
        _sec(env).find(f"{{{DS}}}Signature/{{{DS}}}SignedInfo/{{{DS}}}Reference").set(
            "URI", "file:///dev/zero")
    assert refused(_edit(message, edit), trust).reason == "external-reference"


def test_two_security_headers_are_refused(message, trust):
    def edit(env):
        env.find(f"{{{SOAP}}}Header").append(etree.Element(f"{{{WSSE}}}Security"))
    assert refused(_edit(message, edit), trust).reason == "security-header"


def test_two_bodies_are_refused(message, trust):
    def edit(env):
        etree.SubElement(env, f"{{{SOAP}}}Body")
    assert refused(_edit(message, edit), trust).reason == "envelope-shape"


# --- SAML signature wrapping inside WS-Security ------------------------------------------------

def _validate(data: bytes, trust, validator):
    msg = verify(data, trust)
    return validator.validate(msg.assertions, transaction=Transaction.XCA_QUERY_PS,
                              patient_id=PATIENT, peer_country="BE", now=NOW)


def _assertions(env):
    return _sec(env).findall(f"{{{SAML}}}Assertion")


def _signed_with_security_only(make_pair, be_creds, tamper) -> bytes:
    """Build a message, let ``tamper`` change the assertions, then sign the message itself
    (the attacker is a man in the middle with his own valid gateway key, or the assertion layer
    is attacked before the message signature is applied)."""
    env = soap_envelope()
    build_security_header(env, assertions=make_pair(), now=NOW)
    tamper(env)
    sign_envelope(env, be_creds)
    return etree.tostring(env)


def _reason(data, trust, validator) -> str:
    with pytest.raises(AssertionInvalid) as info:
        _validate(data, trust, validator)
    return info.value.reason


def test_wrapping_duplicate_assertion_id(make_pair, be_creds, trust, validator):
    def tamper(env):
        hcp = _assertions(env)[0]
        evil = copy.deepcopy(hcp)
        evil.find(f".//{{{NS['hl7']}}}Role").set("code", "2262")
        hcp.addprevious(evil)
        _sec(env).remove(hcp)
        etree.SubElement(env.find(f"{{{SOAP}}}Header"), "{urn:evil}Stash").append(hcp)
    with pytest.raises(MessageSecurityError) as info:
        _validate(_signed_with_security_only(make_pair, be_creds, tamper), trust, validator)
    assert info.value.reason == "duplicate-id"


def test_wrapping_genuine_assertion_inside_evil_one(make_pair, be_creds, trust, validator):
    def tamper(env):
        hcp = _assertions(env)[0]
        evil = copy.deepcopy(hcp)
        evil.set("ID", "_evil")
        evil.remove(evil.find(f"{{{DS}}}Signature"))
        evil.insert(1, hcp.find(f"{{{DS}}}Signature"))  # genuine signature, over the genuine ID
        hcp.addprevious(evil)
        evil.append(hcp)  # keep the genuine assertion so the reference resolves
    reason = _reason(_signed_with_security_only(make_pair, be_creds, tamper), trust, validator)
    assert reason in {"reference-not-parent", "nested-signature"}


def test_wrapping_genuine_assertion_moved_out_of_security(make_pair, be_creds, trust, validator):
    def tamper(env):
        hcp = _assertions(env)[0]
        evil = copy.deepcopy(hcp)
        evil.set("ID", "_evil")
        sig = evil.find(f"{{{DS}}}Signature")
        sig.find(f".//{{{DS}}}Reference")  # the copied signature still names the genuine ID
        hcp.addprevious(evil)
        _sec(env).remove(hcp)
        etree.SubElement(env.find(f"{{{SOAP}}}Header"), "{urn:evil}Stash").append(hcp)
    assert _reason(_signed_with_security_only(make_pair, be_creds, tamper), trust,
                   validator) == "reference-not-parent"


def test_wrapping_unsigned_evil_assertion(make_pair, be_creds, trust, validator):
    def tamper(env):
        hcp = _assertions(env)[0]
        evil = copy.deepcopy(hcp)
        evil.set("ID", "_evil")
        evil.remove(evil.find(f"{{{DS}}}Signature"))
        hcp.addprevious(evil)
        _sec(env).remove(hcp)
        etree.SubElement(env.find(f"{{{SOAP}}}Body"), "{urn:evil}Stash").append(hcp)
    with pytest.raises(AssertionInvalid) as info:
        _validate(_signed_with_security_only(make_pair, be_creds, tamper), trust, validator)
    assert info.value.reason == "signature-missing"
    assert info.value.error is ErrorCode.HCP_ASSERTION_INVALID  # 1001: an invalid assertion


def test_malformed_timestamp(message, trust):
    def edit(env):
        _sec(env).find(f"{{{WSU}}}Timestamp/{{{WSU}}}Created").text = "yesterday"
    assert refused(_edit(message, edit), trust).reason == "timestamp"


def test_two_message_signatures(message, trust):
    def edit(env):
        sig = _sec(env).find(f"{{{DS}}}Signature")
        _sec(env).append(copy.deepcopy(sig))
    assert refused(_edit(message, edit), trust).reason == "multiple-signatures"


def test_soap11_envelope_is_refused(trust):
    data = b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>'
    assert refused(data, trust).reason == "not-soap12"


def test_token_must_live_in_the_security_header(message, trust):
    def edit(env):
        bst = _sec(env).find(f"{{{WSSE}}}BinarySecurityToken")
        _sec(env).remove(bst)
        etree.SubElement(env.find(f"{{{SOAP}}}Header"), "{urn:evil}Stash").append(bst)
    assert refused(_edit(message, edit), trust).reason == "no-certificate"


def test_duplicate_addressing_header(make_pair, be_creds, trust):
    env = soap_envelope()
    etree.SubElement(env.find(f"{{{SOAP}}}Header"), f"{{{WSA}}}MessageID").text = "urn:uuid:2"
    build_security_header(env, assertions=make_pair(), now=NOW)
    sign_envelope(env, be_creds)
    assert refused(etree.tostring(env), trust).reason == "addressing"


def test_old_message_with_a_far_expiry_is_refused(make_pair, be_creds, trust):
    env = soap_envelope()
    build_security_header(env, assertions=make_pair(), now=NOW, ttl=dt.timedelta(days=1))
    sign_envelope(env, be_creds)
    data = etree.tostring(env)
    verify(data, trust, now=NOW + dt.timedelta(minutes=5))
    err = refused(data, trust, now=NOW + dt.timedelta(minutes=7))
    assert err.reason == "timestamp-expired"


def test_http_references_in_a_message_make_no_request(message, trust, loopback_http):
    url, hits = loopback_http

    def edit_reference(env):
        _sec(env).find(f"{{{DS}}}Signature/{{{DS}}}SignedInfo/{{{DS}}}Reference").set("URI", url)

    def edit_token(env):
        env.find(f".//{{{WSSE}}}SecurityTokenReference/{{{WSSE}}}Reference").set("URI", url)

    assert refused(_edit(message, edit_reference), trust).reason == "external-reference"
    assert refused(_edit(message, edit_token), trust).reason == "external-reference"
    assert hits == []
