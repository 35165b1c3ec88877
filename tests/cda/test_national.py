"""The national profile: generated documents are CDA (XSD-valid) with national codes."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from ncp.cda.catalogue import catalogue_codes, national_code
from ncp.cda.demo import DemoPatient, demo_prescriptions, national_documents
from ncp.cda.kinds import DocumentKind, detect_kind
from ncp.cda.national import NATIONAL_TEMPLATES, build_prescription
from ncp.validation.validator import xsd_errors
from ncp.xmlutil import NS

PATIENT = DemoPatient("1962051512345", "Paul", "Hoffmann", dt.date(1962, 5, 15), "M",
                      "Mersch")


def test_national_documents_are_xsd_valid_and_national(specs_dir):
    docs = national_documents(PATIENT)
    assert docs[0].doc_type == "patient-summary"
    assert all(d.media_type == "text/xml" for d in docs)
    for doc in docs:
        root = etree.fromstring(doc.content)
        assert xsd_errors(root, specs=specs_dir) == []
        # Not an eHDSI document: the national template id, French, national codes.
        assert detect_kind(root) is None
        roots = root.xpath("hl7:templateId/@root", namespaces=NS)
        assert set(roots) & set(NATIONAL_TEMPLATES.values())
        assert root.find("hl7:languageCode", NS).get("code") == "fr-LU"
        gender = root.find(".//hl7:administrativeGenderCode", NS)
        assert (gender.get("code"), gender.get("displayName")) == ("H", "Homme")
        patient_id = root.find("hl7:recordTarget/hl7:patientRole/hl7:id", NS)
        assert (patient_id.get("root"), patient_id.get("extension")) == ("1.3.182.4.4",
                                                                         PATIENT.matricule)


def test_prescriptions_hold_one_item_each():
    for prescription in demo_prescriptions(PATIENT):
        assert len(prescription.items) == 1
        root = etree.fromstring(build_prescription(prescription))
        assert len(root.xpath("//hl7:substanceAdministration", namespaces=NS)) == 1
        assert root.find("hl7:id", NS).get("root") == "1.3.182.11.5"


def test_a_prescription_of_two_items_is_refused():
    prescription = demo_prescriptions(PATIENT)[0]
    prescription.items.append(prescription.items[0])
    with pytest.raises(ValueError):
        build_prescription(prescription)


def test_catalogue_reads_the_mapping_files():
    route = national_code("LU-VOIE", "SC")
    assert (route.code, route.display, route.system_name) == ("SC", "Voie sous-cutanée",
                                                              "LU-VOIE")
    assert "ORAL" in catalogue_codes("LU-VOIE")
    with pytest.raises(KeyError):
        national_code("LU-VOIE", "NOPE")


def test_kind_detection():
    assert DocumentKind.from_slug("ep") is DocumentKind.EPRESCRIPTION
    with pytest.raises(ValueError):
        DocumentKind.from_slug("xx")
