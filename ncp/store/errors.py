"""Errors of the record store. Each carries an eHDSI code so faces can map it without guessing.

    NcpError
     └── StoreError
          ├── InvalidInput      bad data (an invalid matricule, an unknown document type)
          ├── NotFound          an unknown patient, professional or document
          ├── AccessDenied      the access policy said no (the refusal is in the access log)
          └── ContentTampered   a stored ciphertext failed its integrity check
"""

from __future__ import annotations

from ncp.errors import ErrorCode, NcpError


class StoreError(NcpError):
    """``detail`` is English (logs, the API's problem details). ``key`` and ``values``, when
    given, are what a page says instead, from the portal's catalogue in the reader's language;
    without a key a page shows a translated summary and ``detail`` as technical detail."""

    code = ErrorCode.GENERIC

    def __init__(self, detail: str, *, key: str | None = None, **values: object) -> None:
        super().__init__(self.code, detail)
        self.key = key
        self.values = values


class InvalidInput(StoreError):
    code = ErrorCode.GENERIC


class NotFound(StoreError):
    code = ErrorCode.UNKNOWN_SIGNIFIER


class AccessDenied(StoreError):
    code = ErrorCode.INSUFFICIENT_RIGHTS


class ContentTampered(StoreError):
    code = ErrorCode.GENERIC
