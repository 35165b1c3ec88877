"""MTOM/XOP: packages from common SOAP stacks parse, our packages round trip, and malformed
multipart is refused."""

from __future__ import annotations

import base64
import uuid

import pytest
from lxml import etree

from ncp import soap
from ncp.ihe import registry, schemas
from ncp.ihe.xca import retrieve
from ncp.soap import mime
from ncp.xmlutil import NS

ACTION = registry.ITI_39.response_action
PDF = b"%PDF-1.4\r\n" + bytes(range(256)) * 8 + b"\r\n--not-a-boundary\r\n%%EOF"
LIMIT = 1_000_000


def envelope_xml(include_href: str = "cid:doc1@example.org", *,
                 action: str = ACTION) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"
 xmlns:wsa="http://www.w3.org/2005/08/addressing"><env:Header>
<wsa:Action>{action}</wsa:Action>
<wsa:RelatesTo>urn:uuid:{uuid.uuid4()}</wsa:RelatesTo></env:Header><env:Body>
<xds:RetrieveDocumentSetResponse xmlns:xds="urn:ihe:iti:xds-b:2007">
<rs:RegistryResponse xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
 status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"/>
<xds:DocumentResponse><xds:HomeCommunityId>urn:oid:1.2.3</xds:HomeCommunityId>
<xds:RepositoryUniqueId>1.2.3.4</xds:RepositoryUniqueId>
<xds:DocumentUniqueId>1.2.3.4.5</xds:DocumentUniqueId>
<xds:mimeType>application/pdf</xds:mimeType>
<xds:Document><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include"
 href="{include_href}"/></xds:Document></xds:DocumentResponse>
</xds:RetrieveDocumentSetResponse></env:Body></env:Envelope>""".encode()


def package(parts: list[tuple[str, bytes]], boundary: str = "MIMEBoundary_abc") -> bytes:
    out = b""
    for headers, content in parts:
        out += f"--{boundary}\r\n{headers}\r\n\r\n".encode() + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def axis2_style() -> tuple[bytes, str]:
    """Axis2 puts the action as a parameter of the outer type, start-info bare."""
    body = package([
        ("Content-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"\r\n"
         "Content-Transfer-Encoding: binary\r\nContent-ID: <0.root@apache.org>",
         envelope_xml()),
        ("Content-Type: application/pdf\r\nContent-Transfer-Encoding: binary\r\n"
         "Content-ID: <doc1@example.org>", PDF),
    ])
    ct = ('multipart/related; boundary=MIMEBoundary_abc; type="application/xop+xml"; '
          'start="<0.root@apache.org>"; start-info="application/soap+xml"; '
          f'action="{ACTION}"')
    return body, ct


def cxf_style() -> tuple[bytes, str]:
    """CXF escapes the action inside start-info and the root part's type."""
    inner = f'application/soap+xml; action=\\"{ACTION}\\"'
    body = package([
        (f'Content-Type: application/xop+xml; charset=UTF-8; type="{inner}"\r\n'
         "Content-Transfer-Encoding: binary\r\nContent-ID: <root.message@cxf.apache.org>",
         envelope_xml()),
        ("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n"
         "Content-ID: <doc1@example.org>", PDF),
    ], boundary="uuid:0b5b9e0a-2a5c-4f6c-8e0c-1a2b3c4d5e6f")
    ct = ('multipart/related; type="application/xop+xml"; '
          'boundary="uuid:0b5b9e0a-2a5c-4f6c-8e0c-1a2b3c4d5e6f"; '
          f'start="<root.message@cxf.apache.org>"; start-info="{inner}"')
    return body, ct


@pytest.mark.parametrize("style", [axis2_style, cxf_style])
def test_packages_of_common_stacks_parse(style) -> None:
    body, ct = style()
    msg = soap.parse_response(body, ct, max_bytes=LIMIT)
    assert msg.mtom and msg.http_action == ACTION
    assert msg.attachments == {"doc1@example.org": PDF}
    resp = retrieve.parse_response(msg.body_element, msg.attachments)
    assert resp.documents[0].document == PDF
    inlined = msg.reconstituted_body_element()
    schemas.validate_body(inlined, registry.ITI_39, "response")
    assert msg.body_element.xpath("//xop:Include", namespaces={"xop": NS["xop"]})  # untouched


def test_root_defaults_to_first_part_and_base64_parts_decode() -> None:
    body = package([
        ('Content-Type: application/xop+xml; type="application/soap+xml"',
         envelope_xml()),
        ("Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
         "Content-ID: <doc1@example.org>", base64.encodebytes(PDF)),
    ])
    msg = soap.parse_response(body, 'multipart/related; boundary=MIMEBoundary_abc; '
                                    'type="application/xop+xml"', max_bytes=LIMIT)
    assert msg.attachments["doc1@example.org"] == PDF


def test_percent_encoded_cid_resolves() -> None:
    body = package([
        ('Content-Type: application/xop+xml; type="application/soap+xml"',
         envelope_xml("cid:doc%201@example.org")),
        ("Content-ID: <doc 1@example.org>", PDF),
    ])
    msg = soap.parse_response(body, 'multipart/related; boundary=MIMEBoundary_abc; '
                                    'type="application/xop+xml"', max_bytes=LIMIT)
    assert retrieve.parse_response(msg.body_element, msg.attachments).documents[0].document == PDF


def test_our_mtom_round_trip_keeps_binary_and_order() -> None:
    docs = tuple(retrieve.DocumentResponse(
        repository_unique_id="1.2", document_unique_id=f"1.2.{i}", mime_type="application/pdf",
        document=PDF + bytes([i])) for i in range(3))
    resp = retrieve.RetrieveResponse.of(documents=docs)
    attachments: dict[str, bytes] = {}
    env = soap.build_envelope(retrieve.build_response(resp, attachments), action=ACTION,
                              relates_to=soap.new_message_id())
    data, ct = soap.serialize(env, attachments=attachments, mtom=True)
    parsed = mime.parse_content_type(ct)
    assert parsed.media_type == "multipart/related"
    assert parsed.get("type") == "application/xop+xml"
    # Axis2's form: the action top-level (the first "action" in the raw header), start-info
    # bare; an escaped action inside start-info is what Axis2 mis-reads as ActionMismatch
    assert parsed.get("action") == ACTION and parsed.get("start-info") == "application/soap+xml"
    assert ct.count("action") == 1
    assert data.count(PDF) == 3
    msg = soap.parse_response(data, ct, max_bytes=LIMIT)
    assert retrieve.parse_response(msg.body_element, msg.attachments) == resp
    assert list(msg.attachments) == list(attachments)


def test_mtom_without_attachments_and_with_inline_base64() -> None:
    resp = retrieve.RetrieveResponse.of(documents=(retrieve.DocumentResponse(
        repository_unique_id="1.2", document_unique_id="1.2.3", mime_type="text/xml",
        document=b"<x/>"),))
    env = soap.build_envelope(retrieve.build_response(resp), action=ACTION,
                              relates_to=soap.new_message_id())
    data, ct = soap.serialize(env, mtom=True)
    msg = soap.parse_response(data, ct, max_bytes=LIMIT)
    assert msg.mtom and not msg.attachments
    assert retrieve.parse_response(msg.body_element, msg.attachments) == resp


def test_attachments_need_mtom_and_includes_need_parts() -> None:
    attachments: dict[str, bytes] = {}
    resp = retrieve.RetrieveResponse.of(documents=(retrieve.DocumentResponse(
        repository_unique_id="1.2", document_unique_id="1.2.3", mime_type="text/xml",
        document=b"<x/>"),))
    env = soap.build_envelope(retrieve.build_response(resp, attachments), action=ACTION,
                              relates_to=soap.new_message_id())
    with pytest.raises(ValueError):
        soap.serialize(env, attachments=attachments, mtom=False)
    with pytest.raises(soap.MultipartError):
        soap.serialize(env, attachments={}, mtom=True)


XOP_CT = 'multipart/related; boundary=MIMEBoundary_abc; type="application/xop+xml"'
ROOT = ('Content-Type: application/xop+xml; type="application/soap+xml"\r\n'
        "Content-ID: <root@x>", envelope_xml())
PART = ("Content-Type: application/pdf\r\nContent-ID: <doc1@example.org>", PDF)


@pytest.mark.parametrize(("body", "ct"), [
    (package([ROOT, PART])[:-20], XOP_CT),                                  # no close delimiter
    (package([ROOT, PART]), 'multipart/related; type="application/xop+xml"'),  # no boundary
    (package([ROOT, PART]), XOP_CT.replace("MIMEBoundary_abc", "other")),    # wrong boundary
    (package([ROOT, PART]), 'multipart/related; boundary="a b "; type="application/xop+xml"'),
    (package([ROOT, PART]), "multipart/related; boundary=MIMEBoundary_abc"),  # no type
    (package([ROOT, PART, PART]), XOP_CT),                                  # Content-ID twice
    (package([ROOT, ("Content-Type: application/pdf", PDF)]), XOP_CT),      # no Content-ID
    (package([("Content-Type: text/xml\r\nContent-ID: <root@x>", envelope_xml()), PART]),
     XOP_CT),                                                               # root not XOP
    (package([ROOT, PART]), XOP_CT + '; start="<missing@x>"'),             # start not found
    (package([ROOT, PART]).replace(b"\r\n", b"\n"), XOP_CT),                # LF only
    (package([ROOT, PART]).replace(b"--MIMEBoundary_abc\r\nContent-Type: application/pdf",
                                   b"--MIMEBoundary_abcjunk\r\nContent-Type: application/pdf"),
     XOP_CT),                                                               # garbage after delim
    (package([ROOT, ("Content-Type: application/pdf\r\nContent-Transfer-Encoding: "
                     "quoted-printable\r\nContent-ID: <doc1@example.org>", PDF)]), XOP_CT),
    (package([ROOT, ("Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64"
                     "\r\nContent-ID: <doc1@example.org>", b"!!!")]), XOP_CT),
    (package([ROOT, ("Content-Type: application/pdf\r\nContent-ID <doc1@example.org>", PDF)]),
     XOP_CT),                                                               # malformed header
    (package([ROOT, ("Content-Type: application/pdf\r\nContent-ID: <other@x>", PDF)]),
     XOP_CT),                                                               # dangling include
    (package([ROOT] + [(f"Content-ID: <p{i}@x>", b"x") for i in range(70)]), XOP_CT),
])
def test_malformed_multipart_is_refused(body: bytes, ct: str) -> None:
    with pytest.raises((soap.MultipartError, soap.MediaTypeError)) as info:
        soap.parse_response(body, ct, max_bytes=LIMIT)
    assert info.value.code == "Sender"


def test_conflicting_actions_in_the_package_are_a_mismatch() -> None:
    body, ct = cxf_style()
    ct += f'; action="{registry.ITI_38.response_action}"'
    with pytest.raises(soap.ActionMismatchFault):
        soap.parse_response(body, ct, max_bytes=LIMIT)


def test_package_action_must_match_wsa_action() -> None:
    body, ct = axis2_style()
    body = body.replace(ACTION.encode(), registry.ITI_38.response_action.encode())
    with pytest.raises(soap.ActionMismatchFault):
        soap.parse_response(body, ct, max_bytes=LIMIT)


def test_oversized_package_is_refused() -> None:
    body, ct = axis2_style()
    with pytest.raises(soap.RequestTooLargeError):
        soap.parse_response(body, ct, max_bytes=len(body) - 1)


def test_multipart_writer_refuses_a_boundary_inside_a_part() -> None:
    with pytest.raises(soap.MultipartError):
        mime.build_multipart([({"Content-ID": "<a>"}, b"x\r\n--B\r\ny")], "B")


def test_include_must_be_the_only_content() -> None:
    env = etree.fromstring(envelope_xml())
    doc = env.xpath("//xds:Document", namespaces={"xds": NS["xds"]})[0]
    doc.text = "QUJD"
    with pytest.raises(soap.MultipartError):
        soap.reconstitute(env, {"doc1@example.org": PDF})
