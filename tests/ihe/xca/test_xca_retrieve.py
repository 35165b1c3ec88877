"""XCA retrieve: the sample parses; responses round trip inline and as MTOM; errors are typed."""

from __future__ import annotations

import base64

import pytest
from lxml import etree

from ncp import soap
from ncp.errors import ErrorCode, NcpError
from ncp.ihe import registry, schemas
from ncp.ihe.codes import ResponseStatus
from ncp.ihe.errors import InvalidValueError, MissingElementError
from ncp.ihe.rim import RegistryError
from ncp.ihe.xca import retrieve
from ncp.xmlutil import NS

SAMPLE = "DK-template_xca_retrieve_soap_request-ps.xml"
N = {"xds": NS["xds"], "rs": NS["rs"], "xop": NS["xop"]}
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def doc(uid: str = "1.3.182.2.4.1.9.1", content: bytes = b"<ClinicalDocument/>",
        mime: str = "text/xml") -> retrieve.DocumentResponse:
    return retrieve.DocumentResponse(home_community_id="urn:oid:1.3.182.2.4.1",
                                     repository_unique_id="1.3.182.2.4.1.7",
                                     document_unique_id=uid, mime_type=mime, document=content)


def test_sample_request_parses_with_its_values(dk_body) -> None:
    el = dk_body(SAMPLE)
    schemas.validate_body(el, registry.ITI_39, "request")
    req = retrieve.parse_request(el)
    assert req.documents == (retrieve.DocumentRequest(
        repository_unique_id="1.2.208.176.7.2.987654321",
        document_unique_id="1.2.208.176.7.2.987654321^478299832581102L3",
        home_community_id=None),)


def test_request_round_trip() -> None:
    req = retrieve.RetrieveRequest(documents=(
        retrieve.DocumentRequest(home_community_id="urn:oid:1.3.182.2.4.1",
                                 repository_unique_id="1.3.182.2.4.1.7",
                                 document_unique_id="1.3.182.2.4.1.9.1"),
        retrieve.DocumentRequest(repository_unique_id="1.3.182.2.4.1.7",
                                 document_unique_id="1.3.182.2.4.1.9.2")))
    el = retrieve.build_request(req)
    schemas.validate_body(el, registry.ITI_39, "request")
    assert retrieve.parse_request(el) == req


def test_inline_response_round_trip() -> None:
    resp = retrieve.RetrieveResponse.of(documents=(doc(), doc("1.3.182.2.4.1.9.2", PDF,
                                                              "application/pdf")))
    el = retrieve.build_response(resp)
    schemas.validate_body(el, registry.ITI_39, "response")
    texts = el.xpath("//xds:Document/text()", namespaces=N)
    assert base64.b64decode(texts[1]) == PDF
    assert retrieve.parse_response(el) == resp


def test_partial_success_with_a_per_document_error() -> None:
    err = RegistryError.from_error(NcpError(ErrorCode.UNKNOWN_SIGNIFIER, "masked",
                                            location="1.3.182.2.4.1.9.3"))
    resp = retrieve.RetrieveResponse.of(documents=(doc(),), errors=(err,))
    assert resp.status is ResponseStatus.PARTIAL_SUCCESS
    el = retrieve.build_response(resp)
    schemas.validate_body(el, registry.ITI_39, "response")
    assert el.xpath("rs:RegistryResponse/@status", namespaces=N) == [
        "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"]
    assert el.xpath("//rs:RegistryError/@location", namespaces=N) == ["1.3.182.2.4.1.9.3"]
    assert retrieve.parse_response(el) == resp
    failure = retrieve.RetrieveResponse.of(errors=(err,))
    assert failure.status is ResponseStatus.FAILURE
    schemas.validate_body(retrieve.build_response(failure), registry.ITI_39, "response")


def test_mtom_response_round_trip_through_soap() -> None:
    resp = retrieve.RetrieveResponse.of(documents=(doc(), doc("1.3.182.2.4.1.9.2", PDF,
                                                              "application/pdf")))
    attachments: dict[str, bytes] = {}
    el = retrieve.build_response(resp, attachments)
    assert len(attachments) == 2
    assert len(el.xpath("//xds:Document/xop:Include", namespaces=N)) == 2
    envelope = soap.build_envelope(el, action=registry.ITI_39.response_action,
                                   relates_to=soap.new_message_id())
    data, ct = soap.serialize(envelope, attachments=attachments, mtom=True)
    assert ct.startswith("multipart/related;")
    assert PDF in data  # binary, not base64
    msg = soap.parse_response(data, ct, max_bytes=10_000_000)
    assert msg.mtom and set(msg.attachments) == set(attachments)
    schemas.validate_body(msg.reconstituted_body_element(), registry.ITI_39, "response")
    assert retrieve.parse_response(msg.body_element, msg.attachments) == resp


@pytest.mark.parametrize(("mutate", "error"), [
    (lambda el: el.remove(el[0]), MissingElementError),
    (lambda el: el[0].remove(el[0].find(f"{{{NS['xds']}}}DocumentUniqueId")),
     MissingElementError),
    (lambda el: el[0].find(f"{{{NS['xds']}}}RepositoryUniqueId").__setattr__("text", " "),
     MissingElementError),
])
def test_malformed_requests_are_refused(dk_body, mutate, error) -> None:
    el = dk_body(SAMPLE)
    mutate(el)
    with pytest.raises(error):
        retrieve.parse_request(el)


def test_invalid_base64_and_dangling_include_are_refused() -> None:
    el = retrieve.build_response(retrieve.RetrieveResponse.of(documents=(doc(),)))
    el.xpath("//xds:Document", namespaces=N)[0].text = "not*base64"
    with pytest.raises(InvalidValueError):
        retrieve.parse_response(el)
    attachments: dict[str, bytes] = {}
    el = retrieve.build_response(retrieve.RetrieveResponse.of(documents=(doc(),)), attachments)
    with pytest.raises(MissingElementError):
        retrieve.parse_response(el, {})
    with pytest.raises(MissingElementError):
        retrieve.parse_response(el, None)
    include = el.xpath("//xop:Include", namespaces=N)[0]
    include.set("href", "http://example.org/steal")
    with pytest.raises(InvalidValueError):
        retrieve.parse_response(el, attachments)


def test_include_mixed_with_text_is_refused() -> None:
    attachments: dict[str, bytes] = {}
    el = retrieve.build_response(retrieve.RetrieveResponse.of(documents=(doc(),)), attachments)
    el.xpath("//xds:Document", namespaces=N)[0].text = "QUJD"
    with pytest.raises(InvalidValueError):
        retrieve.parse_response(el, attachments)


def test_unknown_status_is_refused() -> None:
    el = retrieve.build_response(retrieve.RetrieveResponse.of(documents=(doc(),)))
    el.xpath("rs:RegistryResponse", namespaces=N)[0].set("status", "Success")
    with pytest.raises(InvalidValueError):
        retrieve.parse_response(el)
    assert etree.QName(el).localname == "RetrieveDocumentSetResponse"
