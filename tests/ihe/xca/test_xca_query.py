"""XCA query: FindDocuments validated strictly; responses with PS, eP (with its eHDSI metadata),
PDF renditions linked by XFRM, ObjectRefs and error lists validate and round trip."""

from __future__ import annotations

import pytest
from lxml import etree

from ncp.errors import ErrorCode, NcpError, Severity
from ncp.ihe import oids, registry, schemas
from ncp.ihe.codes import (
    ClassCode,
    FormatCode,
    ResponseStatus,
    ReturnType,
    StatusType,
)
from ncp.ihe.errors import (
    InvalidValueError,
    MissingElementError,
    PatientIdError,
    StoredQueryError,
    UnexpectedMessageError,
)
from ncp.ihe.rim import Coded, RegistryError, xfrm_association
from ncp.ihe.xca import query
from ncp.xmlutil import NS

SAMPLE = "DK-template_xca_query_soap_request-ps.xml"
N = {"q": NS["query"], "rim": NS["rim"], "rs": NS["rs"]}


def validate_request(el: etree._Element) -> None:
    schemas.validate_body(el, registry.ITI_38, "request")


def validate_response(el: etree._Element) -> None:
    schemas.validate_body(el, registry.ITI_38, "response")


# --- request -----------------------------------------------------------------------------------

def test_sample_query_parses_with_its_values(dk_body) -> None:
    el = dk_body(SAMPLE)
    validate_request(el)
    q = query.parse_request(el)
    assert q.patient_id.extension == "0410009234"
    assert q.patient_id.root == "1.2.208.176.1.2"
    assert q.statuses == (StatusType.APPROVED,)
    assert q.class_codes == (Coded(code="60591-5", scheme=oids.LOINC.value),)
    assert q.return_type is ReturnType.LEAF_CLASS
    assert q.return_composed_objects is True


def test_query_builds_valid_and_round_trips(lu_patient) -> None:
    q = query.FindDocumentsQuery(
        patient_id=lu_patient, statuses=(StatusType.APPROVED, StatusType.DEPRECATED),
        class_codes=(Coded(code=ClassCode.ORCD_LABORATORY_RESULTS, scheme=oids.LOINC.value),
                     Coded(code=ClassCode.ORCD_IMAGING_REPORT, scheme=oids.LOINC.value)),
        format_codes=(Coded(code=FormatCode.ORCD_PDF, scheme="eHDSI formatCodes"),),
        creation_time_from="20240101", author_persons=("O'Brien",),
        return_type=ReturnType.OBJECT_REF, return_composed_objects=False,
        home_community_id="urn:oid:1.3.182.2.4.1", request_id="urn:uuid:1")
    el = query.build_request(q)
    validate_request(el)
    assert el.xpath("rim:AdhocQuery/@id", namespaces=N) == [oids.FIND_DOCUMENTS_QUERY.value]
    values = el.xpath("//rim:Slot[@name='$XDSDocumentEntryPatientId']//rim:Value/text()",
                      namespaces=N)
    assert values == ["'1980010112345^^^&1.3.182.4.4&ISO'"]
    assert el.xpath("//rim:Slot[@name='$XDSDocumentEntryAuthorPerson']//rim:Value/text()",
                    namespaces=N) == ["('O''Brien')"]
    assert query.parse_request(el) == q


def test_values_split_across_value_elements_are_joined(dk_body) -> None:
    el = dk_body(SAMPLE)
    value_list = el.xpath("//rim:Slot[@name='$XDSDocumentEntryClassCode']/rim:ValueList",
                          namespaces=N)[0]
    etree.SubElement(value_list, f"{{{NS['rim']}}}Value").text = (
        "('57833-6^^2.16.840.1.113883.6.1')")
    q = query.parse_request(el)
    assert [c.code for c in q.class_codes] == ["60591-5", "57833-6"]


LOINC = "2.16.840.1.113883.6.1"


@pytest.mark.parametrize("value", [
    f"('11502-2^^{LOINC}','18748-4^^{LOINC}','34105-7^^{LOINC}')",    # ebRS list
    f"( '11502-2^^{LOINC}' , '18748-4^^{LOINC}','34105-7^^{LOINC}' )",  # blanks between items
    f"('11502-2^^{LOINC},18748-4^^{LOINC},34105-7^^{LOINC}')",       # the reference gateway
    f"('11502-2^^{LOINC}, 18748-4^^{LOINC}','34105-7^^{LOINC}')",    # both at once
])
def test_every_value_list_form_peers_send_is_read(dk_body, value: str) -> None:
    el = dk_body(SAMPLE)
    _set_value(el, "$XDSDocumentEntryClassCode", value)
    q = query.parse_request(el)
    assert q.class_codes == tuple(Coded(code=c, scheme=LOINC)
                                  for c in ("11502-2", "18748-4", "34105-7"))


def test_one_code_per_value_element_is_read_too(dk_body) -> None:
    el = dk_body(SAMPLE)
    _set_value(el, "$XDSDocumentEntryClassCode", f"'11502-2^^{LOINC}'")
    vl = _slot(el, "$XDSDocumentEntryClassCode").xpath("rim:ValueList", namespaces=N)[0]
    etree.SubElement(vl, f"{{{NS['rim']}}}Value").text = f"'18748-4^^{LOINC}'"
    assert [c.code for c in query.parse_request(el).class_codes] == ["11502-2", "18748-4"]


def _slot(el: etree._Element, name: str) -> etree._Element:
    return el.xpath(f"//rim:Slot[@name='{name}']", namespaces=N)[0]


def _set_value(el: etree._Element, name: str, value: str) -> None:
    _slot(el, name).xpath("rim:ValueList/rim:Value", namespaces=N)[0].text = value


def test_wrong_query_id_is_refused(dk_body) -> None:
    el = dk_body(SAMPLE)
    el.xpath("rim:AdhocQuery", namespaces=N)[0].set(
        "id", "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4")  # GetDocuments
    with pytest.raises(StoredQueryError) as info:
        query.parse_request(el)
    assert info.value.error is ErrorCode.STORED_QUERY_UNKNOWN


@pytest.mark.parametrize("value", [
    "'0410009234^^^&1.2.208.176.1.2'",         # no ISO
    "0410009234^^^&1.2.208.176.1.2&ISO",       # not quoted
    "'0410009234^^^&danish-cpr&ISO'",           # root not an OID
    "'^^^&1.2.208.176.1.2&ISO'",                # empty id
])
def test_bad_patient_id_format_is_refused(dk_body, value: str) -> None:
    el = dk_body(SAMPLE)
    _set_value(el, "$XDSDocumentEntryPatientId", value)
    with pytest.raises(PatientIdError) as info:
        query.parse_request(el)
    assert info.value.error is ErrorCode.PATIENT_ID_INVALID


@pytest.mark.parametrize("name", ["$XDSDocumentEntryPatientId", "$XDSDocumentEntryStatus",
                                  "$XDSDocumentEntryClassCode"])
def test_missing_required_slot_is_refused(dk_body, name: str) -> None:
    el = dk_body(SAMPLE)
    slot = _slot(el, name)
    slot.getparent().remove(slot)
    with pytest.raises(StoredQueryError) as info:
        query.parse_request(el)
    assert info.value.error is ErrorCode.STORED_QUERY_PARAM_MISSING


def test_repeated_and_unknown_slots_are_refused(dk_body) -> None:
    el = dk_body(SAMPLE)
    slot = _slot(el, "$XDSDocumentEntryClassCode")
    slot.addnext(etree.fromstring(etree.tostring(slot)))
    with pytest.raises(StoredQueryError) as info:
        query.parse_request(el)
    assert info.value.error is ErrorCode.STORED_QUERY_PARAM_NUMBER
    el = dk_body(SAMPLE)
    _slot(el, "$XDSDocumentEntryClassCode").set("name", "$XDSFolderPatientId")
    with pytest.raises(StoredQueryError) as info:
        query.parse_request(el)
    assert info.value.error is ErrorCode.STORED_QUERY_PARAM_NUMBER


def test_two_patient_values_are_refused(dk_body) -> None:
    el = dk_body(SAMPLE)
    vl = _slot(el, "$XDSDocumentEntryPatientId").xpath("rim:ValueList", namespaces=N)[0]
    vl.append(etree.fromstring(etree.tostring(vl[0])))
    with pytest.raises(StoredQueryError):
        query.parse_request(el)


@pytest.mark.parametrize(("name", "value"), [
    ("$XDSDocumentEntryStatus", "('urn:oasis:names:tc:ebxml-regrep:StatusType:Whatever')"),
    ("$XDSDocumentEntryStatus", "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved'"),
    ("$XDSDocumentEntryClassCode", "('60591-5^2.16.840.1.113883.6.1')"),
    ("$XDSDocumentEntryClassCode", "('60591-5^^2.16.840.1.113883.6.1' '1^^2')"),
    ("$XDSDocumentEntryClassCode", "(60591-5^^2.16.840.1.113883.6.1)"),
    ("$XDSDocumentEntryClassCode", "('60591-5^^2.16.840.1.113883.6.1,')"),
    ("$XDSDocumentEntryClassCode", "('60591-5^^2.16.840.1.113883.6.1,,18748-4^^1.2')"),
    ("$XDSDocumentEntryClassCode", "('60591-5^^2.16.840.1.113883.6.1',)"),
    ("$XDSDocumentEntryClassCode", "('')"),
    ("$XDSDocumentEntryClassCode", "()"),
])
def test_malformed_values_are_refused(dk_body, name: str, value: str) -> None:
    el = dk_body(SAMPLE)
    _set_value(el, name, value)
    with pytest.raises(InvalidValueError):
        query.parse_request(el)


@pytest.mark.parametrize("return_type", ["RegistryObject", "LeafClassWithRepositoryItem"])
def test_return_type_other_than_leafclass_or_objectref_is_refused(dk_body, return_type) -> None:
    el = dk_body(SAMPLE)
    el.xpath("q:ResponseOption", namespaces=N)[0].set("returnType", return_type)
    with pytest.raises(InvalidValueError):
        query.parse_request(el)


def test_empty_slot_and_missing_adhoc_query_are_refused(dk_body) -> None:
    el = dk_body(SAMPLE)
    _set_value(el, "$XDSDocumentEntryStatus", "  ")
    with pytest.raises(StoredQueryError):
        query.parse_request(el)
    el = dk_body(SAMPLE)
    aq = el.xpath("rim:AdhocQuery", namespaces=N)[0]
    el.remove(aq)
    with pytest.raises(MissingElementError):
        query.parse_request(el)


def test_other_body_is_not_a_query(dk_body) -> None:
    with pytest.raises(UnexpectedMessageError):
        query.parse_request(dk_body("DK-template_xca_retrieve_soap_request-ps.xml"))


# --- response ----------------------------------------------------------------------------------

def test_response_with_ps_ep_and_pdf_renditions(make_entry, ep_entry) -> None:
    ps = make_entry()
    pdf = make_entry(fmt=FormatCode.PDF, mime="application/pdf")
    xfrm = xfrm_association(rendition=pdf, original=ps)
    assert (xfrm.source, xfrm.target) == (pdf.entry_uuid, ps.entry_uuid)
    resp = query.QueryResponse.of(entries=(ps, pdf, ep_entry), associations=(xfrm,))
    assert resp.status is ResponseStatus.SUCCESS
    el = query.build_response(resp)
    validate_response(el)
    eos = el.xpath("rim:RegistryObjectList/rim:ExtrinsicObject", namespaces=N)
    assert len(eos) == 3
    first = eos[0]
    slots = {s.get("name"): s.xpath("rim:ValueList/rim:Value/text()", namespaces=N)
             for s in first.xpath("rim:Slot", namespaces=N)}
    assert slots["sourcePatientId"] == ["1980010112345^^^&1.3.182.4.4&ISO"]
    assert slots["size"] == ["4096"]
    assert slots["hash"] == ["da39a3ee5e6b4b0d3255bfef95601890afd80709"]
    assert slots["creationTime"] == ["20250301101500"]
    assert slots["repositoryUniqueId"] == ["1.3.182.2.4.1.7"]
    assert slots["languageCode"] == ["fr-LU"]
    schemes = {c.get("classificationScheme") for c in first.xpath("rim:Classification",
                                                                 namespaces=N)}
    assert {oids.DE_CLASS_CODE.value, oids.DE_TYPE_CODE.value, oids.DE_FORMAT_CODE.value,
            oids.DE_CONFIDENTIALITY_CODE.value, oids.DE_HEALTHCARE_FACILITY_TYPE_CODE.value,
            oids.DE_PRACTICE_SETTING_CODE.value, oids.DE_AUTHOR.value} <= schemes
    ext = {e.get("identificationScheme"): e.get("value")
           for e in first.xpath("rim:ExternalIdentifier", namespaces=N)}
    assert ext[oids.DE_PATIENT_ID.value] == "1980010112345^^^&1.3.182.4.4&ISO"
    assert ext[oids.DE_UNIQUE_ID.value] == ps.unique_id
    assert first.get("home") == "urn:oid:1.3.182.2.4.1"
    # the eP metadata travels as eventCodeList classifications, told apart by coding scheme
    events = eos[2].xpath(
        f"rim:Classification[@classificationScheme='{oids.DE_EVENT_CODE_LIST.value}']",
        namespaces=N)
    by_scheme = {c.xpath("rim:Slot[@name='codingScheme']//rim:Value/text()",
                         namespaces=N)[0]: c.get("nodeRepresentation") for c in events}
    assert by_scheme == {oids.ATC.value: "C09AA05", oids.EDQM.value: "10219000",
                         "eHDSI_Strength_CodeSystem": "5 mg",
                         oids.HL7_SUBSTANCE_ADMIN_SUBSTITUTION.value: "G",
                         oids.IHE_XDW_EVENT_CODE.value: "urn:ihe:iti:xdw:2011:eventCode:open"}
    assoc = el.xpath("rim:RegistryObjectList/rim:Association", namespaces=N)[0]
    assert assoc.get("associationType") == "urn:ihe:iti:2007:AssociationType:XFRM"
    assert assoc.get("sourceObject") == pdf.entry_uuid  # L1 rendition -> L3 original
    back = query.parse_response(el)
    assert back == resp
    assert back.entries[2].eprescription == ep_entry.eprescription


def test_response_with_warning_is_success_and_with_error_partial(make_entry) -> None:
    warning_error = NcpError(ErrorCode.PS_NOT_FOUND, "none stored")
    warning = RegistryError.from_error(warning_error)
    assert warning.severity is Severity.WARNING and warning.error_code == "1102"
    resp = query.QueryResponse.of(errors=(warning,))
    assert resp.status is ResponseStatus.SUCCESS
    el = query.build_response(resp)
    validate_response(el)
    assert el.xpath("rs:RegistryErrorList/@highestSeverity", namespaces=N) == [
        Severity.WARNING.value]
    (context,) = el.xpath("rs:RegistryErrorList/rs:RegistryError/@codeContext", namespaces=N)
    assert context == f"{ErrorCode.PS_NOT_FOUND.text} (error id {warning_error.error_id})"
    assert query.parse_response(el) == resp
    error = RegistryError.from_error(NcpError(ErrorCode.NO_CONSENT, "secret detail"))
    partial = query.QueryResponse.of(entries=(make_entry(),), errors=(error,))
    assert partial.status is ResponseStatus.PARTIAL_SUCCESS
    failure = query.QueryResponse.of(errors=(error,))
    assert failure.status is ResponseStatus.FAILURE
    el = query.build_response(failure)
    validate_response(el)
    assert b"secret detail" not in etree.tostring(el)
    assert query.parse_response(el) == failure


def test_object_ref_response(make_entry) -> None:
    resp = query.QueryResponse.of(object_refs=(
        query.ObjectRef(id="urn:uuid:8e0d7a6c-1d52-4bd6-a5a3-6a1c2f6f8e11",
                        home_community_id="urn:oid:1.3.182.2.4.1"),))
    el = query.build_response(resp)
    validate_response(el)
    assert query.parse_response(el) == resp


@pytest.mark.parametrize("broken", [
    lambda eo: eo.remove(eo.xpath(
        f"rim:ExternalIdentifier[@identificationScheme='{oids.DE_UNIQUE_ID.value}']",
        namespaces=N)[0]),
    lambda eo: eo.remove(eo.xpath(
        f"rim:Classification[@classificationScheme='{oids.DE_CLASS_CODE.value}']",
        namespaces=N)[0]),
    lambda eo: eo.xpath("rim:Slot[@name='hash']//rim:Value", namespaces=N)[0].__setattr__(
        "text", "not-a-sha1"),
    lambda eo: eo.xpath("rim:Slot[@name='size']//rim:Value", namespaces=N)[0].__setattr__(
        "text", "-1"),
    lambda eo: eo.xpath("rim:Slot[@name='creationTime']//rim:Value", namespaces=N)[0]
    .__setattr__("text", "2025-03-01"),
    lambda eo: eo.append(etree.fromstring(etree.tostring(
        eo.xpath("rim:Slot[@name='size']", namespaces=N)[0]))),
    lambda eo: eo.attrib.pop("mimeType"),
    lambda eo: eo.set("status", "urn:oasis:names:tc:ebxml-regrep:StatusType:Maybe"),
    lambda eo: eo.set("objectType", "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"),
    lambda eo: eo.xpath("rim:Classification", namespaces=N)[0].set("classifiedObject", "x"),
    lambda eo: eo.xpath("rim:ExternalIdentifier", namespaces=N)[0].set("registryObject", "x"),
])
def test_malformed_entries_in_a_response_are_refused(make_entry, broken) -> None:
    el = query.build_response(query.QueryResponse.of(entries=(make_entry(),)))
    broken(el.xpath("//rim:ExtrinsicObject", namespaces=N)[0])
    with pytest.raises((InvalidValueError, MissingElementError)):
        query.parse_response(el)


def test_results_without_home_community_are_refused(make_entry) -> None:
    import dataclasses

    entry = dataclasses.replace(make_entry(), home_community_id=None)
    with pytest.raises(InvalidValueError):
        query.build_response(query.QueryResponse.of(entries=(entry,)))
    with pytest.raises(InvalidValueError):
        query.build_response(query.QueryResponse.of(object_refs=(
            query.ObjectRef(id="urn:uuid:1"),)))
