"""The typed failures: no mapping, unknown code system, outside the value set, wrong document."""

from __future__ import annotations

import pytest
from lxml import etree

from ncp.cda.demo import national_documents
from ncp.cda.kinds import DocumentKind
from ncp.errors import ErrorCode, NcpError
from ncp.transform import TranscodingError, to_national, to_pivot
from ncp.xmlutil import NS

GENDER_PATH = ("/hl7:ClinicalDocument[1]/hl7:recordTarget[1]/hl7:patientRole[1]/hl7:patient[1]"
               "/hl7:administrativeGenderCode[1]")


@pytest.fixture
def summary(demo_patients):
    return national_documents(demo_patients[0])[0].content


@pytest.fixture
def prescription(demo_patients):
    return national_documents(demo_patients[0])[1].content


def _edit(document: bytes, xpath: str, **attrs: str) -> bytes:
    root = etree.fromstring(document)
    nodes = root.xpath(xpath, namespaces=NS)
    assert nodes, xpath
    for key, value in attrs.items():
        nodes[0].set(key, value)
    return etree.tostring(root)


def test_required_code_without_mapping_fails_with_ps_mapping_code_and_xpath(summary, terminology):
    broken = _edit(summary, "//hl7:administrativeGenderCode", code="X")
    with pytest.raises(TranscodingError) as caught:
        to_pivot(broken, kind=DocumentKind.PATIENT_SUMMARY, terminology=terminology)
    error = caught.value
    assert isinstance(error, NcpError)
    assert error.error is ErrorCode.PS_MISSING_EXPECTED_MAPPING
    assert error.error.code == "ERROR_PS_MISSING_EXPECTED_MAPPING"
    assert error.error.wire == "ERROR_PS_MISSING_EXPECTED_MAPPING"
    assert error.location == GENDER_PATH
    assert error.reason == "no-mapping"


def test_eprescription_failure_is_4504(prescription, terminology):
    broken = _edit(prescription, "//hl7:manufacturedMaterial/pharm:formCode", code="NOPE")
    with pytest.raises(TranscodingError) as caught:
        to_pivot(broken, kind=DocumentKind.EPRESCRIPTION, terminology=terminology)
    assert caught.value.error is ErrorCode.EP_MISSING_EXPECTED_MAPPING
    assert caught.value.location.endswith("hl7:manufacturedMaterial[1]/pharm:formCode[1]")


def test_unknown_code_system(summary, terminology):
    broken = _edit(summary, "//hl7:administrativeGenderCode", codeSystem="9.8.7.6")
    with pytest.raises(TranscodingError) as caught:
        to_pivot(broken, kind=DocumentKind.PATIENT_SUMMARY, terminology=terminology)
    assert caught.value.reason == "unknown-code-system"
    assert "9.8.7.6" in caught.value.detail


def test_code_outside_its_value_set(prescription, terminology):
    # An EDQM code, but a route of administration where a dose form is required.
    broken = _edit(prescription, "//hl7:manufacturedMaterial/pharm:formCode",
                   code="20053000", codeSystem="0.4.0.127.0.16.1.1.2.1")
    with pytest.raises(TranscodingError) as caught:
        to_pivot(broken, kind=DocumentKind.EPRESCRIPTION, terminology=terminology)
    assert caught.value.reason == "outside-value-set"
    assert "1.3.6.1.4.1.12559.11.10.1.3.1.42.2" in caught.value.detail


def test_required_null_flavor_rules(summary, terminology):
    # RNFA: a null flavour is acceptable for the gender...
    root = etree.fromstring(summary)
    gender = root.find(".//hl7:administrativeGenderCode", NS)
    for key in ("code", "codeSystem", "codeSystemName", "displayName"):
        gender.attrib.pop(key)
    gender.set("nullFlavor", "UNK")
    result = to_pivot(etree.tostring(root), kind=DocumentKind.PATIENT_SUMMARY,
                      terminology=terminology)
    assert b'nullFlavor="UNK"' in result.document
    # ...but an element with neither code nor null flavour is not.
    del gender.attrib["nullFlavor"]
    with pytest.raises(TranscodingError) as caught:
        to_pivot(etree.tostring(root), kind=DocumentKind.PATIENT_SUMMARY,
                 terminology=terminology)
    assert caught.value.reason == "missing-code"


def test_optional_unmappable_element_keeps_its_code_and_warns(prescription, terminology):
    # The route is optional (O) in an ePrescription.
    broken = _edit(prescription, "//hl7:routeCode", code="AUTRE", displayName="Autre voie")
    result = to_pivot(broken, kind=DocumentKind.EPRESCRIPTION, terminology=terminology)
    (warning,) = result.warnings
    assert warning.code == "AUTRE" and warning.reason == "no-mapping"
    assert warning.location.endswith("hl7:substanceAdministration[1]/hl7:routeCode[1]")
    route = etree.fromstring(result.document).find(".//hl7:routeCode", NS)
    assert route.get("code") == "AUTRE" and route.find("hl7:translation", NS) is None


def test_wrong_document_type(summary, prescription, terminology):
    with pytest.raises(TranscodingError) as caught:
        to_pivot(summary, kind=DocumentKind.EPRESCRIPTION, terminology=terminology)
    assert caught.value.reason == "wrong-document"
    assert caught.value.error is ErrorCode.TRANSCODING_ERROR
    pivot = to_pivot(prescription, kind=DocumentKind.EPRESCRIPTION,
                     terminology=terminology).document
    with pytest.raises(TranscodingError, match="eHDSI ePrescription"):
        to_pivot(pivot, kind=DocumentKind.EPRESCRIPTION, terminology=terminology)
    with pytest.raises(TranscodingError, match="eDispensation"):
        to_national(pivot, terminology=terminology)
    with pytest.raises(TranscodingError):
        to_pivot(b"<not-cda/>", kind=DocumentKind.PATIENT_SUMMARY, terminology=terminology)
    with pytest.raises(TranscodingError):
        to_pivot(b"<!DOCTYPE x><x/>", kind=DocumentKind.PATIENT_SUMMARY,
                 terminology=terminology)


def test_usage_decides_between_warning_and_failure(summary, terminology):
    # In a Patient Summary the dose form is optional (O): a warning...
    result = to_pivot(_edit(summary, "//hl7:manufacturedMaterial/pharm:formCode", code="ZZZ"),
                      kind=DocumentKind.PATIENT_SUMMARY, terminology=terminology)
    assert [w.code for w in result.warnings] == ["ZZZ"]
    # ...while the active ingredient is required (RNFA): the whole document fails.
    broken = _edit(summary, "//pharm:generalizedMaterialKind/pharm:code", code="S9999")
    with pytest.raises(TranscodingError) as caught:
        to_pivot(broken, kind=DocumentKind.PATIENT_SUMMARY, terminology=terminology)
    assert "generalizedMaterialKind" in caught.value.location


def test_received_dispensation_with_unmappable_required_code_fails_ed_mapping(specs_dir,
                                                                       terminology):
    sample = (specs_dir / "samples/cda/ed/DK-received_dispensation1.xml").read_bytes()
    with pytest.raises(TranscodingError) as caught:
        to_national(sample, terminology=terminology)
    assert caught.value.error is ErrorCode.ED_MISSING_EXPECTED_MAPPING
    assert caught.value.error.code == "ERROR_ED_MISSING_EXPECTED_MAPPING"
    assert "formCode" in caught.value.location


def test_kind_may_be_named_like_the_record_store(summary, terminology):
    result = to_pivot(summary, kind="patient-summary", terminology=terminology)
    assert result.kind is DocumentKind.PATIENT_SUMMARY
    assert to_pivot(summary, kind="ps", terminology=terminology).kind is result.kind
    with pytest.raises(ValueError):
        to_pivot(summary, kind="letter", terminology=terminology)


def test_default_terminology_is_the_configured_database(summary, terminology_engine,
                                                        monkeypatch):
    from ncp.settings import get_settings
    from ncp.terminology import service

    monkeypatch.setenv("NCP_DATABASE_URL", str(terminology_engine.url))
    monkeypatch.setattr(service, "_default", None)
    get_settings.cache_clear()
    try:
        result = to_pivot(summary, kind=DocumentKind.PATIENT_SUMMARY)
    finally:
        get_settings.cache_clear()
        monkeypatch.setattr(service, "_default", None)
    assert result.transcoded > 5
