"""Typed errors: one exception carries the eHDSI error code, its severity and a location.

Exception tree::

    NcpError                      every refusal the gateway reports to a caller
     ├── StoreError               the record store refused an operation (ncp.store.errors)
     └── (security, transform and gateway errors subclass NcpError in their packages)

Faces map an :class:`NcpError` to a SOAP fault, an ebXML ``RegistryError``, an XCPD ``AE`` or an
RFC 9457 problem; the internal message never leaves the process, only the code and an error id.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass


class Severity(enum.StrEnum):
    ERROR = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
    WARNING = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning"


@dataclass(frozen=True, slots=True)
class _Code:
    code: str
    wire: str
    severity: Severity
    text: str


class ErrorCode(enum.Enum):
    """eHDSI error codes (eHDSI Error Codes list, NCPeH specification; IHE XDS/XCA tables).

    ``code`` is the legacy numeric code sent in ``errorCode``; ``wire`` the eHDSI string code
    sent in ``codeContext``.
    """

    HCP_ASSERTION_INVALID = _Code("1001", "ERROR_HPI_GENERIC", Severity.ERROR,
                                  "The identity assertion is invalid")
    TRC_ASSERTION_INVALID = _Code("1002", "ERROR_SEC_GENERIC", Severity.ERROR,
                                  "The treatment relationship assertion is invalid")
    EP_NOT_FOUND = _Code("1101", "ERROR_EP_NOT_FOUND", Severity.ERROR,
                         "No ePrescription is registered for the given patient")
    PS_NOT_FOUND = _Code("1102", "ERROR_PS_NOT_FOUND", Severity.WARNING,
                         "No Patient Summary is registered for the given patient")
    ORCD_NOT_FOUND = _Code("1104", "ERROR_ORCD_NOT_FOUND", Severity.WARNING,
                           "No original clinical document is registered for the patient")
    UNSUPPORTED_FEATURE = _Code("4201", "ERROR_GENERIC_SERVICE_SIGNIFIER_UNKNOWN",
                                Severity.ERROR, "The requested feature is not supported")
    UNKNOWN_SIGNIFIER = _Code("4202", "ERROR_GENERIC_DOCUMENT_MISSING", Severity.ERROR,
                              "Unknown document or signifier")
    TRANSCODING_ERROR = _Code("4203", "ERROR_TRANSCODING_ERROR", Severity.ERROR,
                              "The document could not be transcoded")
    PATIENT_NOT_MATCHING_TRC = _Code("4206", "ERROR_SEC_DATA_INTEGRITY_NOT_ENSURED",
                                     Severity.ERROR,
                                     "The patient does not match the treatment relationship")
    NO_MATCH = _Code("4105", "ERROR_NO_MATCH", Severity.ERROR, "No patient matches the query")
    NO_CONSENT = _Code("4701", "ERROR_NO_CONSENT", Severity.ERROR,
                       "The patient has not given consent to cross-border sharing")
    WEAK_AUTHENTICATION = _Code("4702", "ERROR_SEC_WEAK_AUTHENTICATION", Severity.ERROR,
                                "The authentication of the professional is too weak")
    INSUFFICIENT_RIGHTS = _Code("4703", "ERROR_INSUFFICIENT_RIGHTS", Severity.ERROR,
                                "The professional lacks the rights for this transaction")
    NO_SIGNATURE = _Code("4704", "ERROR_NO_SIGNATURE", Severity.ERROR,
                         "The message or assertion is not signed")
    PS_MISSING_EXPECTED_MAPPING = _Code("4503", "ERROR_PS_MISSING_EXPECTED_MAPPING",
                                        Severity.ERROR,
                                        "A required code of the Patient Summary has no mapping")
    EP_MISSING_EXPECTED_MAPPING = _Code("4504", "ERROR_EP_MISSING_EXPECTED_MAPPING",
                                        Severity.ERROR,
                                        "A required code of the ePrescription has no mapping")
    ED_MISSING_EXPECTED_MAPPING = _Code("4505", "ERROR_ED_MISSING_EXPECTED_MAPPING",
                                        Severity.ERROR,
                                        "A required code of the eDispensation has no mapping")
    GENERIC = _Code("4200", "ERROR_GENERIC", Severity.ERROR, "The request could not be processed")
    INVALID_DISPENSATION = _Code("4106", "ERROR_ED_GENERIC", Severity.ERROR,
                                 "Invalid dispensation")
    NOT_DISPENSABLE = _Code("5007", "ERROR_ED_NOT_DISPENSABLE_EPRESCRIPTION", Severity.ERROR,
                            "The selected ePrescription is not dispensable")
    SUBSTITUTION_NOT_ALLOWED = _Code("5008", "ERROR_ED_SUBSTITUTION_INFORMATION_NOT_ALLOWED",
                                     Severity.ERROR,
                                     "A substitution was made where it is not allowed")
    EPRESCRIPTION_NOT_IDENTIFIABLE = _Code("5009", "ERROR_ED_EPRESCRIPTION_NOT_IDENTIFIABLE",
                                           Severity.ERROR,
                                           "The ePrescription or its product cannot be identified")
    DISCARD_FAILED = _Code("5017", "ERROR_ED_DISCARD_FAILED", Severity.ERROR,
                           "The dispensation discard could not be performed")
    # Protocol errors (ncp.ihe, ncp.soap). IHE ITI TF-3 Table 4.2.4.1-2 (XDS error codes) where
    # the standard has a code; otherwise the generic eHDSI code with a specific text.
    MALFORMED_REQUEST = _Code("4200", "ERROR_GENERIC", Severity.ERROR,
                              "The request message is malformed or incomplete")
    REQUEST_TOO_LARGE = _Code("4200", "ERROR_GENERIC", Severity.ERROR,
                              "The request message is too large")
    PATIENT_ID_INVALID = _Code("ERROR_PI_GENERIC", "ERROR_PI_GENERIC", Severity.ERROR,
                               "The patient identifier is malformed")
    STORED_QUERY_UNKNOWN = _Code("XDSUnknownStoredQuery", "XDSUnknownStoredQuery",
                                 Severity.ERROR, "The stored query id is not supported")
    UNKNOWN_COMMUNITY = _Code("XDSUnknownCommunity", "XDSUnknownCommunity", Severity.ERROR,
                              "The homeCommunityId of the query is not this community")
    STORED_QUERY_PARAM_MISSING = _Code("XDSStoredQueryMissingParam", "XDSStoredQueryMissingParam",
                                       Severity.ERROR,
                                       "A required stored query parameter is missing")
    STORED_QUERY_PARAM_NUMBER = _Code("XDSStoredQueryParamNumber", "XDSStoredQueryParamNumber",
                                      Severity.ERROR,
                                      "A stored query parameter is repeated or not allowed")
    REGISTRY_METADATA_ERROR = _Code("XDSRegistryMetadataError", "XDSRegistryMetadataError",
                                    Severity.ERROR, "The submitted metadata is invalid")
    MISSING_DOCUMENT = _Code("XDSMissingDocument", "XDSMissingDocument", Severity.ERROR,
                             "A document entry has no document")
    MISSING_DOCUMENT_METADATA = _Code("XDSMissingDocumentMetadata", "XDSMissingDocumentMetadata",
                                      Severity.ERROR, "A document has no document entry")
    #: Unexpected request volumes (the reference gateway's EhdsiErrorCode 5032, 5034, 5035):
    #: discovery past a limit is refused until the window ends (ncp.store.volumes).
    UNEXPECTED_REQUESTS_FOR_PATIENT = _Code(
        "5032", "WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS_FOR_UNIQUE_PATIENT", Severity.WARNING,
        "An unexpected number of requests has been detected for one specific patient")
    UNEXPECTED_REQUESTS_FOR_POINT_OF_CARE = _Code(
        "5034", "WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS_FOR_UNIQUE_POINT_OF_CARE",
        Severity.WARNING,
        "An unexpected number of requests has been detected from one specific Point of Care")
    UNEXPECTED_REQUESTS = _Code("5035", "WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS",
                                Severity.WARNING, "An unexpected number of requests has been "
                                "detected")

    @property
    def code(self) -> str:
        return self.value.code

    @property
    def wire(self) -> str:
        return self.value.wire

    @property
    def severity(self) -> Severity:
        return self.value.severity

    @property
    def text(self) -> str:
        return self.value.text


class NcpError(Exception):
    """A refusal with an eHDSI code. ``detail`` stays in our logs; callers see ``public``."""

    def __init__(self, error: ErrorCode, detail: str = "", *, location: str = "") -> None:
        super().__init__(f"{error.code} {error.wire}: {detail or error.text}")
        self.error = error
        self.detail = detail
        self.location = location
        self.error_id = uuid.uuid4().hex

    @property
    def public(self) -> str:
        """What may be shown to a caller: the code's standard text and the error id."""
        return f"{self.error.text} (error id {self.error_id})"
