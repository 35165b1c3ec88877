"""XDS document entries for what Luxembourg shares across borders (XCA query answers).

One place decides how a DSP document appears in an eHDSI query response: its ids (the entry
UUID is derived from the document's unique id, so the same document always has the same entry),
class, type and format codes, confidentiality, language, the patient, and the repository and
home community from which it can be retrieved. The Patient Summary and ePrescription services
both use it, so a PS and an eP entry can never disagree on the shared slots.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from ncp.ihe import oids
from ncp.ihe.codes import ClassCode, FormatCode
from ncp.ihe.identifiers import PatientId
from ncp.ihe.rim import Author, Coded, DocumentEntry, EPrescriptionMetadata
from ncp.store.documents import DocumentInfo
from ncp.store.vocabulary import DocumentType

__all__ = ["CLASS_OF_TYPE", "ORCD_TYPES", "PDF_SUFFIX", "EntryFactory", "entry_uuid"]

#: LOINC class code of each DSP document type shared across borders.
CLASS_OF_TYPE: dict[DocumentType, ClassCode] = {
    DocumentType.PATIENT_SUMMARY: ClassCode.PATIENT_SUMMARY,
    DocumentType.PRESCRIPTION: ClassCode.EPRESCRIPTION,
    DocumentType.LABORATORY_REPORT: ClassCode.ORCD_LABORATORY_RESULTS,
    DocumentType.DISCHARGE_LETTER: ClassCode.ORCD_HOSPITAL_DISCHARGE_REPORT,
    DocumentType.IMAGING_REPORT: ClassCode.ORCD_IMAGING_REPORT,
}
#: The original clinical document types (shared as the PDF the DSP holds).
ORCD_TYPES = (DocumentType.LABORATORY_REPORT, DocumentType.DISCHARGE_LETTER,
              DocumentType.IMAGING_REPORT)

_CLASS_DISPLAY = {
    ClassCode.PATIENT_SUMMARY: "Patient Summary",
    ClassCode.EPRESCRIPTION: "ePrescription",
    ClassCode.ORCD_LABORATORY_RESULTS: "Laboratory results",
    ClassCode.ORCD_HOSPITAL_DISCHARGE_REPORT: "Hospital discharge report",
    ClassCode.ORCD_IMAGING_REPORT: "Imaging report",
}
#: codingScheme of the eHDSI format codes and of the IHE PDF format code.
_EHDSI_FORMAT_SCHEME = "eHDSI formatCodes"
_IHE_FORMAT_SCHEME = "1.3.6.1.4.1.19376.1.2.3"
_CONFIDENTIALITY_SCHEME = "2.16.840.1.113883.5.25"
#: eHDSI sends these two classifications as "Not Used" (they are required by XDS, unused here).
_NOT_USED = "Not Used"
_NOT_USED_FACILITY = Coded(code=_NOT_USED, scheme="eHDSI Healthcare Facility Type Codes-Not Used",
                           display=_NOT_USED)
_NOT_USED_PRACTICE = Coded(code=_NOT_USED, scheme="eHDSI Practice Setting Codes-Not Used",
                           display=_NOT_USED)
#: Unique id suffix of the level 1 (PDF) rendition of a structured document: an arc under the
#: document's own OID, so it is unique and tells the retrieve what to produce.
PDF_SUFFIX = ".1"
_ENTRY_NAMESPACE = uuid.UUID("6f1d2c1e-8c43-4f7e-9d0e-6b1c0a4e4c55")


def entry_uuid(unique_id: str) -> str:
    """The stable entry UUID of a document unique id (same document, same entry id)."""
    return f"urn:uuid:{uuid.uuid5(_ENTRY_NAMESPACE, unique_id)}"


def _dtm(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")


@dataclass(frozen=True, slots=True)
class EntryFactory:
    """Builds the entries of one gateway (its home community and repository)."""

    home_community_id: str
    repository_unique_id: str
    language_code: str = "fr-LU"

    @property
    def home(self) -> str:
        return f"urn:oid:{self.home_community_id}"

    def _base(self, info: DocumentInfo, patient: PatientId, *, unique_id: str, klass: ClassCode,
              format_code: Coded, mime_type: str, title: str,
              size: int | None, sha1: str | None,
              eprescription: EPrescriptionMetadata | None = None,
              description: str | None = None) -> DocumentEntry:
        class_coded = Coded(code=klass.value, scheme=oids.LOINC.value,
                            display=_CLASS_DISPLAY.get(klass, klass.value))
        author = Author(person=info.author_name or None,
                        institutions=(info.organisation,) if info.organisation else ())
        return DocumentEntry(
            entry_uuid=entry_uuid(unique_id), unique_id=unique_id, patient_id=patient,
            mime_type=mime_type, class_code=class_coded, type_code=class_coded,
            format_code=format_code,
            confidentiality_codes=(Coded(code=info.confidentiality.value,
                                         scheme=_CONFIDENTIALITY_SCHEME,
                                         display=info.confidentiality.name.title()),),
            healthcare_facility_type_code=_NOT_USED_FACILITY,
            practice_setting_code=_NOT_USED_PRACTICE,
            authors=(author,) if author.person or author.institutions else (),
            home_community_id=self.home, title=title, description=description,
            creation_time=_dtm(info.created_at), language_code=self.language_code,
            source_patient_id=patient.cx, size=size, hash=sha1,
            repository_unique_id=self.repository_unique_id,
            service_start_time=_dtm(info.service_start) if info.service_start else None,
            eprescription=eprescription,
        )

    def structured(self, info: DocumentInfo, patient: PatientId, *, size: int | None = None,
                   sha1: str | None = None, eprescription: EPrescriptionMetadata | None = None,
                   description: str | None = None) -> DocumentEntry:
        """The level 3 (pivot CDA) entry of a Patient Summary or an ePrescription."""
        klass = CLASS_OF_TYPE[info.doc_type]
        fmt = (FormatCode.PATIENT_SUMMARY if klass is ClassCode.PATIENT_SUMMARY
               else FormatCode.EPRESCRIPTION)
        return self._base(info, patient, unique_id=info.unique_id, klass=klass,
                          format_code=Coded(code=fmt.value, scheme=_EHDSI_FORMAT_SCHEME,
                                            display=_CLASS_DISPLAY[klass]),
                          mime_type="text/xml", title=_CLASS_DISPLAY[klass], size=size,
                          sha1=sha1, eprescription=eprescription, description=description)

    def rendition(self, info: DocumentInfo, patient: PatientId, *, size: int | None = None,
                  sha1: str | None = None) -> DocumentEntry:
        """The level 1 rendition entry of a structured document (XFRM-linked to it): an XDS-SD
        document, i.e. a level 1 CDA whose body is the PDF (hence ``text/xml``)."""
        klass = CLASS_OF_TYPE[info.doc_type]
        return self._base(info, patient, unique_id=info.unique_id + PDF_SUFFIX, klass=klass,
                          format_code=Coded(code=FormatCode.PDF.value, scheme=_IHE_FORMAT_SCHEME,
                                            display="PDF"),
                          mime_type="text/xml", title=f"{_CLASS_DISPLAY[klass]} (PDF)",
                          size=size, sha1=sha1)

    def original(self, info: DocumentInfo, patient: PatientId) -> DocumentEntry:
        """The entry of an original clinical document (a PDF held by the DSP)."""
        klass = CLASS_OF_TYPE[info.doc_type]
        return self._base(info, patient, unique_id=info.unique_id, klass=klass,
                          format_code=Coded(code=FormatCode.ORCD_PDF.value,
                                            scheme=_EHDSI_FORMAT_SCHEME,
                                            display="Original clinical document (PDF)"),
                          mime_type="application/pdf", title=info.title,
                          size=info.content_size, sha1=None)
