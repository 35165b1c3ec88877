"""Professional cards for development and demos: a TLS client certificate whose subject carries
the professional's registry id as ``serialNumber`` (2.5.4.5), as national health professional
cards do, issued by the development CA.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ncp.security import pki
from ncp.security.pki import IssuedCertificate, generate_key


def issue_card(ca: IssuedCertificate, *, common_name: str, registry_id: str,
               country: str = "LU", days: int = 730) -> IssuedCertificate:
    key = generate_key("ec")
    now = pki._now() - pki.CLOCK_SKEW  # the development PKI's one clock
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, country),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, registry_id),
    ])
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(ca.certificate.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca.certificate.public_key()), critical=False)  # type: ignore[arg-type]
        .sign(ca.key, hashes.SHA256())
    )
    return IssuedCertificate(cert, key)


def load_ca(folder: Path) -> IssuedCertificate:
    """The development CA of one country folder of the PKI (``ca.pem``, ``ca.key``)."""
    cert = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), None)
    return IssuedCertificate(cert, key)  # type: ignore[arg-type]


def write_card(card: IssuedCertificate, folder: Path, stem: str, password: str) -> Path:
    """Write ``stem.pem``, ``stem.key`` and ``stem.p12`` (for a browser; owner-only files)."""
    folder.mkdir(parents=True, exist_ok=True)
    key_pem = card.key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    p12 = pkcs12.serialize_key_and_certificates(
        stem.encode(), card.key, card.certificate, None,  # type: ignore[arg-type]
        serialization.BestAvailableEncryption(password.encode()))
    for name, data, private in ((f"{stem}.pem", card.certificate.public_bytes(
            serialization.Encoding.PEM), False), (f"{stem}.key", key_pem, True),
            (f"{stem}.p12", p12, True)):
        path = folder / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    return folder / f"{stem}.p12"
