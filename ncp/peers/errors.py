"""What went wrong abroad, in words a doctor or pharmacist can act on.

Every failure of a call to a foreign gateway becomes one :class:`CrossBorderError` whose ``key``
names a message of the portal catalogues (``xb.err.<key>``: French, German, English). The eHDSI
code (``code``, e.g. ``4701``) and the foreign error id, when the peer gave one, travel with it
so the user can quote them to the help desk; the internal detail stays in our log.

Sources mapped here: XCPD ``AE`` answers (acknowledgement detail codes and detected issues),
ebXML ``RegistryError`` lists (XCA and XDR), SOAP faults, TLS and transport failures, and a
response whose signature we cannot trust.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ncp.errors import ErrorCode

__all__ = ["CrossBorderError", "from_codes", "is_generic", "key_for_code"]

#: Our own conditions (:class:`ncp.errors.ErrorCode`) -> message key: a peer running this
#: gateway sends exactly these codes. Several conditions share a dictionary code (e.g.
#: ERROR_GENERIC); the first listed gives the key of a shared code.
_OURS: tuple[tuple[ErrorCode, str], ...] = (
    (ErrorCode.HCP_ASSERTION_INVALID, "identity"),
    (ErrorCode.TRC_ASSERTION_INVALID, "relationship"),
    (ErrorCode.WEAK_AUTHENTICATION, "weak_authentication"),
    (ErrorCode.INSUFFICIENT_RIGHTS, "rights"),
    (ErrorCode.NO_SIGNATURE, "identity"),
    (ErrorCode.PATIENT_NOT_MATCHING_TRC, "relationship"),
    (ErrorCode.NO_MATCH, "no_match"),
    (ErrorCode.DEMOGRAPHICS_ONLY, "no_match"),
    (ErrorCode.PATIENT_ID_INVALID, "no_match"),
    (ErrorCode.NO_CONSENT, "no_consent"),
    (ErrorCode.EP_NOT_FOUND, "no_prescription"),
    (ErrorCode.PS_NOT_FOUND, "no_summary"),
    (ErrorCode.ORCD_NOT_FOUND, "no_documents"),
    (ErrorCode.UNSUPPORTED_FEATURE, "unsupported"),
    (ErrorCode.DOCUMENT_MISSING, "unknown_document"),
    (ErrorCode.UNKNOWN_REPOSITORY, "unknown_document"),
    (ErrorCode.TRANSCODING_ERROR, "transcoding"),
    (ErrorCode.PS_MISSING_EXPECTED_MAPPING, "transcoding"),
    (ErrorCode.EP_MISSING_EXPECTED_MAPPING, "transcoding"),
    (ErrorCode.ED_MISSING_EXPECTED_MAPPING, "transcoding"),
    (ErrorCode.INVALID_DISPENSATION, "invalid_dispensation"),
    (ErrorCode.REGISTRY_METADATA_ERROR, "invalid_dispensation"),
    (ErrorCode.MISSING_DOCUMENT, "invalid_dispensation"),
    (ErrorCode.MISSING_DOCUMENT_METADATA, "invalid_dispensation"),
    (ErrorCode.ALREADY_DISPENSED, "not_dispensable"),
    (ErrorCode.NOT_DISPENSABLE, "not_dispensable"),
    (ErrorCode.SUBSTITUTION_NOT_ALLOWED, "substitution"),
    (ErrorCode.EPRESCRIPTION_NOT_IDENTIFIABLE, "not_identifiable"),
    (ErrorCode.DISCARD_FAILED, "discard_failed"),
    (ErrorCode.STORED_QUERY_PARAM_MISSING, "peer_refused"),
    (ErrorCode.STORED_QUERY_PARAM_NUMBER, "peer_refused"),
    (ErrorCode.UNEXPECTED_REQUESTS_FOR_PATIENT, "too_many_requests"),
    (ErrorCode.UNEXPECTED_REQUESTS_FOR_POINT_OF_CARE, "too_many_requests"),
    (ErrorCode.UNEXPECTED_REQUESTS, "too_many_requests"),
)
# Not listed: the conditions whose dictionary code is ERROR_GENERIC (no message of its own).
# The IHE code that travels with it says more (XDSUnknownCommunity...); a bare ERROR_GENERIC
# falls to the caller's default.

#: eHDSI code (numeric or string form) -> message key.
_KEYS: dict[str, str] = {}
for _code, _key in _OURS:
    _KEYS.setdefault(_code.code, _key)
    _KEYS.setdefault(_code.wire, _key)
_KEYS.update({
    # Codes this gateway sent before the table followed the dictionary (issue 12 item 10),
    # and other gateways still send, in their older meaning.
    "4105": "no_match", "ERROR_NO_MATCH": "no_match", "4106": "not_dispensable",
    "4201": "unsupported", "4202": "unknown_document", "4503": "transcoding",
    "4504": "transcoding", "4505": "transcoding", "5007": "not_dispensable",
    "5008": "substitution", "5009": "not_identifiable", "5017": "discard_failed",
    "ERROR_HPI_GENERIC": "identity", "ERROR_SEC_GENERIC": "relationship",
    "ERROR_SEC_DATA_INTEGRITY_NOT_ENSURED": "relationship",
    "ERROR_GENERIC_DOCUMENT_MISSING": "unknown_document",
    # XCPD detected issues (IHE and eHDSI code systems)
    "PolicyViolation": "no_consent", "PrivacyViolation": "no_consent",
    "InsufficientRights": "rights", "AnswerNotAvailable": "unavailable",
    "ResponderBusy": "unavailable", "InternalError": "peer_error",
    "DemographicsQueryNotAllowed": "need_identifier",
    "AdditionalDemographicsRequested": "need_demographics",
    "PatientAuthenticationRequired": "patient_authentication",
    "EHICDataRequested": "need_demographics",
    # ebXML / XDS
    "XDSRegistryMetadataError": "peer_refused", "XDSMissingDocument": "peer_refused",
    "XDSMissingDocumentMetadata": "peer_refused", "XDSUnknownStoredQuery": "unsupported",
    "XDSStoredQueryMissingParam": "peer_refused", "XDSStoredQueryParamNumber": "peer_refused",
    "XDSRepositoryError": "peer_error", "XDSRegistryError": "peer_error",
    "XDSDocumentUniqueIdError": "unknown_document", "XDSUnknownRepositoryId": "unknown_document",
    "XDSUnknownPatientId": "no_match",
    # the peer is not the community we addressed: our directory entry is wrong
    "XDSUnknownCommunity": "configuration",
    # the peer's limits against enumeration (the reference gateway's warnings)
    **{code: "too_many_requests" for code in ("5032", "5034", "5035")},
})
_TRANSCODING = re.compile(r"^45\d\d$")


def is_generic(code: str | None) -> bool:
    """A dictionary code that only says "an error" of a domain (ERROR_GENERIC,
    ERROR_PI_GENERIC...): an XCPD detected issue beside it says more."""
    return bool(code) and code.strip().endswith("_GENERIC")  # type: ignore[union-attr]


def key_for_code(code: str | None) -> str | None:
    if not code:
        return None
    code = code.strip()
    if code in _KEYS:
        return _KEYS[code]
    if _TRANSCODING.match(code) or (code.startswith("ERROR_") and "MAPPING" in code):
        return "transcoding"
    return None


class CrossBorderError(Exception):
    """A refused or failed cross-border call, for the user (``key``) and the help desk."""

    def __init__(self, key: str, detail: str = "", *, code: str | None = None,
                 peer_error_id: str | None = None, country: str | None = None) -> None:
        super().__init__(f"{key}: {detail}" if detail else key)
        self.key = key
        self.detail = detail
        self.code = code
        self.peer_error_id = peer_error_id
        self.country = country


_ERROR_ID = re.compile(r"error id ([0-9a-f]{8,64})")


def error_id_in(text: str | None) -> str | None:
    match = _ERROR_ID.search(text or "")
    return match.group(1) if match else None


def from_codes(codes: Iterable[tuple[str | None, str | None]], *, default: str,
               text: str | None = None, country: str | None = None) -> CrossBorderError:
    """The error for the first (code, context) pair we know, else ``default``. The peer's
    error id is read from ``text`` or from the context (``codeContext``), where our gateway
    writes it."""
    pairs = list(codes)
    for code, context in pairs:
        for candidate in (code, context):
            key = key_for_code(candidate)
            if key is not None:
                return CrossBorderError(key, text or f"{code} {context}", code=code or context,
                                        peer_error_id=error_id_in(text) or error_id_in(context),
                                        country=country)
    first = pairs[0] if pairs else (None, None)
    return CrossBorderError(default, text or f"{first[0]} {first[1]}",
                            code=first[0] or first[1],
                            peer_error_id=error_id_in(text) or error_id_in(first[1]),
                            country=country)
