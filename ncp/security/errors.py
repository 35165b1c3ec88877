"""Security refusals, each carrying an eHDSI error code and a machine-readable reason.

Exception tree::

    NcpError                       (ncp.errors)
     └── SecurityError             reason: short token such as "external-reference"
          ├── XmlSignatureError    structure or cryptography of an XML signature
          ├── CertificateError     signer not trusted: chain, dates, usage, country, revocation
          ├── AssertionInvalid     a SAML assertion failed a rule (code 1001/1002/4702/4703/4206)
          ├── ReplayDetected       an assertion id already seen within its lifetime
          └── MessageSecurityError the WS-Security header of a SOAP message

``reason`` lets tests (and logs) tell exactly which check refused an input; ``fault`` is the
WS-Security 1.1 fault code a SOAP face should send (``wsse:InvalidSecurity`` by default).
"""

from __future__ import annotations

from ncp.errors import ErrorCode, NcpError

__all__ = [
    "AssertionInvalid",
    "CertificateError",
    "MessageSecurityError",
    "ReplayDetected",
    "SecurityError",
    "XmlSignatureError",
]


class SecurityError(NcpError):
    """A security check refused the input."""

    default_code = ErrorCode.GENERIC

    def __init__(
        self,
        reason: str,
        detail: str = "",
        *,
        error: ErrorCode | None = None,
        location: str = "",
        fault: str = "wsse:InvalidSecurity",
    ) -> None:
        super().__init__(error or self.default_code, f"{reason}: {detail}" if detail else reason,
                         location=location)
        self.reason = reason
        self.fault = fault


class XmlSignatureError(SecurityError):
    """The XML signature is missing, malformed, unsafe or does not verify."""

    default_code = ErrorCode.NO_SIGNATURE


class CertificateError(SecurityError):
    """The signer certificate does not chain to a trusted anchor of its country."""

    def __init__(self, reason: str, detail: str = "", **kw: object) -> None:
        kw.setdefault("fault", "wsse:SecurityTokenUnavailable")
        super().__init__(reason, detail, **kw)  # type: ignore[arg-type]


class AssertionInvalid(SecurityError):
    """A SAML assertion (HCP, TRC or NoK) is not acceptable."""

    default_code = ErrorCode.HCP_ASSERTION_INVALID


class ReplayDetected(AssertionInvalid):
    """An assertion id was presented again within its lifetime."""


class MessageSecurityError(SecurityError):
    """The WS-Security header of a message is missing, malformed, stale or wrongly signed."""
