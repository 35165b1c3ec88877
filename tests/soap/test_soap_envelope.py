"""SOAP 1.2 envelopes: the Danish sample parses, built envelopes validate against the SOAP and
WS-Addressing schemas, and every envelope error becomes the right SOAP fault."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from lxml import etree

import ncp.soap
from ncp import soap
from ncp.errors import ErrorCode, NcpError
from ncp.ihe import registry, schemas
from ncp.ihe.xca import retrieve
from ncp.xmlutil import NS, parse_xml, qname

SOAP_CT = 'application/soap+xml; charset=utf-8; action="{}"'
RETRIEVE = registry.ITI_39.request_action
LIMIT = 1_000_000
N = {"soap": NS["soap"], "wsa": NS["wsa"]}


@pytest.fixture
def message_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


@pytest.fixture
def sample(specs_dir: Path, message_id: str) -> bytes:
    raw = (specs_dir / "samples" / "xca" / "DK-template_xca_retrieve_soap_request-ps.xml"
           ).read_bytes()
    return (raw.replace(b"{{message-id}}", message_id.encode())
            .replace(b"{{hcp-assertion|safe}}", b"").replace(b"{{trc-assertion|safe}}", b""))


def test_sample_request_parses(sample: bytes, message_id: str) -> None:
    msg = soap.parse_request(sample, SOAP_CT.format(RETRIEVE), max_bytes=LIMIT)
    assert msg.action == RETRIEVE
    assert msg.message_id == message_id
    assert msg.http_action == RETRIEVE
    assert not msg.mtom and not msg.attachments
    assert msg.raw_envelope == sample
    assert msg.body_element.getparent() is msg.body
    assert msg.body.getparent() is msg.envelope and msg.header.getparent() is msg.envelope
    assert msg.header.find(qname("wsse", "Security")) is not None
    assert retrieve.parse_request(msg.body_element).documents[0].repository_unique_id == (
        "1.2.208.176.7.2.987654321")


def test_content_type_without_action_is_accepted(sample: bytes) -> None:
    msg = soap.parse_request(sample, "application/soap+xml", max_bytes=LIMIT)
    assert msg.http_action is None and msg.action == RETRIEVE


def test_built_response_validates_and_relates(sample: bytes, message_id: str,
                                               specs_dir: Path) -> None:
    request = soap.parse_request(sample, SOAP_CT.format(RETRIEVE), max_bytes=LIMIT)
    body = retrieve.build_response(retrieve.RetrieveResponse.of())
    data, ct = soap.build_response(body, request=request,
                                   action=registry.ITI_39.response_action)
    assert ct == ('application/soap+xml; charset=UTF-8; '
                  'action="urn:ihe:iti:2007:CrossGatewayRetrieveResponse"')
    schemas.validate(parse_xml(data), "soap12-ipf/soap-1.2-envelope.xsd")
    env = parse_xml(data)
    addressing = schemas.load_schema("wsa-wss-dk/2005/08/addressing/ws-addr.xsd")
    for header in env.find(qname("soap", "Header")):
        assert addressing.validate(header), addressing.error_log
    back = soap.parse_response(data, ct, max_bytes=LIMIT)
    assert back.relates_to == message_id
    assert back.message_id != message_id and back.message_id.startswith("urn:uuid:")
    assert back.action == registry.ITI_39.response_action


def test_request_building_sets_to_and_anonymous_reply(specs_dir: Path) -> None:
    body = retrieve.build_request(retrieve.RetrieveRequest(documents=(
        retrieve.DocumentRequest(repository_unique_id="1.2", document_unique_id="3.4"),)))
    data, ct, mid = soap.build_request(body, action=RETRIEVE, to="https://ncp.example.be/xca")
    msg = soap.parse_request(data, ct, max_bytes=LIMIT)
    assert msg.message_id == mid
    assert msg.addressing.to == "https://ncp.example.be/xca"
    assert msg.addressing.reply_to == soap.ANONYMOUS
    schemas.validate(msg.envelope, "soap12-ipf/soap-1.2-envelope.xsd")


def test_serialization_keeps_signed_bytes(sample: bytes) -> None:
    """Building then serializing never re-indents: what a signer saw is what is sent."""
    body = retrieve.build_request(retrieve.RetrieveRequest(documents=(
        retrieve.DocumentRequest(repository_unique_id="1.2", document_unique_id="3.4"),)))
    before = etree.tostring(body, method="c14n", exclusive=True)
    env = soap.build_envelope(body, action=RETRIEVE)
    data, _ = soap.serialize(env)
    reparsed = parse_xml(data).find(f"{qname('soap', 'Body')}")[0]
    assert etree.tostring(reparsed, method="c14n", exclusive=True) == before
    assert b"\n  <" not in data


# --- faults ------------------------------------------------------------------------------------

def _swap(data: bytes, old: bytes, new: bytes) -> bytes:
    assert old in data
    return data.replace(old, new, 1)


@pytest.mark.parametrize(("mutate", "ct", "fault", "subcode"), [
    (lambda d: d, SOAP_CT.format(registry.ITI_38.request_action), soap.ActionMismatchFault,
     "ActionMismatch"),
    (lambda d: _swap(d, b"<addressing:Action env:mustUnderstand=\"1\">"
                        b"urn:ihe:iti:2007:CrossGatewayRetrieve</addressing:Action>", b""),
     "application/soap+xml", soap.MissingAddressingHeaderFault,
     "MessageAddressingHeaderRequired"),
    (lambda d: _swap(d, b"<addressing:MessageID>", b"<addressing:To>x:y</addressing:To>"
                                                     b"<addressing:MessageID>"),
     "application/soap+xml", None, None),
    # any absolute IRI is a MessageID (issue 12 item 5); a relative reference is not
    (lambda d: d.replace(b"<addressing:MessageID>urn:uuid:", b"<addressing:MessageID>uuid:"),
     "application/soap+xml", None, None),
    (lambda d: d.replace(b"<addressing:MessageID>urn:uuid:",
                         b"<addressing:MessageID>http://peer.example/msg/"),
     "application/soap+xml", None, None),
    (lambda d: d.replace(b"<addressing:MessageID>urn:uuid:", b"<addressing:MessageID>"),
     "application/soap+xml", soap.AddressingFault, "InvalidAddressingHeader"),
    (lambda d: _swap(d, b"</env:Header>",
                     b"<addressing:ReplyTo><addressing:Address>https://evil.example/cb"
                     b"</addressing:Address></addressing:ReplyTo></env:Header>"),
     "application/soap+xml", soap.OnlyAnonymousAddressFault, "InvalidAddressingHeader"),
    (lambda d: _swap(d, b"</env:Header>", b"<x:Tx xmlns:x=\"urn:x\" env:mustUnderstand=\"true\""
                                          b"/></env:Header>"),
     "application/soap+xml", soap.MustUnderstandFault, None),
    (lambda d: d.replace(b"http://www.w3.org/2003/05/soap-envelope",
                         b"http://schemas.xmlsoap.org/soap/envelope/"),
     "application/soap+xml", soap.VersionMismatchFault, None),
    (lambda d: d, "text/xml; charset=utf-8", soap.VersionMismatchFault, None),
    (lambda d: d, "application/json", soap.MediaTypeError, None),
    (lambda d: d, "application/soap+xml; charset=iso-8859-1", soap.MediaTypeError, None),
    (lambda d: _swap(d, b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>",
                     b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM "
                     b"\"file:///etc/passwd\">]>"),
     "application/soap+xml", soap.EnvelopeError, None),
    (lambda d: _swap(d, b"</env:Body>", b"<second/></env:Body>"), "application/soap+xml",
     soap.EnvelopeError, None),
    (lambda d: _swap(d, b"</env:Body>", b"</env:Body><env:Body/>"), "application/soap+xml",
     soap.EnvelopeError, None),
    (lambda d: _swap(d, b"<env:Body>", b"<env:Body><?evil pi?>"), "application/soap+xml",
     soap.EnvelopeError, None),
    (lambda d: d[:-40], "application/soap+xml", soap.EnvelopeError, None),
    (lambda d: _swap(d, b"</xdsb:DocumentRequest>",
                     b"</xdsb:DocumentRequest><xop:Include xmlns:xop="
                     b"\"http://www.w3.org/2004/08/xop/include\" href=\"cid:a\"/>"),
     "application/soap+xml", soap.EnvelopeError, None),
])
def test_envelope_errors_become_faults(sample, mutate, ct, fault, subcode) -> None:
    data = mutate(sample)
    if fault is None:  # the control case: the mutation is harmless
        soap.parse_request(data, ct, max_bytes=LIMIT)
        return
    with pytest.raises(fault) as info:
        soap.parse_request(data, ct, max_bytes=LIMIT)
    err = info.value
    body, fault_ct, status = soap.build_fault(err, relates_to=None)
    env = parse_xml(body)
    schemas.validate(env, "soap12-ipf/soap-1.2-envelope.xsd")
    values = env.xpath("//soap:Fault/soap:Code//soap:Value/text()", namespaces=N)
    assert values[0] == f"soap:{err.code}"
    if subcode:
        assert values[1] == f"wsa:{subcode}"
    assert status == err.http_status
    assert fault_ct.endswith('action="http://www.w3.org/2005/08/addressing/soap/fault"')
    reason = env.xpath("//soap:Reason/soap:Text/text()", namespaces=N)[0]
    assert err.error_id in reason and (err.detail not in reason or not err.detail)


def test_must_understand_fault_names_the_header(sample) -> None:
    data = _swap(sample, b"</env:Header>", b"<x:Tx xmlns:x=\"urn:x\" env:mustUnderstand=\"1\"/>"
                                           b"</env:Header>")
    with pytest.raises(soap.MustUnderstandFault) as info:
        soap.parse_request(data, "application/soap+xml", max_bytes=LIMIT)
    env = soap.fault_envelope(info.value)
    nu = env.find(f"{qname('soap', 'Header')}/{qname('soap', 'NotUnderstood')}")
    assert nu is not None and nu.get("qname") == "nu:Tx" and nu.nsmap["nu"] == "urn:x"
    # a header for another role is not ours to understand
    data = _swap(sample, b"</env:Header>",
                 b"<x:Tx xmlns:x=\"urn:x\" env:mustUnderstand=\"1\" env:role=\"urn:other\"/>"
                 b"</env:Header>")
    soap.parse_request(data, "application/soap+xml", max_bytes=LIMIT)


def test_oversized_body_is_refused_before_parsing(sample) -> None:
    with pytest.raises(soap.RequestTooLargeError) as info:
        soap.parse_request(sample, "application/soap+xml", max_bytes=len(sample) - 1)
    assert info.value.error is ErrorCode.REQUEST_TOO_LARGE
    assert info.value.http_status == 413


def test_response_without_relates_to_is_refused(sample) -> None:
    with pytest.raises(soap.EnvelopeError):
        soap.parse_response(sample, "application/soap+xml", max_bytes=LIMIT)


def test_other_errors_become_receiver_faults() -> None:
    body, _, status = soap.build_fault(NcpError(ErrorCode.GENERIC, "db down: password=x"))
    assert status == 500
    assert b"soap:Receiver" in body and b"password" not in body


def test_public_names() -> None:
    assert set(ncp.soap.__all__) == {n for n in dir(ncp.soap) if not n.startswith("_")} - {
        "addressing", "cli", "dispatch", "envelope", "errors", "mime", "xop"}


def test_prolog_processing_instruction_is_refused(sample) -> None:
    data = _swap(sample, b"?>\n", b"?>\n<?xml-stylesheet href=\"x.xsl\"?>\n")
    with pytest.raises(soap.EnvelopeError):
        soap.parse_request(data, "application/soap+xml", max_bytes=LIMIT)


def test_dispatch_finds_the_transaction_and_checks_the_body(sample) -> None:
    msg = soap.parse_request(sample, SOAP_CT.format(RETRIEVE), max_bytes=LIMIT)
    assert soap.transaction_for(msg, validate_schema=True) is registry.ITI_39
    wrong = _swap(sample, b"urn:ihe:iti:2007:CrossGatewayRetrieve</addressing:Action>",
                  b"urn:ihe:iti:2007:CrossGatewayQuery</addressing:Action>")
    msg = soap.parse_request(wrong, "application/soap+xml", max_bytes=LIMIT)
    with pytest.raises(soap.EnvelopeError):
        soap.transaction_for(msg)
    unknown = _swap(sample, b"urn:ihe:iti:2007:CrossGatewayRetrieve</addressing:Action>",
                    b"urn:ihe:iti:2007:RetrieveDocumentSet</addressing:Action>")
    msg = soap.parse_request(unknown, "application/soap+xml", max_bytes=LIMIT)
    with pytest.raises(soap.ActionNotSupportedFault) as info:
        soap.transaction_for(msg)
    body, _, status = soap.build_fault(info.value)
    assert b"wsa:ActionNotSupported" in body and status == 400


def test_dispatch_validates_the_body_against_the_schema(sample) -> None:
    bad = _swap(sample, b"<xdsb:RepositoryUniqueId>",
                b"<xdsb:Unexpected/><xdsb:RepositoryUniqueId>")
    msg = soap.parse_request(bad, "application/soap+xml", max_bytes=LIMIT)
    assert soap.transaction_for(msg) is registry.ITI_39
    with pytest.raises(schemas.SchemaViolation):
        soap.transaction_for(msg, validate_schema=True)
