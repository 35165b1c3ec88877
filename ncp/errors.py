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
    ihe: str | None = None


class ErrorCode(enum.Enum):
    """The one table from each refusal condition to the codes sent for it.

    ``code`` is the code of the reference gateway's dictionary (its ``OpenNCPErrorCode``
    enumeration, as the code travels: ``4701``, ``ERROR_PI_NO_MATCH``...), sent in
    ``RegistryError/@errorCode`` and XCPD ``acknowledgementDetail/code/@code``: its client looks
    that value up and shows the entry's text, so a code outside the dictionary reaches the
    foreign professional as no message at all. ``wire`` is the dictionary entry's name (for
    logs, metrics, the audit and the API). ``ihe`` is the IHE code (ITI TF-3 Table 4.2.4.1-2)
    where IHE defines one for the condition; it is sent as a second ``RegistryError`` after the
    dictionary's (:func:`ncp.ihe.rim.registry_errors`), so that IHE test tools find their code
    and the reference client, which stops at the first error, finds its own. ``text`` is our
    standard English text, sent with the error id; the internal detail never leaves.

    Every ``code`` is an entry of the dictionary (``ncp.peers.error_texts.TEXTS``; tested).
    docs/gateway.md ("Error codes") lists the table.
    """

    # --- identity and treatment relationship (XUA, eHDSI SAML profile) -------------------
    HCP_ASSERTION_INVALID = _Code("1001", "ERROR_NOT_VALID_ASSERTION", Severity.ERROR,
                                  "The identity assertion is invalid")
    TRC_ASSERTION_INVALID = _Code("1002", "ERROR_NOT_VALID_TRC_ASSERTION", Severity.ERROR,
                                  "The treatment relationship assertion is invalid")
    WEAK_AUTHENTICATION = _Code("4702", "ERROR_WEAK_AUTHENTICATION", Severity.ERROR,
                                "The authentication of the professional is too weak")
    INSUFFICIENT_RIGHTS = _Code("4703", "ERROR_INSUFFICIENT_RIGHTS", Severity.ERROR,
                                "The professional lacks the rights for this transaction")
    NO_SIGNATURE = _Code("4704", "ERROR_NO_SIGNATURE", Severity.ERROR,
                         "The message is not signed")
    PATIENT_NOT_MATCHING_TRC = _Code("4206", "ERROR_UNKNOWN_PATIENT_IDENTIFIER", Severity.ERROR,
                                     "The patient does not match the treatment relationship")
    # --- the patient ----------------------------------------------------------------------
    NO_MATCH = _Code("ERROR_PI_NO_MATCH", "ERROR_PI_NO_MATCH", Severity.ERROR,
                     "No patient matches the identifier", "XDSUnknownPatientId")
    DEMOGRAPHICS_ONLY = _Code("ERROR_PI_GENERIC", "ERROR_PI_GENERIC", Severity.ERROR,
                              "Patients are identified by their national identifier only")
    PATIENT_ID_INVALID = _Code("ERROR_PI_GENERIC", "ERROR_PI_GENERIC", Severity.ERROR,
                               "The patient identifier is malformed")
    NO_CONSENT = _Code("4701", "ERROR_NO_CONSENT", Severity.ERROR,
                       "The patient has not given consent to cross-border sharing")
    # --- documents (XCA) ------------------------------------------------------------------
    EP_NOT_FOUND = _Code("1101", "ERROR_EP_NOT_FOUND", Severity.ERROR,
                         "No ePrescription is registered for the given patient")
    PS_NOT_FOUND = _Code("1102", "ERROR_PS_NOT_FOUND", Severity.WARNING,
                         "No Patient Summary is registered for the given patient")
    ORCD_NOT_FOUND = _Code("1104", "ERROR_ORCD_NOT_FOUND", Severity.WARNING,
                           "No original clinical document is registered for the patient")
    UNSUPPORTED_FEATURE = _Code("ERROR_GENERIC_SERVICE_SIGNIFIER_UNKNOWN",
                                "ERROR_GENERIC_SERVICE_SIGNIFIER_UNKNOWN", Severity.ERROR,
                                "The requested kind of document is not offered")
    #: Unknown, masked, restricted or not shared: one answer, so none can be told apart.
    UNKNOWN_SIGNIFIER = _Code("ERROR_GENERIC_DOCUMENT_MISSING", "ERROR_GENERIC_DOCUMENT_MISSING",
                              Severity.ERROR, "The requested document was not found",
                              "XDSDocumentUniqueIdError")
    DOCUMENT_MISSING = UNKNOWN_SIGNIFIER  # the same condition, by the dictionary's name
    UNKNOWN_REPOSITORY = _Code("ERROR_GENERIC_DOCUMENT_MISSING",
                               "ERROR_GENERIC_DOCUMENT_MISSING", Severity.ERROR,
                               "The requested repository is not this gateway's",
                               "XDSUnknownRepositoryId")
    TRANSCODING_ERROR = _Code("4203", "ERROR_TRANSCODING_ERROR", Severity.ERROR,
                              "The document could not be transcoded")
    PS_MISSING_EXPECTED_MAPPING = _Code("ERROR_PS_MISSING_EXPECTED_MAPPING",
                                        "ERROR_PS_MISSING_EXPECTED_MAPPING", Severity.ERROR,
                                        "A required code of the Patient Summary has no mapping")
    EP_MISSING_EXPECTED_MAPPING = _Code("ERROR_EP_MISSING_EXPECTED_MAPPING",
                                        "ERROR_EP_MISSING_EXPECTED_MAPPING", Severity.ERROR,
                                        "A required code of the ePrescription has no mapping")
    # --- eDispensation and discard (XDR) --------------------------------------------------
    ED_MISSING_EXPECTED_MAPPING = _Code("ERROR_ED_MISSING_EXPECTED_MAPPING",
                                        "ERROR_ED_MISSING_EXPECTED_MAPPING", Severity.ERROR,
                                        "A required code of the eDispensation has no mapping")
    INVALID_DISPENSATION = _Code("ERROR_ED_GENERIC", "ERROR_ED_GENERIC", Severity.ERROR,
                                 "The eDispensation is malformed or invalid")
    ALREADY_DISPENSED = _Code("4106", "ERROR_EP_ALREADY_DISPENSED", Severity.ERROR,
                              "The ePrescription has already been fully dispensed")
    NOT_DISPENSABLE = _Code("ERROR_ED_NOT_DISPENSABLE_EPRESCRIPTION",
                            "ERROR_ED_NOT_DISPENSABLE_EPRESCRIPTION", Severity.ERROR,
                            "The ePrescription is not dispensable (expired, cancelled, or "
                            "more than what remains)")
    SUBSTITUTION_NOT_ALLOWED = _Code("ERROR_ED_SUBSTITUTION_INFORMATION_NOT_ALLOWED",
                                     "ERROR_ED_SUBSTITUTION_INFORMATION_NOT_ALLOWED",
                                     Severity.ERROR,
                                     "A substitution was made where it is not allowed")
    EPRESCRIPTION_NOT_IDENTIFIABLE = _Code("ERROR_ED_EPRESCRIPTION_NOT_IDENTIFIABLE",
                                           "ERROR_ED_EPRESCRIPTION_NOT_IDENTIFIABLE",
                                           Severity.ERROR,
                                           "The ePrescription or its product cannot be identified")
    DISCARD_FAILED = _Code("ERROR_ED_DISCARD_FAILED", "ERROR_ED_DISCARD_FAILED", Severity.ERROR,
                           "The dispensation discard could not be performed")
    REGISTRY_METADATA_ERROR = _Code("ERROR_ED_GENERIC", "ERROR_ED_GENERIC", Severity.ERROR,
                                    "The submitted metadata is invalid",
                                    "XDSRegistryMetadataError")
    MISSING_DOCUMENT = _Code("ERROR_ED_GENERIC", "ERROR_ED_GENERIC", Severity.ERROR,
                             "A document entry has no document", "XDSMissingDocument")
    MISSING_DOCUMENT_METADATA = _Code("ERROR_ED_GENERIC", "ERROR_ED_GENERIC", Severity.ERROR,
                                      "A document has no document entry",
                                      "XDSMissingDocumentMetadata")
    # --- the request as a message (ncp.ihe, ncp.soap) ------------------------------------
    GENERIC = _Code("ERROR_GENERIC", "ERROR_GENERIC", Severity.ERROR,
                    "The request could not be processed", "XDSRegistryError")
    MALFORMED_REQUEST = _Code("ERROR_GENERIC", "ERROR_GENERIC", Severity.ERROR,
                              "The request message is malformed or incomplete")
    REQUEST_TOO_LARGE = _Code("ERROR_GENERIC", "ERROR_GENERIC", Severity.ERROR,
                              "The request message is too large")
    UNKNOWN_COMMUNITY = _Code("ERROR_GENERIC", "ERROR_GENERIC", Severity.ERROR,
                              "The homeCommunityId of the request is not this community",
                              "XDSUnknownCommunity")
    STORED_QUERY_UNKNOWN = _Code("ERROR_GENERIC", "ERROR_GENERIC", Severity.ERROR,
                                 "The stored query id is not supported", "XDSUnknownStoredQuery")
    STORED_QUERY_PARAM_MISSING = _Code("4204", "ERROR_UNKNOWN_FILTER", Severity.ERROR,
                                       "A required stored query parameter is missing",
                                       "XDSStoredQueryMissingParam")
    STORED_QUERY_PARAM_NUMBER = _Code("4204", "ERROR_UNKNOWN_FILTER", Severity.ERROR,
                                      "A stored query parameter is repeated or not allowed",
                                      "XDSStoredQueryParamNumber")
    # --- request volumes (ncp.store.volumes): discovery refused until the window ends -------
    UNEXPECTED_REQUESTS_FOR_PATIENT = _Code(
        "WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS_FOR_UNIQUE_PATIENT",
        "WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS_FOR_UNIQUE_PATIENT", Severity.WARNING,
        "An unexpected number of requests has been detected for one specific patient")
    UNEXPECTED_REQUESTS_FOR_POINT_OF_CARE = _Code(
        "WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS_FOR_UNIQUE_POINT_OF_CARE",
        "WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS_FOR_UNIQUE_POINT_OF_CARE", Severity.WARNING,
        "An unexpected number of requests has been detected from one specific Point of Care")
    UNEXPECTED_REQUESTS = _Code("WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS",
                                "WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS", Severity.WARNING,
                                "An unexpected number of requests has been detected")

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

    @property
    def ihe(self) -> str | None:
        return self.value.ihe


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
