"""Typed errors of the IHE message models.

Exception tree::

    NcpError                         (ncp.errors)
     └── MessageError                a message body does not conform; MALFORMED_REQUEST
          ├── UnexpectedMessageError the body element is not the one the transaction expects
          ├── MissingElementError    a required element or attribute is absent
          ├── InvalidValueError      a value is present but malformed or not allowed
          ├── PatientIdError         a patient identifier is not ``ext^^^&root&ISO``
          ├── StoredQueryError       unknown query id, missing or repeated parameter (XDS codes)
          └── SubmissionError        XDR metadata and documents do not fit together (XDS codes)

Every error carries ``location``: a short path to the offending node, kept for our logs and
the ``location`` of an ebXML ``RegistryError``; callers never see the internal ``detail``.
"""

from __future__ import annotations

from ncp.errors import ErrorCode, NcpError


class MessageError(NcpError):
    """A message body does not conform to the transaction's rules."""

    default_code: ErrorCode = ErrorCode.MALFORMED_REQUEST

    def __init__(self, detail: str, *, location: str = "", error: ErrorCode | None = None) -> None:
        super().__init__(error or self.default_code, detail, location=location)


class UnexpectedMessageError(MessageError):
    """The body element is not the request or response the transaction defines."""


class MissingElementError(MessageError):
    """A required element or attribute is absent."""


class InvalidValueError(MessageError):
    """A value is present but malformed or outside what the specification allows."""


class PatientIdError(InvalidValueError):
    """A patient identifier is not in the HL7 v2 CX form ``ext^^^&root&ISO``."""

    default_code = ErrorCode.PATIENT_ID_INVALID


class StoredQueryError(MessageError):
    """An XCA stored query is unknown, or a parameter is missing, repeated or not allowed."""

    default_code = ErrorCode.STORED_QUERY_PARAM_MISSING


class SubmissionError(MessageError):
    """XDR submission metadata is invalid, or documents and entries do not pair up."""

    default_code = ErrorCode.REGISTRY_METADATA_ERROR
