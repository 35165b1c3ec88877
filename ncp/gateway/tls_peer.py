"""The TLS client certificate of a request, decoded once per distinct certificate.

The server hands the verified client certificate to the app as PEM with every request
(:mod:`ncp.server`); a foreign gateway sends the same certificate on every request of every
connection. Decoding the PEM and reading the subject for the audit record each time was a
measurable share of a request, so both are remembered per certificate, in bounded LRU caches
(``functools.lru_cache``: thread-safe, and an exception is never remembered). Only the decoding
is cached: the trust check of the certificate (:meth:`ncp.security.MessageSecurity.peer_country`)
still runs on every request, so an expired, revoked or no longer trusted certificate is refused
at once.

:class:`PeerPins` then pins the TLS client, and the message's signers, to the gateway the peers
directory registers for the country (issue 14 item 5).
"""

from __future__ import annotations

import functools
import ssl
import time
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from ncp.security.errors import CertificateError

__all__ = ["PeerPins", "der_of", "subject_of"]

#: The anchors one country is registered with: (TLS anchors, signing anchors).
_Registered = tuple[tuple[x509.Certificate, ...], tuple[x509.Certificate, ...]]

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


class PeerPins:
    """Incoming TLS client and signer certificates pinned to the registered peer gateways.

    The trust list says which CA may vouch for a country; the peers directory
    (:class:`ncp.store.peers.PeerStore`, filled from verified SMP records or by ``ncp peers
    add``) says which gateway *is* that country's. A country registered there with a TLS anchor
    is accepted only from a certificate issued by (or equal to) one of the registered anchor
    certificates, so another certificate under the same national CA (a card, a test
    certificate, another service) is no gateway. With ``require_registered`` a country absent
    from the directory is refused too (fail closed; the production setting). The directory is
    read at most every ``ttl`` seconds per country (it changes by operator action). A
    registered endpoint certificate (what an SMP record carries) pins the client certificate to
    the same issuing CA key.

    Signers (the SAML assertions' and the message signature's, :meth:`check_signer`) are pinned
    the same way to the registered *signing* anchors: a CA anchor accepts what it issued
    directly, a leaf anchor (the gateway's own signing certificate) only itself. A country
    registered without a signing anchor (an SMP record carries only the endpoint certificate)
    has its signers pinned to its TLS anchors, by the same rules as the TLS client: the
    signature of a gateway then still has to come from the issuing CA the directory names.
    """

    def __init__(self, sessions: Any, *, require_registered: bool, ttl: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        from ncp.store.peers import PeerStore

        self.store = PeerStore(sessions)
        self.require_registered = require_registered
        self.ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, _Registered | None]] = {}

    def _registered(self, country: str) -> _Registered | None:
        """The registered (TLS, signing) anchors of ``country``; None when not registered."""
        now = self._clock()
        cached = self._cache.get(country)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        from ncp.store.errors import NotFound

        try:
            peer = self.store.get(country)
        except NotFound:
            found = None
        else:
            found = (_certificates(peer.tls_anchor_pem), _certificates(peer.signing_anchor_pem))
        self._cache[country] = (now, found)
        return found

    def _anchors(self, country: str) -> tuple[x509.Certificate, ...] | None:
        """The registered TLS anchors of ``country``; None when it is not registered."""
        found = self._registered(country)
        return None if found is None else found[0]

    def check(self, country: str, der: bytes) -> None:
        """Raise :class:`CertificateError` unless ``der`` is the registered gateway's."""
        anchors = self._anchors(country)
        if anchors is None:
            if self.require_registered:
                raise CertificateError("unregistered-peer",
                                       f"{country} has no gateway in the peers directory")
            return
        if not anchors:
            return  # registered without a TLS anchor: the trust list alone decides
        if not _pinned(x509.load_der_x509_certificate(der), anchors, siblings=True):
            raise CertificateError("not-pinned", f"the TLS client certificate is not issued by "
                                   f"the anchor registered for {country}'s gateway")

    def check_signer(self, country: str, cert: x509.Certificate) -> None:
        """Raise :class:`CertificateError` unless ``cert`` (a signer the trust list accepted
        for ``country``) is one the directory registers for ``country``'s gateway."""
        found = self._registered(country)
        if found is None:
            if self.require_registered:
                raise CertificateError("unregistered-peer",
                                       f"{country} has no gateway in the peers directory")
            return
        tls, signing = found
        if signing:
            if _pinned(cert, signing, siblings=False):
                return
        elif not tls or _pinned(cert, tls, siblings=True):
            return  # no anchor at all: the trust list alone decides
        raise CertificateError("signer-not-pinned", f"the signer {cert.subject.rfc4514_string()}"
                               f" is not registered for {country}'s gateway in the peers "
                               "directory")


def _certificates(pem: str | None) -> tuple[x509.Certificate, ...]:
    return tuple(x509.load_pem_x509_certificates(pem.encode())) if (pem or "").strip() else ()


def _pinned(cert: x509.Certificate, anchors: tuple[x509.Certificate, ...], *,
            siblings: bool) -> bool:
    """Whether ``cert`` is one of ``anchors``, or issued directly by a CA among them, or (with
    ``siblings``) issued by the same CA key as a leaf among them."""
    for anchor in anchors:
        if cert == anchor:
            return True
        if not _is_ca(anchor):
            # An SMP record registers the endpoint's own (server) certificate: the peer's
            # client certificate is its sibling, issued by the same CA key.
            if siblings and cert.issuer == anchor.issuer and _aki(cert) == _aki(anchor) \
                    is not None:
                return True
            continue
        if cert.issuer == anchor.subject:
            try:
                cert.verify_directly_issued_by(anchor)
                return True
            except (InvalidSignature, ValueError, TypeError):
                continue
    return False


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _aki(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(
            x509.AuthorityKeyIdentifier).value.key_identifier
    except x509.ExtensionNotFound:
        return None
