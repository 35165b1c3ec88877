"""Fixtures of the IHE message tests: the published samples and entry factories."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from ncp.ihe import oids
from ncp.ihe.codes import ClassCode, FormatCode
from ncp.ihe.identifiers import PatientId
from ncp.ihe.rim import Author, Coded, DocumentEntry, EPrescriptionMetadata
from ncp.xmlutil import parse_xml, qname

LU_PATIENT = PatientId(extension="1980010112345", root=oids.LU_PATIENT_ID.value)
HOME = "urn:oid:1.3.182.2.4.1"


@pytest.fixture(scope="session")
def samples(specs_dir: Path) -> Path:
    return specs_dir / "samples"


def fill_dk_template(raw: bytes) -> bytes:
    """The Danish gateway's templates hold Jinja placeholders: a message id and assertions.
    The assertions are the security layer's business; here they are left out."""
    return (raw.replace(b"{{message-id}}", f"urn:uuid:{uuid.uuid4()}".encode())
            .replace(b"{{hcp-assertion|safe}}", b"").replace(b"{{trc-assertion|safe}}", b""))


@pytest.fixture(scope="session")
def dk_body(samples: Path) -> Callable[[str], etree._Element]:
    """The SOAP Body child of a Danish XCA sample envelope."""
    def load(name: str) -> etree._Element:
        env = parse_xml(fill_dk_template((samples / "xca" / name).read_bytes()))
        return env.find(qname("soap", "Body"))[0]
    return load


def document_entry(*, klass: ClassCode = ClassCode.PATIENT_SUMMARY,
                   fmt: FormatCode = FormatCode.PATIENT_SUMMARY, mime: str = "text/xml",
                   unique_id: str | None = None,
                   eprescription: EPrescriptionMetadata | None = None) -> DocumentEntry:
    """A complete XCA query-response entry, as the responding gateway would list it."""
    uid = unique_id or f"1.3.182.2.4.1.9.{uuid.uuid4().int % 10**12}"
    return DocumentEntry(
        entry_uuid=f"urn:uuid:{uuid.uuid4()}",
        unique_id=uid,
        patient_id=LU_PATIENT,
        mime_type=mime,
        class_code=Coded(code=klass.value, scheme=oids.LOINC.value, display="Patient Summary"),
        format_code=Coded(code=fmt.value, scheme="eHDSI formatCodes", display="eHDSI pivot"),
        confidentiality_codes=(Coded(code="N", scheme=oids.HL7_CONFIDENTIALITY.value,
                                     display="Normal"),),
        type_code=Coded(code=klass.value, scheme=oids.LOINC.value, display="Patient Summary"),
        healthcare_facility_type_code=Coded(code="LU", scheme=oids.ISO_3166_1.value,
                                            display="Luxembourg"),
        practice_setting_code=Coded(code="Not Used",
                                    scheme="eHDSI Practice Setting Codes-Not Used",
                                    display="Not Used"),
        authors=(Author(person="Dr Jean Muller",
                        institutions=("CHL^^^^^^^^^1.3.182.2.4.1.2",)),),
        home_community_id=HOME,
        logical_id=None,
        title="Patient Summary",
        description="PS of the patient",
        version_name="1.1",
        creation_time="20250301101500",
        language_code="fr-LU",
        source_patient_id=LU_PATIENT.cx,
        size=4096,
        hash="da39a3ee5e6b4b0d3255bfef95601890afd80709",
        repository_unique_id="1.3.182.2.4.1.7",
        eprescription=eprescription,
    )


def eprescription_entry() -> DocumentEntry:
    return document_entry(
        klass=ClassCode.EPRESCRIPTION, fmt=FormatCode.EPRESCRIPTION,
        eprescription=EPrescriptionMetadata(
            atc=Coded(code="C09AA05", scheme=oids.ATC.value, display="ramipril"),
            dose_form=Coded(code="10219000", scheme=oids.EDQM.value, display="Tablet"),
            strength="5 mg",
            substitution=Coded(code="G", scheme=oids.HL7_SUBSTANCE_ADMIN_SUBSTITUTION.value,
                               display="generic composition"),
            dispensable=True,
        ))


@pytest.fixture
def make_entry() -> Callable[..., DocumentEntry]:
    return document_entry


@pytest.fixture
def ep_entry() -> DocumentEntry:
    return eprescription_entry()


@pytest.fixture
def lu_patient() -> PatientId:
    return LU_PATIENT
