"""XDR submit: the OpenNCP eD sample parses; eD and discard submissions build valid and round
trip (inline and MTOM); document/entry pairing, membership, patient, hash and size are enforced."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from pathlib import Path

import pytest
from lxml import etree

from ncp import soap
from ncp.errors import ErrorCode, NcpError
from ncp.ihe import oids, registry, schemas, xdr
from ncp.ihe.codes import ClassCode, FormatCode, ResponseStatus, Service
from ncp.ihe.errors import MessageError, SubmissionError, UnexpectedMessageError
from ncp.ihe.identifiers import PatientId
from ncp.ihe.rim import Author, Coded, RegistryError, SubmissionSet
from ncp.xmlutil import NS, parse_xml

N = {"xds": NS["xds"], "rim": NS["rim"], "lcm": NS["lcm"], "rs": NS["rs"]}
ED = b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>Medication dispensed</title>" \
     b"</ClinicalDocument>"


@pytest.fixture
def sample_el(samples: Path) -> etree._Element:
    return parse_xml((samples / "xdr" / "openncp_testSubmitED.xml").read_bytes())


def submission(make_entry, lu_patient: PatientId, *, discard: bool = False,
               content: bytes = ED) -> xdr.ProvideAndRegisterRequest:
    klass = ClassCode.EDISPENSATION_DISCARD if discard else ClassCode.EDISPENSATION
    fmt = FormatCode.EDISPENSATION_DISCARD if discard else FormatCode.EDISPENSATION
    entry = dataclasses.replace(
        make_entry(klass=klass, fmt=fmt), size=len(content),
        hash=hashlib.sha1(content).hexdigest(), home_community_id=None,  # noqa: S324
        repository_unique_id=None)
    sset = SubmissionSet(
        entry_uuid="urn:uuid:2a5c5d8e-7c63-4c1e-a2e9-3f1c6a1d9b70",
        unique_id="1.2.208.176.7.3.1", source_id="1.2.208.176.7.3", patient_id=lu_patient,
        submission_time="20250301120000",
        content_type_code=Coded(code=klass.value, scheme=oids.LOINC.value,
                                display="eDispensation"),
        authors=(Author(person="Pharmacist^Hansen", institutions=("Apotek^^^^^^^^^1.2.3",)),),
        title="eDispensation")
    return xdr.ProvideAndRegisterRequest(submission_set=sset, documents=(
        xdr.SubmittedDocument(entry=entry, content=content),))


def test_sample_parses_with_its_values(sample_el) -> None:
    schemas.validate_body(sample_el, registry.ITI_41, "request")
    req = xdr.parse_request(sample_el)
    assert req.submission_set.entry_uuid == "SubmissionSet"
    assert req.submission_set.unique_id == "1.2.246.556.12001.4.93.2.1.1381483055949"
    assert req.submission_set.source_id == "1.3.6.1.4.1.21367.2009.1.2.1"
    assert req.submission_set.patient_id == PatientId(extension="NTSDTT80A18G273W",
                                                      root="2.16.840.1.113883.2.9.4.3.2")
    assert req.submission_set.authors[0].institutions == (
        "Kela testiapteekki^^^^^^^^^1.2.246.553.999",)
    (document,) = req.documents
    entry = document.entry
    assert entry.entry_uuid == "urn:uuid:d58667af-3863-4c76-97fa-52a9d447ddac"
    assert entry.class_code.code == "60593-1"
    assert entry.format_code == Coded(code="urn:epSOS:ep:dis:2010", scheme="eHDSI formatCodes",
                                      display="eHDSI coded eDispensation")
    assert entry.healthcare_facility_type_code.code == "FI"
    assert (entry.creation_time, entry.language_code) == ("20131011121736", "en")
    assert entry.source_patient_info[1] == "PID-5|INTSISS^DICIOTTO"
    assert document.content.startswith(b"<ClinicalDocument")
    assert req.services == {Service.EDISPENSATION}


def test_sample_rebuilds_valid_and_identical(sample_el) -> None:
    req = xdr.parse_request(sample_el)
    el = xdr.build_request(req)
    schemas.validate_body(el, registry.ITI_41, "request")
    assert xdr.parse_request(el) == req


@pytest.mark.parametrize("discard", [False, True])
def test_ed_and_discard_round_trip(make_entry, lu_patient, discard: bool) -> None:
    req = submission(make_entry, lu_patient, discard=discard)
    el = xdr.build_request(req)
    schemas.validate_body(el, registry.ITI_41, "request")
    assert el.xpath("//rim:Association/@associationType", namespaces=N) == [
        "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"]
    assert el.xpath("//rim:Classification[@classificationNode]/@classifiedObject",
                    namespaces=N) == [req.submission_set.entry_uuid]
    assert base64.b64decode(el.xpath("xds:Document/text()", namespaces=N)[0]) == ED
    back = xdr.parse_request(el)
    assert back == req
    assert back.services == {Service.EDISPENSATION_DISCARD if discard else Service.EDISPENSATION}


def test_mtom_submission_round_trip(make_entry, lu_patient) -> None:
    req = submission(make_entry, lu_patient)
    attachments: dict[str, bytes] = {}
    el = xdr.build_request(req, attachments)
    data, ct, message_id = soap.build_request(
        el, action=registry.ITI_41.request_action, to="https://ncp.example.lu/xdr",
        attachments=attachments)
    msg = soap.parse_request(data, ct, max_bytes=1_000_000)
    assert msg.mtom and msg.message_id == message_id
    schemas.validate_body(msg.reconstituted_body_element(), registry.ITI_41, "request")
    assert xdr.parse_request(msg.body_element, msg.attachments) == req


def test_registry_responses_validate() -> None:
    ok = xdr.RegistryResponse.of()
    assert ok.status is ResponseStatus.SUCCESS
    failed = xdr.RegistryResponse.of(errors=(RegistryError.from_error(
        NcpError(ErrorCode.EP_NOT_FOUND, "unknown prescription")),))
    assert failed.status is ResponseStatus.FAILURE
    for resp in (ok, failed):
        el = xdr.build_response(resp)
        schemas.validate_body(el, registry.ITI_41, "response")
        assert xdr.parse_response(el) == resp


def _objects(el: etree._Element) -> etree._Element:
    return el.xpath("lcm:SubmitObjectsRequest/rim:RegistryObjectList", namespaces=N)[0]


def _drop(node: etree._Element) -> None:
    node.getparent().remove(node)


@pytest.mark.parametrize(("mutate", "code"), [
    (lambda el: _drop(el.xpath("xds:Document", namespaces=N)[0]), ErrorCode.MISSING_DOCUMENT),
    (lambda el: el.append(etree.fromstring(
        f'<xds:Document xmlns:xds="{NS["xds"]}" id="urn:uuid:extra">QUJD</xds:Document>')),
     ErrorCode.MISSING_DOCUMENT_METADATA),
    (lambda el: _drop(_objects(el).xpath("rim:Association", namespaces=N)[0]),
     ErrorCode.REGISTRY_METADATA_ERROR),
    (lambda el: _drop(_objects(el).xpath("rim:ExtrinsicObject", namespaces=N)[0]),
     ErrorCode.REGISTRY_METADATA_ERROR),
    (lambda el: _objects(el).append(etree.fromstring(etree.tostring(
        _objects(el).xpath("rim:RegistryPackage", namespaces=N)[0]))),
     ErrorCode.REGISTRY_METADATA_ERROR),
    (lambda el: el.xpath("xds:Document", namespaces=N)[0].__setattr__(
        "text", base64.b64encode(ED + b" ").decode()), ErrorCode.REGISTRY_METADATA_ERROR),
    (lambda el: _objects(el).xpath(
        f"rim:ExtrinsicObject/rim:ExternalIdentifier[@identificationScheme="
        f"'{oids.DE_PATIENT_ID.value}']", namespaces=N)[0].set(
            "value", "1990010100000^^^&1.3.182.4.4&ISO"), ErrorCode.REGISTRY_METADATA_ERROR),
])
def test_inconsistent_submissions_are_refused(make_entry, lu_patient, mutate, code) -> None:
    el = xdr.build_request(submission(make_entry, lu_patient))
    mutate(el)
    with pytest.raises(SubmissionError) as info:
        xdr.parse_request(el)
    assert info.value.error is code


def test_hash_mismatch_is_refused(make_entry, lu_patient) -> None:
    req = submission(make_entry, lu_patient)
    entry = dataclasses.replace(req.documents[0].entry, size=None, hash="0" * 40)
    el = xdr.build_request(dataclasses.replace(req, documents=(
        xdr.SubmittedDocument(entry=entry, content=ED),)))
    with pytest.raises(SubmissionError, match="hash"):
        xdr.parse_request(el)


def test_missing_submission_set_patient_and_wrong_root_are_refused(sample_el) -> None:
    pkg = _objects(sample_el).xpath("rim:RegistryPackage", namespaces=N)[0]
    _drop(pkg.xpath(f"rim:ExternalIdentifier[@identificationScheme="
                    f"'{oids.SS_PATIENT_ID.value}']", namespaces=N)[0])
    with pytest.raises(MessageError):
        xdr.parse_request(sample_el)
    with pytest.raises(UnexpectedMessageError):
        xdr.parse_request(_objects(sample_el))
