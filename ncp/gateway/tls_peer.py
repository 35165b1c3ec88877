"""The TLS client certificate of a request, decoded once per distinct certificate.

The server hands the verified client certificate to the app as PEM with every request
(:mod:`ncp.server`); a foreign gateway sends the same certificate on every request of every
connection. Decoding the PEM and reading the subject for the audit record each time was a
measurable share of a request, so both are remembered per certificate (DER bytes), in a bounded
LRU. Only the decoding is cached: the trust check of the certificate
(:meth:`ncp.security.MessageSecurity.peer_country`) still runs on every request, so an expired,
revoked or no longer trusted certificate is refused at once.
"""

from __future__ import annotations

import ssl
import threading
from collections import OrderedDict

from cryptography import x509

__all__ = ["TlsPeerCache"]


class TlsPeerCache:
    """PEM -> DER, and DER -> subject (RFC 4514), at most ``size`` certificates of each."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._der: OrderedDict[str, bytes] = OrderedDict()
        self._subject: OrderedDict[bytes, str] = OrderedDict()

    def der(self, pem: str) -> bytes:
        """The DER bytes of ``pem``; :class:`ValueError` when it is not one PEM certificate."""
        with self._lock:
            der = self._der.get(pem)
            if der is not None:
                self._der.move_to_end(pem)
                return der
        der = ssl.PEM_cert_to_DER_cert(pem)  # ValueError for garbage: not remembered
        with self._lock:
            self._remember(self._der, pem, der)
        return der

    def subject(self, der: bytes) -> str:
        """The subject of the certificate ``der`` (call after it was validated)."""
        with self._lock:
            subject = self._subject.get(der)
            if subject is not None:
                self._subject.move_to_end(der)
                return subject
        subject = x509.load_der_x509_certificate(der).subject.rfc4514_string()
        with self._lock:
            self._remember(self._subject, der, subject)
        return subject

    def _remember(self, table: OrderedDict, key: object, value: object) -> None:  # type: ignore[type-arg]
        table[key] = value
        table.move_to_end(key)
        while len(table) > self._size:
            table.popitem(last=False)
