"""Signing credentials (private key + certificate), parsed once and cached.

Why cache: parsing a PEM private key costs tens of milliseconds (key checks), more than the
signature itself; a gateway signs on every response. The cache key includes the files' mtime and
size, so a rotated key on disk is picked up without a restart.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

__all__ = ["ECDSA_SHA256", "RSA_SHA256", "CredentialSource", "SigningCredentials",
           "load_credentials"]

RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"


@dataclass(frozen=True, slots=True, eq=False)
class SigningCredentials:
    """What a signer needs: the parsed private key and its certificate."""

    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    certificate_der: bytes

    @property
    def signature_method(self) -> str:
        """The XML-DSig SignatureMethod URI for this key (RSA or ECDSA with SHA-256)."""
        if isinstance(self.private_key, ec.EllipticCurvePrivateKey):
            return ECDSA_SHA256
        return RSA_SHA256

    def sign(self, data: bytes) -> bytes:
        """The XML-DSig SignatureValue bytes (PKCS#1 v1.5, or raw r||s for ECDSA)."""
        key = self.private_key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            r, s = utils.decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
            size = (key.curve.key_size + 7) // 8
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    @classmethod
    def from_pem(cls, key_pem: bytes, cert_pem: bytes) -> SigningCredentials:
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError("only RSA and EC signing keys are supported")
        cert = x509.load_pem_x509_certificate(cert_pem)
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        if cert.public_key().public_bytes(serialization.Encoding.DER, spki) != \
                key.public_key().public_bytes(serialization.Encoding.DER, spki):
            raise ValueError("the certificate does not belong to the private key")
        return cls(key, cert, cert.public_bytes(serialization.Encoding.DER))


@functools.lru_cache(maxsize=32)
def _load_cached(key_path: str, cert_path: str, _stamp: tuple[int, ...]) -> SigningCredentials:
    return SigningCredentials.from_pem(Path(key_path).read_bytes(), Path(cert_path).read_bytes())


def load_credentials(key_path: Path, cert_path: Path) -> SigningCredentials:
    """The credentials stored at ``key_path``/``cert_path``, parsed at most once per version."""
    ks, cs = Path(key_path).stat(), Path(cert_path).stat()
    stamp = (ks.st_mtime_ns, ks.st_size, cs.st_mtime_ns, cs.st_size)
    return _load_cached(str(key_path), str(cert_path), stamp)


class CredentialSource:
    """Our signing credentials for a signer that signs on every request (a gateway).

    :func:`load_credentials` looks at both files on every call (two ``stat`` calls and the
    path handling around them, a measurable share of signing a response); this source looks
    at most once per ``recheck`` seconds, so a rotated key is still picked up without a
    restart, within that delay.
    """

    def __init__(self, key_path: Path, cert_path: Path, *, recheck: float = 1.0) -> None:
        self._key_path = Path(key_path)
        self._cert_path = Path(cert_path)
        self._recheck = recheck
        self._lock = threading.Lock()
        self._loaded: SigningCredentials | None = None
        self._checked_at = 0.0

    def __call__(self) -> SigningCredentials:
        now = time.monotonic()
        loaded = self._loaded
        if loaded is not None and now - self._checked_at < self._recheck:
            return loaded
        with self._lock:
            loaded = load_credentials(self._key_path, self._cert_path)
            self._loaded, self._checked_at = loaded, now
        return loaded
