"""Trust and message security: trust store, XML signatures, SAML assertions, WS-Security.

Every cross-border message passes through this package. Public surface::

    init_pki                     development PKI (ncp.security.pki)
    TrustStore, Purpose          trust anchors per country and purpose, CRLs
    load_credentials             our signing key and certificate, parsed once
    build_hcp_assertion, build_trc_assertion, build_nok_assertion, *Claims
    AssertionValidator, validate_assertions, VerifiedIdentity, PatientId, AssertionPolicy
    Transaction                  security view of the eHDSI transactions
    build_security_header, sign_envelope, verify_envelope, verify_message, WsSecurityPolicy
    InMemoryReplayCache, DatabaseReplayCache, ReplayCache
    MessageSecurity              the facade a gateway holds (ncp.security.service)
    SecurityError and subclasses (ncp.security.errors)
"""

from ncp.security.errors import (
    AssertionInvalid,
    CertificateError,
    MessageSecurityError,
    ReplayDetected,
    SecurityError,
    XmlSignatureError,
)
from ncp.security.keys import SigningCredentials, load_credentials
from ncp.security.permissions import REQUIRED_PERMISSIONS, Transaction
from ncp.security.pki import init_pki
from ncp.security.replay import DatabaseReplayCache, InMemoryReplayCache, ReplayCache
from ncp.security.saml import (
    HcpClaims,
    NokClaims,
    TrcClaims,
    build_hcp_assertion,
    build_nok_assertion,
    build_trc_assertion,
)
from ncp.security.service import MessageSecurity
from ncp.security.truststore import Purpose, TrustStore
from ncp.security.validation import (
    AssertionPolicy,
    AssertionValidator,
    HcpIdentity,
    NextOfKin,
    PatientId,
    TreatmentRelationship,
    VerifiedIdentity,
    validate_assertions,
)
from ncp.security.wssecurity import (
    VerifiedMessage,
    WsSecurityPolicy,
    build_security_header,
    sign_envelope,
    verify_envelope,
    verify_message,
)

__all__ = [
    "REQUIRED_PERMISSIONS",
    "AssertionInvalid",
    "AssertionPolicy",
    "AssertionValidator",
    "CertificateError",
    "DatabaseReplayCache",
    "HcpClaims",
    "HcpIdentity",
    "InMemoryReplayCache",
    "MessageSecurity",
    "MessageSecurityError",
    "NextOfKin",
    "NokClaims",
    "PatientId",
    "Purpose",
    "ReplayCache",
    "ReplayDetected",
    "SecurityError",
    "SigningCredentials",
    "Transaction",
    "TrcClaims",
    "TreatmentRelationship",
    "TrustStore",
    "VerifiedIdentity",
    "VerifiedMessage",
    "WsSecurityPolicy",
    "XmlSignatureError",
    "build_hcp_assertion",
    "build_nok_assertion",
    "build_security_header",
    "build_trc_assertion",
    "init_pki",
    "load_credentials",
    "sign_envelope",
    "validate_assertions",
    "verify_envelope",
    "verify_message",
]
