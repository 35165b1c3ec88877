"""SOAP 1.2 for the eHDSI gateways: envelopes, WS-Addressing, MTOM/XOP and faults.

Typical use on the responding side::

    msg = soap.parse_request(body, content_type, max_bytes=settings.max_request_bytes)
    # ... security.verify_envelope(msg.envelope, ...), ihe.xca.query.parse_request(msg.body_element)
    data, ct = soap.build_response(ihe_response_element, request=msg, action=tx.response_action)

and on any :class:`~ncp.soap.errors.SoapFault` (or other NcpError outside a body answer)::

    data, ct, status = soap.build_fault(error, relates_to=msg.message_id if known else None)
"""

from ncp.soap.addressing import ANONYMOUS, Addressing, new_message_id
from ncp.soap.dispatch import transaction_for
from ncp.soap.envelope import (
    DEFAULT_UNDERSTOOD,
    SoapMessage,
    build_envelope,
    build_fault,
    build_request,
    build_response,
    fault_envelope,
    parse_request,
    parse_response,
    serialize,
)
from ncp.soap.errors import (
    ActionMismatchFault,
    ActionNotSupportedFault,
    AddressingFault,
    EnvelopeError,
    MediaTypeError,
    MissingAddressingHeaderFault,
    MultipartError,
    MustUnderstandFault,
    OnlyAnonymousAddressFault,
    RequestTooLargeError,
    SoapFault,
    VersionMismatchFault,
)
from ncp.soap.xop import reconstitute

__all__ = [
    "ANONYMOUS",
    "DEFAULT_UNDERSTOOD",
    "ActionMismatchFault",
    "ActionNotSupportedFault",
    "Addressing",
    "AddressingFault",
    "EnvelopeError",
    "MediaTypeError",
    "MissingAddressingHeaderFault",
    "MultipartError",
    "MustUnderstandFault",
    "OnlyAnonymousAddressFault",
    "RequestTooLargeError",
    "SoapFault",
    "SoapMessage",
    "VersionMismatchFault",
    "build_envelope",
    "build_fault",
    "build_request",
    "build_response",
    "fault_envelope",
    "new_message_id",
    "parse_request",
    "parse_response",
    "reconstitute",
    "serialize",
    "transaction_for",
]
