"""XCPD messages: the IPF samples parse, every built message validates, round trips hold, and
malformed messages are refused with typed errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from ncp.errors import ErrorCode
from ncp.ihe import oids, registry, schemas, xcpd
from ncp.ihe.codes import AcknowledgementType, QueryResponseCode, XcpdIssue
from ncp.ihe.errors import (
    InvalidValueError,
    MessageError,
    MissingElementError,
    UnexpectedMessageError,
)
from ncp.ihe.identifiers import II
from ncp.xmlutil import NS, parse_xml

HL7 = {"h": NS["hl7"]}
OUR_DEVICE = II(root="1.3.182.2.4.1.1")
OUR_HCID = "1.3.182.2.4.1"


@pytest.fixture
def request_el(samples: Path) -> etree._Element:
    return parse_xml((samples / "xcpd" / "ipf_iti55-sample-request.xml").read_bytes())


@pytest.fixture
def response_el(samples: Path) -> etree._Element:
    return parse_xml((samples / "xcpd" / "ipf_iti55-sample-response.xml").read_bytes())


def lu_request() -> xcpd.PatientDiscoveryRequest:
    return xcpd.PatientDiscoveryRequest(
        message_id=II(root="1.2.208.176.7.1", extension="4711"),
        creation_time="20250301101500",
        sender=xcpd.Device(id=II(root="1.2.208.176.7.1.1"), home_community_id="1.2.208.176.7.1"),
        receiver=xcpd.Device(id=OUR_DEVICE, home_community_id=OUR_HCID),
        query=xcpd.PatientDiscoveryQuery(
            query_id=II(root="1.2.208.176.7.1.2", extension="q-1"),
            patient_ids=(II(root=oids.LU_PATIENT_ID.value, extension="1980010112345"),),
            names=(xcpd.PersonName(family=("Muller",), given=("Anne", "Marie")),),
            birth_time="19800101",
            gender="F",
        ),
    )


def matched() -> xcpd.MatchedPatient:
    return xcpd.MatchedPatient(
        ids=(II(root=oids.LU_PATIENT_ID.value, extension="1980010112345"),),
        names=(xcpd.PersonName(family=("Muller",), given=("Anne", "Marie")),),
        gender="F", birth_time="19800101",
        addresses=(xcpd.Address(street_address_lines=("1 rue de la Gare",), city="Luxembourg",
                                postal_code="L-1611", country="LU"),),
        custodian_id=OUR_HCID)


def validate_request(el: etree._Element) -> None:
    schemas.validate_body(el, registry.ITI_55, "request")


def validate_response(el: etree._Element) -> None:
    schemas.validate_body(el, registry.ITI_55, "response")


# --- samples -----------------------------------------------------------------------------------

def test_sample_request_parses_with_its_values(request_el: etree._Element) -> None:
    req = xcpd.parse_request(request_el)
    assert req.message_id == II(root="1.2.840.114350.1.13.0.1.7.1.1", extension="35423")
    assert req.creation_time == "20090417150301"
    assert req.sender.id == II(root="1.2.840.114350.1.13.999.567")
    assert req.sender.home_community_id == "1.2.3.928.955"
    assert req.receiver.id == II(root="1.2.840.114350.1.13.999.234")
    assert req.query.query_id == II(root="1.2.840.114350.1.13.28.1.18.5.999", extension="18204")
    assert req.query.patient_ids == (
        II(root="1.2.840.114350.1.13.99997.2.3412", extension="1234"),
        II(root="2.16.840.1.113883.4.1", extension="58910"))
    assert req.query.names == (xcpd.PersonName(family=("Jones",), given=("Jimmy",)),)
    assert (req.query.birth_time, req.query.gender) == ("19630805", "M")
    assert req.processing_code == "T"
    assert req.query.ids_with_root("2.16.840.1.113883.4.1") == (
        II(root="2.16.840.1.113883.4.1", extension="58910"),)
    assert req.query.ids_with_root(oids.LU_PATIENT_ID.value) == ()
    assert req.query.has_demographics


def test_sample_response_parses_with_its_values(response_el: etree._Element) -> None:
    resp = xcpd.parse_response(response_el)
    assert resp.query_response_code is QueryResponseCode.OK
    assert resp.acknowledgement_type is AcknowledgementType.AA
    assert resp.target_message_id == II(root="1.2.840.114350.1.13.0.1.7.1.1", extension="35423")
    assert [p.ids[0].extension for p in resp.patients] == ["34827K410", "34827R534"]
    first = resp.patients[0]
    assert first.names == (xcpd.PersonName(family=("Jones",), given=("James",)),)
    assert (first.gender, first.birth_time) == ("M", "19630804")
    assert first.addresses[0].street_address_lines == ("3443 North Arctic Avenue",)
    assert (first.addresses[0].city, first.addresses[0].state) == ("Some City", "IL")
    assert first.custodian_id == "1.2.840.114350.1.13.99998.8734"
    assert resp.query.birth_time == "19630804"


def test_samples_validate_and_rebuild_identically(request_el, response_el) -> None:
    validate_request(request_el)
    validate_response(response_el)
    req = xcpd.parse_request(request_el)
    rebuilt = xcpd.build_request(req)
    validate_request(rebuilt)
    assert xcpd.parse_request(rebuilt) == req
    resp = xcpd.parse_response(response_el)
    rebuilt = xcpd.build_response(resp)
    validate_response(rebuilt)
    assert xcpd.parse_response(rebuilt) == resp


# --- building ----------------------------------------------------------------------------------

def test_lu_request_builds_valid_and_round_trips() -> None:
    req = lu_request()
    el = xcpd.build_request(req)
    validate_request(el)
    assert el.xpath("h:interactionId/@extension", namespaces=HL7) == ["PRPA_IN201305UV02"]
    assert el.xpath("//h:livingSubjectId/h:value/@root", namespaces=HL7) == ["1.3.182.4.4"]
    assert xcpd.parse_request(el) == req


def test_ok_answer_carries_the_patient_and_says_ok() -> None:
    req = lu_request()
    resp = xcpd.PatientDiscoveryResponse.answer(
        req, code=QueryResponseCode.OK, sender_device=OUR_DEVICE, home_community_id=OUR_HCID,
        patients=(matched(),))
    el = xcpd.build_response(resp)
    validate_response(el)
    assert el.xpath("h:acknowledgement/h:typeCode/@code", namespaces=HL7) == ["AA"]
    assert el.xpath("//h:queryAck/h:queryResponseCode/@code", namespaces=HL7) == ["OK"]
    assert el.xpath("h:acknowledgement/h:targetMessage/h:id/@extension",
                    namespaces=HL7) == ["4711"]
    patient = "//h:registrationEvent/h:subject1/h:patient"
    assert el.xpath(f"{patient}/h:id/@extension", namespaces=HL7) == ["1980010112345"]
    assert el.xpath(f"{patient}/h:patientPerson/h:name/h:given/text()",
                    namespaces=HL7) == ["Anne", "Marie"]
    assert el.xpath(f"{patient}/h:patientPerson/h:addr/h:city/text()",
                    namespaces=HL7) == ["Luxembourg"]
    assert el.xpath("//h:custodian/h:assignedEntity/h:id/@root", namespaces=HL7) == [OUR_HCID]
    assert not el.xpath("//h:reasonOf", namespaces=HL7)
    back = xcpd.parse_response(el)
    assert back == resp
    assert back.receiver == req.sender


def test_nf_answer_has_no_subject() -> None:
    resp = xcpd.PatientDiscoveryResponse.answer(
        lu_request(), code=QueryResponseCode.NF, sender_device=OUR_DEVICE,
        home_community_id=OUR_HCID)
    el = xcpd.build_response(resp)
    validate_response(el)
    assert el.xpath("//h:queryResponseCode/@code", namespaces=HL7) == ["NF"]
    assert el.xpath("h:acknowledgement/h:typeCode/@code", namespaces=HL7) == ["AA"]
    assert not el.xpath("//h:subject", namespaces=HL7)
    assert xcpd.parse_response(el) == resp


@pytest.mark.parametrize(("issue", "path"), [
    (XcpdIssue.DEMOGRAPHICS_QUERY_NOT_ALLOWED, "h:triggerFor/h:actOrderRequired/h:code"),
    (XcpdIssue.INSUFFICIENT_RIGHTS, "h:mitigatedBy/h:detectedIssueManagement/h:code"),
    (XcpdIssue.ANSWER_NOT_AVAILABLE, "h:mitigatedBy/h:detectedIssueManagement/h:code"),
])
def test_ae_answer_carries_the_detected_issue(issue: XcpdIssue, path: str) -> None:
    resp = xcpd.PatientDiscoveryResponse.answer(
        lu_request(), code=QueryResponseCode.AE, sender_device=OUR_DEVICE,
        home_community_id=OUR_HCID, issues=(xcpd.DetectedIssue.of(issue),),
        details=(xcpd.AcknowledgementDetail(code="ERROR_PI_GENERIC",
                                            text="Patient identification error"),))
    el = xcpd.build_response(resp)
    validate_response(el)
    assert el.xpath("h:acknowledgement/h:typeCode/@code", namespaces=HL7) == ["AE"]
    assert el.xpath("//h:queryResponseCode/@code", namespaces=HL7) == ["AE"]
    event = el.xpath("h:controlActProcess/h:reasonOf/h:detectedIssueEvent", namespaces=HL7)[0]
    assert event.xpath("h:code/@code", namespaces=HL7) == ["ActAdministrativeDetectedIssueCode"]
    code = event.xpath(path, namespaces=HL7)[0]
    assert code.get("code") == issue.value
    assert code.get("codeSystem") == issue.code_system
    assert el.xpath("//h:acknowledgementDetail/h:code/@code",
                    namespaces=HL7) == ["ERROR_PI_GENERIC"]
    assert xcpd.parse_response(el) == resp


def test_issue_code_systems_follow_ihe_and_ehdsi() -> None:
    assert XcpdIssue.ANSWER_NOT_AVAILABLE.code_system == "1.3.6.1.4.1.19376.1.2.27.3"
    assert XcpdIssue.INSUFFICIENT_RIGHTS.code_system == "1.3.6.1.4.1.12559.11.10.1.3.2.2.1"


@pytest.mark.parametrize(("code", "patients", "issues"), [
    (QueryResponseCode.OK, (), ()),                    # OK without a patient
    (QueryResponseCode.NF, ("p",), ()),                # NF with a patient
    (QueryResponseCode.AE, (), ()),                    # AE without a reason
    (QueryResponseCode.AE, ("p",), ("i",)),            # AE with a patient
])
def test_inconsistent_answers_are_refused(code, patients, issues) -> None:
    resp = xcpd.PatientDiscoveryResponse.answer(
        lu_request(), code=code, sender_device=OUR_DEVICE, home_community_id=OUR_HCID,
        patients=tuple(matched() for _ in patients),
        issues=tuple(xcpd.DetectedIssue.of(XcpdIssue.INTERNAL_ERROR) for _ in issues))
    with pytest.raises(InvalidValueError):
        xcpd.build_response(resp)


# --- refusing malformed requests ------------------------------------------------------------

def _mutate(el: etree._Element, xpath: str, action) -> etree._Element:
    for node in el.xpath(xpath, namespaces=HL7):
        action(node)
    return el


def _remove(node: etree._Element) -> None:
    node.getparent().remove(node)


@pytest.mark.parametrize(("xpath", "action", "error"), [
    ("//h:queryByParameter", _remove, MissingElementError),
    ("//h:livingSubjectId[1]/h:value", lambda n: n.set("root", "not an oid"), InvalidValueError),
    ("//h:livingSubjectId[1]/h:value", lambda n: n.set("root", "1.2.x"), InvalidValueError),
    ("h:id", lambda n: n.set("root", "4ad4e0af-59bc-4233-aa50"), InvalidValueError),
    ("h:id", lambda n: n.set("root", "urn:uuid:4ad4e0af-59bc-4233-aa50-27ff21883104"),
     InvalidValueError),
    ("h:id", lambda n: n.set("root", "9abc"), InvalidValueError),
    ("//h:livingSubjectAdministrativeGender/h:value", lambda n: n.set("code", "X"),
     InvalidValueError),
    ("//h:livingSubjectBirthTime/h:value", lambda n: n.set("value", "1963-08-05"),
     InvalidValueError),
    ("//h:livingSubjectBirthTime", lambda n: n.addnext(etree.fromstring(etree.tostring(n))),
     InvalidValueError),
    ("h:interactionId", lambda n: n.set("extension", "PRPA_IN201306UV02"), InvalidValueError),
    (".", lambda n: n.attrib.pop("ITSVersion"), InvalidValueError),
    ("h:id", _remove, MissingElementError),
    ("h:sender", _remove, MissingElementError),
    ("//h:livingSubjectName/h:value/*", _remove, InvalidValueError),
])
def test_malformed_requests_raise_typed_errors(request_el, xpath, action, error) -> None:
    with pytest.raises(error) as info:
        xcpd.parse_request(_mutate(request_el, xpath, action))
    assert isinstance(info.value, MessageError)
    assert info.value.error is ErrorCode.MALFORMED_REQUEST
    assert info.value.location.startswith("/PRPA_IN201305UV02")


def test_a_response_is_not_a_request(response_el) -> None:
    with pytest.raises(UnexpectedMessageError):
        xcpd.parse_request(response_el)


def test_response_with_unknown_query_response_code_is_refused(response_el) -> None:
    _mutate(response_el, "//h:queryAck/h:queryResponseCode", lambda n: n.set("code", "YES"))
    with pytest.raises(InvalidValueError):
        xcpd.parse_response(response_el)


def test_response_claiming_ok_without_patient_is_refused(response_el) -> None:
    _mutate(response_el, "h:controlActProcess/h:subject", _remove)
    with pytest.raises(InvalidValueError):
        xcpd.parse_response(response_el)


# --- HL7 V3 uid: II/@root is OID | UUID | RUID (datatypes-base.xsd) ---------------------------

@pytest.mark.parametrize("root", [
    "4ad4e0af-59bc-4233-aa50-27ff21883104",   # UUID (reference gateway, German, Danish peers)
    "4AD4E0AF-59BC-4233-AA50-27FF21883104",   # the XSD pattern allows either case
    "OpenNCP-message",                          # RUID
    "2",                                        # a one-arc OID is an XSD oid
])
def test_uuid_ruid_and_oid_roots_are_read_everywhere(request_el, response_el, root) -> None:
    for node in request_el.xpath("h:id|//h:queryId|//h:device/h:id", namespaces=HL7):
        node.set("root", root)
    req = xcpd.parse_request(request_el)
    assert req.message_id.root == root and req.query.query_id.root == root
    assert req.sender.id.root == root
    for node in response_el.xpath("h:id|//h:targetMessage/h:id|//h:device/h:id",
                                  namespaces=HL7):
        node.set("root", root)
    res = xcpd.parse_response(response_el)   # our client reads peers' answers the same way
    assert res.message_id.root == root and res.target_message_id.root == root


def test_a_root_only_living_subject_id_is_a_whole_identifier(request_el) -> None:
    node = request_el.xpath("//h:livingSubjectId[1]/h:value", namespaces=HL7)[0]
    del node.attrib["extension"]
    req = xcpd.parse_request(request_el)
    assert II(root=node.get("root")) in req.query.patient_ids
