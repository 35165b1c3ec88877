"""The TLS client certificate of a request, decoded once per distinct certificate.

The server hands the verified client certificate to the app as PEM with every request
(:mod:`ncp.server`); a foreign gateway sends the same certificate on every request of every
connection. Decoding the PEM and reading the subject for the audit record each time was a
measurable share of a request, so both are remembered per certificate, in bounded LRU caches
(``functools.lru_cache``: thread-safe, and an exception is never remembered). Only the decoding
is cached: the trust check of the certificate (:meth:`ncp.security.MessageSecurity.peer_country`)
still runs on every request, so an expired, revoked or no longer trusted certificate is refused
at once.
"""

from __future__ import annotations

import functools
import ssl

from cryptography import x509

__all__ = ["der_of", "subject_of"]

#: Distinct client certificates remembered (one or two per partner country).
CACHED_CERTIFICATES = 256


@functools.lru_cache(maxsize=CACHED_CERTIFICATES)
def der_of(pem: str) -> bytes:
    """The DER bytes of ``pem``; :class:`ValueError` when it is not one PEM certificate."""
    return ssl.PEM_cert_to_DER_cert(pem)


@functools.lru_cache(maxsize=CACHED_CERTIFICATES)
def subject_of(der: bytes) -> str:
    """The subject (RFC 4514) of the certificate ``der`` (call after it was validated)."""
    return x509.load_der_x509_certificate(der).subject.rfc4514_string()
