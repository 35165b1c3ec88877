"""What identifies a professional card's client certificate, and whether it is still good.

The TLS layer only checked that the chain ends at one of the anchors of its bundle (gateway
peers' and card issuers' alike) and never looks at a CRL. :class:`CardVerifier` checks the card
again through the trust store, for the ``card`` purpose of our own country: it must chain to a
card-issuer anchor (never a gateway anchor), be within its dates and not be on a fresh, correctly
signed CRL of its issuer (a missing or stale CRL refuses every card: fail closed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from ncp.security.errors import CertificateError
from ncp.security.truststore import Purpose, TrustStore


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


class CardRefused(Exception):
    """A card the trust store refuses; ``reason`` is the trust store's token (``revoked``...)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class CardVerifier:
    """Checks professional cards against our country's card-issuer anchors and their CRLs."""

    def __init__(self, trust: TrustStore, country: str) -> None:
        self.trust = trust
        self.country = country.upper()

    @classmethod
    def from_trust_list(cls, path: Path, country: str) -> CardVerifier:
        return cls(TrustStore(path), country)

    def check(self, certificate: x509.Certificate | str | bytes, now: dt.datetime) -> None:
        """Raise :class:`CardRefused` unless the card is trusted right now (CRL included)."""
        try:
            self.trust.validate(_load(certificate), country=self.country, purpose=Purpose.CARD,
                                now=now)
        except CertificateError as exc:
            raise CardRefused(exc.reason, exc.detail) from None
