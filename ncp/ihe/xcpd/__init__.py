"""XCPD (ITI-55) cross-gateway patient discovery messages."""

from ncp.ihe.xcpd.datatypes import Address, PersonName
from ncp.ihe.xcpd.messages import (
    AcknowledgementDetail,
    DetectedIssue,
    Device,
    MatchedPatient,
    PatientDiscoveryQuery,
    PatientDiscoveryRequest,
    PatientDiscoveryResponse,
    build_request,
    build_response,
    hl7_now,
    parse_request,
    parse_response,
)

__all__ = [
    "AcknowledgementDetail",
    "Address",
    "DetectedIssue",
    "Device",
    "MatchedPatient",
    "PatientDiscoveryQuery",
    "PatientDiscoveryRequest",
    "PatientDiscoveryResponse",
    "PersonName",
    "build_request",
    "build_response",
    "hl7_now",
    "parse_request",
    "parse_response",
]
