"""Coded values of the eHDSI exchanges: document classes, formats, services and status URNs.

Values come from ``../shared/design/EHDSI.md`` (eHDSI XCA/XDR profiles) and the ebXML RegRep 3.0
and IHE XDS specifications. Enumerations are :class:`enum.StrEnum` so that they compare equal
to the wire strings and print as them.
"""

from __future__ import annotations

import enum

from ncp.ihe import oids


class Service(enum.StrEnum):
    """The eHDSI service a document or query belongs to (drives consent and audit)."""

    PATIENT_IDENTIFICATION = "patient-identification"
    PATIENT_SUMMARY = "patient-summary"
    EPRESCRIPTION = "eprescription"
    EDISPENSATION = "edispensation"
    EDISPENSATION_DISCARD = "edispensation-discard"
    ORCD = "original-clinical-documents"


class ClassCode(enum.StrEnum):
    """Document class codes (LOINC, except the eHDSI discard and image pseudo codes)."""

    PATIENT_SUMMARY = "60591-5"
    EPRESCRIPTION = "57833-6"
    EDISPENSATION = "60593-1"
    EDISPENSATION_DISCARD = "DISCARD-60593-1"
    ORCD_LABORATORY_RESULTS = "11502-2"
    ORCD_HOSPITAL_DISCHARGE_REPORT = "34105-7"
    ORCD_IMAGING_REPORT = "18748-4"
    ORCD_IMAGES = "x-clinical-image"

    @property
    def service(self) -> Service:
        return _CLASS_SERVICE[self]

    @property
    def coding_scheme(self) -> str:
        """The codingScheme written with the class code (LOINC for every eHDSI class)."""
        return oids.LOINC.value


_CLASS_SERVICE: dict[ClassCode, Service] = {
    ClassCode.PATIENT_SUMMARY: Service.PATIENT_SUMMARY,
    ClassCode.EPRESCRIPTION: Service.EPRESCRIPTION,
    ClassCode.EDISPENSATION: Service.EDISPENSATION,
    ClassCode.EDISPENSATION_DISCARD: Service.EDISPENSATION_DISCARD,
    ClassCode.ORCD_LABORATORY_RESULTS: Service.ORCD,
    ClassCode.ORCD_HOSPITAL_DISCHARGE_REPORT: Service.ORCD,
    ClassCode.ORCD_IMAGING_REPORT: Service.ORCD,
    ClassCode.ORCD_IMAGES: Service.ORCD,
}


class FormatCode(enum.StrEnum):
    """Document format codes (XDSDocumentEntry.formatCode)."""

    PATIENT_SUMMARY = "urn:epSOS:ps:ps:2010"
    EPRESCRIPTION = "urn:epsos:ep:pre:2010"
    EDISPENSATION = "urn:epSOS:ep:dis:2010"
    EDISPENSATION_DISCARD = "urn:eHDSI:ed:discard:2020"
    PDF = "urn:ihe:iti:xds-sd:pdf:2008"
    ORCD_PDF = "urn:eHDSI:orcd:pdf:2021"
    ORCD_PNG = "urn:eHDSI:orcd:png:2021"
    ORCD_JPEG = "urn:eHDSI:orcd:jpeg:2021"


class StatusType(enum.StrEnum):
    """ebRIM object status (``$XDSDocumentEntryStatus`` values and ExtrinsicObject/@status)."""

    APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
    DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
    SUBMITTED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Submitted"


class ResponseStatus(enum.StrEnum):
    """ebRS response status of queries, retrieves and submissions."""

    SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
    PARTIAL_SUCCESS = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"
    FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"


class AssociationType(enum.StrEnum):
    """ebRIM association types used by eHDSI."""

    HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
    #: A transformation: the source entry (the PDF rendition, level 1) is a transformation of
    #: the target entry (the structured document, level 3) - IHE ITI TF-3 4.2.2.
    XFRM = "urn:ihe:iti:2007:AssociationType:XFRM"
    RPLC = "urn:ihe:iti:2007:AssociationType:RPLC"
    APND = "urn:ihe:iti:2007:AssociationType:APND"
    XFRM_RPLC = "urn:ihe:iti:2007:AssociationType:XFRM_RPLC"
    SIGNS = "urn:ihe:iti:2007:AssociationType:signs"


class ReturnType(enum.StrEnum):
    """AdhocQueryRequest ResponseOption/@returnType values XCA allows."""

    LEAF_CLASS = "LeafClass"
    OBJECT_REF = "ObjectRef"


class QueryResponseCode(enum.StrEnum):
    """XCPD ``queryAck/queryResponseCode``."""

    OK = "OK"  # data found
    NF = "NF"  # no data found
    AE = "AE"  # application error
    QE = "QE"  # query parameter error


class AcknowledgementType(enum.StrEnum):
    """HL7 v3 ``acknowledgement/typeCode``."""

    AA = "AA"  # application accept
    AE = "AE"  # application error
    AR = "AR"  # application reject


class XcpdIssue(enum.StrEnum):
    """``detectedIssueEvent`` codes of an XCPD AE answer, with their code system."""

    # IHE ITI TF-2 Table 3.55.4.2.2.7-1 (code system 1.3.6.1.4.1.19376.1.2.27.3)
    ANSWER_NOT_AVAILABLE = "AnswerNotAvailable"
    RESPONDER_BUSY = "ResponderBusy"
    INTERNAL_ERROR = "InternalError"
    # eHDSI XCPD profile (code system 1.3.6.1.4.1.12559.11.10.1.3.2.2.1)
    ADDITIONAL_DEMOGRAPHICS_REQUESTED = "AdditionalDemographicsRequested"
    DEMOGRAPHICS_QUERY_NOT_ALLOWED = "DemographicsQueryNotAllowed"
    EHIC_DATA_REQUESTED = "EHICDataRequested"
    PRIVACY_VIOLATION = "PrivacyViolation"
    INSUFFICIENT_RIGHTS = "InsufficientRights"
    PATIENT_AUTHENTICATION_REQUIRED = "PatientAuthenticationRequired"
    POLICY_VIOLATION = "PolicyViolation"

    @property
    def code_system(self) -> str:
        if self in _IHE_XCPD_ISSUES:
            return oids.IHE_XCPD_ERROR.value
        return oids.EHDSI_XCPD_ERROR.value

    @property
    def placement(self) -> str:
        """Where the code goes: ``triggerFor`` asks the requester to re-query differently,
        ``mitigatedBy`` reports an issue the requester cannot fix by re-querying."""
        return "triggerFor" if self in _TRIGGER_ISSUES else "mitigatedBy"


_IHE_XCPD_ISSUES = frozenset(
    {XcpdIssue.ANSWER_NOT_AVAILABLE, XcpdIssue.RESPONDER_BUSY, XcpdIssue.INTERNAL_ERROR})
_TRIGGER_ISSUES = frozenset({
    XcpdIssue.ADDITIONAL_DEMOGRAPHICS_REQUESTED, XcpdIssue.DEMOGRAPHICS_QUERY_NOT_ALLOWED,
    XcpdIssue.EHIC_DATA_REQUESTED, XcpdIssue.PATIENT_AUTHENTICATION_REQUIRED,
})
