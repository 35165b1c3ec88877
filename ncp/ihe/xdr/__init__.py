"""XDR (ITI-41) provide-and-register messages: eDispensation and its discard."""

from ncp.ihe.xdr.submit import (
    ProvideAndRegisterRequest,
    RegistryResponse,
    SubmittedDocument,
    build_request,
    build_response,
    parse_request,
    parse_response,
)

__all__ = [
    "ProvideAndRegisterRequest",
    "RegistryResponse",
    "SubmittedDocument",
    "build_request",
    "build_response",
    "parse_request",
    "parse_response",
]
