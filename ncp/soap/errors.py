"""SOAP 1.2 faults raised while reading an envelope or its MIME package.

Exception tree::

    NcpError                             (ncp.errors)
     └── SoapFault                       answered with a SOAP 1.2 Fault (code, subcodes, reason)
          ├── VersionMismatchFault       not a SOAP 1.2 envelope            env:VersionMismatch
          ├── MustUnderstandFault        a mustUnderstand header we do not process
          ├── EnvelopeError              malformed XML or envelope shape     env:Sender
          │    └── MediaTypeError        wrong Content-Type (HTTP 415)
          ├── MultipartError             malformed multipart/related (MTOM)  env:Sender
          ├── RequestTooLargeError       over the size limit (HTTP 413)       env:Sender
          └── AddressingFault            WS-Addressing 1.0 SOAP binding faults (subcode wsa:...)
               ├── ActionMismatchFault   Content-Type action != wsa:Action   wsa:ActionMismatch

The fault ``reason`` is a fixed sentence per cause, never built from the input, so nothing a
caller sent (or anything internal) is echoed back; ``detail`` stays in our logs.
"""

from __future__ import annotations

from ncp.errors import ErrorCode, NcpError
from ncp.xmlutil import NS

WSA = NS["wsa"]


class SoapFault(NcpError):
    """An error answered with a SOAP 1.2 Fault."""

    #: ``env:Code/env:Value`` local name: Sender, Receiver, MustUnderstand, VersionMismatch.
    code = "Sender"
    #: ``env:Subcode`` values as Clark names, outermost first.
    subcodes: tuple[str, ...] = ()
    reason = "The message is not a valid SOAP 1.2 message"
    #: HTTP status per the SOAP 1.2 HTTP binding (Sender 400, others 500).
    http_status = 400

    def __init__(self, detail: str = "", *, error: ErrorCode = ErrorCode.MALFORMED_REQUEST,
                 location: str = "") -> None:
        super().__init__(error, detail, location=location)


class VersionMismatchFault(SoapFault):
    code = "VersionMismatch"
    reason = "Only SOAP 1.2 envelopes are accepted"
    http_status = 500


class MustUnderstandFault(SoapFault):
    code = "MustUnderstand"
    reason = "A header block marked mustUnderstand is not understood"
    http_status = 500

    def __init__(self, detail: str = "", *, not_understood: tuple[str, ...] = ()) -> None:
        super().__init__(detail)
        #: Clark names of the header blocks, for ``env:NotUnderstood`` headers in the fault.
        self.not_understood = not_understood


class EnvelopeError(SoapFault):
    reason = "The SOAP envelope is malformed"


class MediaTypeError(EnvelopeError):
    reason = "The Content-Type is not application/soap+xml or MTOM multipart/related"
    http_status = 415


class MultipartError(SoapFault):
    reason = "The multipart/related (MTOM) package is malformed"


class RequestTooLargeError(SoapFault):
    reason = "The message exceeds the size limit"
    http_status = 413

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail, error=ErrorCode.REQUEST_TOO_LARGE)


class AddressingFault(SoapFault):
    """WS-Addressing 1.0 SOAP binding fault (section 6.4)."""

    subcodes = (f"{{{WSA}}}InvalidAddressingHeader",)
    reason = "A WS-Addressing header is invalid"


class MissingAddressingHeaderFault(AddressingFault):
    subcodes = (f"{{{WSA}}}MessageAddressingHeaderRequired",)
    reason = "A required WS-Addressing header is missing"


class OnlyAnonymousAddressFault(AddressingFault):
    subcodes = (f"{{{WSA}}}InvalidAddressingHeader", f"{{{WSA}}}OnlyAnonymousAddressSupported")
    reason = "Only the anonymous reply address is supported"


class ActionMismatchFault(AddressingFault):
    subcodes = (f"{{{WSA}}}ActionMismatch",)
    reason = "The action of the Content-Type does not match wsa:Action"


class ActionNotSupportedFault(AddressingFault):
    subcodes = (f"{{{WSA}}}ActionNotSupported",)
    reason = "The wsa:Action is not supported by this endpoint"
