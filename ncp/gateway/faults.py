"""SOAP faults of the gateway's security checks, and the request-level refusals.

Transport and message security (the TLS client certificate, the WS-Security header and its
signature) are answered with a SOAP 1.2 Sender fault whose subcode is the WS-Security 1.1 fault
code (``wsse:InvalidSecurity``, ``wsse:FailedCheck``, ``wsse:SecurityTokenUnavailable``,
``wsse:MessageExpired``): the message as such is not acceptable. The assertions (who asks, for
which patient) are answered inside the transaction's own response (RegistryError, XCPD AE), as
eHDSI expects, with nothing else in it.
"""

from __future__ import annotations

from ncp.errors import ErrorCode, NcpError
from ncp.security.errors import SecurityError
from ncp.soap.errors import SoapFault
from ncp.xmlutil import NS

__all__ = ["MalformedRequestFault", "SecurityFault", "TransportRefused", "from_security_error"]

_WSSE = NS["wsse"]


class SecurityFault(SoapFault):
    """A WS-Security fault (the reason is fixed; the detail stays in our logs)."""

    code = "Sender"
    reason = "The message security could not be verified"
    http_status = 400

    def __init__(self, detail: str = "", *, fault: str = "wsse:InvalidSecurity",
                 error: ErrorCode = ErrorCode.GENERIC, check: str = "") -> None:
        super().__init__(detail, error=error)
        #: The check that refused (the SecurityError's reason), for the audit record.
        self.check = check or fault.split(":", 1)[-1]
        local = fault.split(":", 1)[-1]
        self.subcodes = (f"{{{_WSSE}}}{local}",)


def from_security_error(exc: SecurityError) -> SecurityFault:
    return SecurityFault(exc.detail, fault=exc.fault, error=exc.error, check=exc.reason)


class TransportRefused(SecurityFault):
    """No client certificate, or one that is not trusted for TLS clients."""

    reason = "A trusted TLS client certificate is required"

    def __init__(self, detail: str = "", *, check: str = "unreadable-client-certificate") -> None:
        super().__init__(detail, fault="wsse:SecurityTokenUnavailable", check=check)


class MalformedRequestFault(SoapFault):
    """A request body too broken to answer in the transaction's own terms (e.g. an XCPD query
    that cannot be echoed in an AE answer)."""

    reason = "The request does not conform to the transaction's message format"


def is_transaction_error(exc: NcpError) -> bool:
    """True for errors answered inside the transaction's response (not as a SOAP fault)."""
    return not isinstance(exc, SoapFault)
