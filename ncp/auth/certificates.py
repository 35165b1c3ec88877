"""What identifies a professional card's client certificate: fingerprint, issuer, subject serial.

The TLS layer has verified the chain against the TLS-client anchors; this module only reads the
certificate it passed on (``ncp.server.client_cert_pem``).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID


@dataclass(frozen=True, slots=True)
class CardIdentity:
    fingerprint: str  # SHA-256 of the DER certificate, lower-case hex
    issuer: str  # RFC 4514 issuer distinguished name
    subject_serial: str | None  # the subject's serialNumber attribute (2.5.4.5), if any
    subject: str


def identify(certificate: x509.Certificate | str | bytes) -> CardIdentity:
    if isinstance(certificate, str | bytes):
        data = certificate.encode() if isinstance(certificate, str) else certificate
        certificate = x509.load_pem_x509_certificate(data)
    serials = certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    serial = str(serials[0].value).strip() if serials else None
    return CardIdentity(
        fingerprint=certificate.fingerprint(hashes.SHA256()).hex(),
        issuer=certificate.issuer.rfc4514_string(),
        subject_serial=serial or None,
        subject=certificate.subject.rfc4514_string(),
    )
