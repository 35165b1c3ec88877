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
    issuer: str  # the issuing CA: RFC 4514 name '#' authority key identifier (hex)
    subject_serial: str | None  # the subject's serialNumber attribute (2.5.4.5), if any
    subject: str


def _load(certificate: x509.Certificate | str | bytes) -> x509.Certificate:
    if isinstance(certificate, str | bytes):
        data = certificate.encode() if isinstance(certificate, str) else certificate
        return x509.load_pem_x509_certificate(data)
    return certificate


def ca_identity(ca: x509.Certificate | str | bytes) -> str:
    """How cards name their issuing CA: its name and its key identifier.

    Why the key identifier: two CAs may carry the same name (a foreign anchor could copy the
    national card CA's name); the key identifier ties the card to the CA's key, which the TLS
    layer checked (OpenSSL refuses an authority key identifier that does not match its issuer).
    """
    ca = _load(ca)
    try:
        ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        ski = x509.SubjectKeyIdentifier.from_public_key(ca.public_key()).digest  # type: ignore[arg-type]
    return f"{ca.subject.rfc4514_string()}#{ski.hex()}"


def identify(certificate: x509.Certificate | str | bytes) -> CardIdentity:
    certificate = _load(certificate)
    try:
        aki = certificate.extensions.get_extension_for_class(
            x509.AuthorityKeyIdentifier).value.key_identifier
    except x509.ExtensionNotFound:
        aki = None
    serials = certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    serial = str(serials[0].value).strip() if serials else None
    return CardIdentity(
        fingerprint=certificate.fingerprint(hashes.SHA256()).hex(),
        issuer=f"{certificate.issuer.rfc4514_string()}#{aki.hex() if aki else ''}",
        subject_serial=serial or None,
        subject=certificate.subject.rfc4514_string(),
    )
