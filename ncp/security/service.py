"""One object the gateway holds for message security: trust, validation, signing.

The responding side calls, per request::

    country = security.peer_country(tls_peer_der, now=now)           # TLS client -> country
    message = security.verify_request(envelope, peer_country=country, now=now)
    ... parse the body (ncp.ihe) to learn the transaction and the patient ...
    identity = security.identify(message, transaction=..., patient_id=..., peer_country=country,
                                 now=now)
    ... build the response envelope ...
    security.sign_response(response_envelope, now=now)

and the initiating side uses :meth:`sign_request` with the assertions it issued.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509
from lxml import etree
from sqlalchemy.orm import Session

from ncp.security.errors import CertificateError
from ncp.security.keys import CredentialSource, SigningCredentials
from ncp.security.permissions import Transaction
from ncp.security.replay import DatabaseReplayCache, InMemoryReplayCache, ReplayCache
from ncp.security.truststore import Purpose, TrustStore
from ncp.security.validation import (
    AssertionPolicy,
    AssertionValidator,
    PatientId,
    VerifiedIdentity,
)
from ncp.security.wssecurity import (
    VerifiedMessage,
    WsSecurityPolicy,
    build_security_header,
    sign_envelope,
    verify_envelope,
)
from ncp.settings import Settings

__all__ = ["MessageSecurity", "SignerPins"]


class SignerPins(Protocol):
    """Who may sign for a country beyond what the trust list says: the gateway the peers
    directory registers (:class:`ncp.gateway.tls_peer.PeerPins`)."""

    def check_signer(self, country: str, cert: x509.Certificate) -> None:
        """Raise :class:`~ncp.security.errors.CertificateError` unless ``cert`` may sign."""


@dataclass(frozen=True, kw_only=True)
class MessageSecurity:
    """Trust store, assertion validator, WS-Security policy and our signing credentials."""

    trust: TrustStore
    validator: AssertionValidator
    wss_policy: WsSecurityPolicy
    credentials: Callable[[], SigningCredentials]
    #: Our own country: never a peer. Our anchors are in the trust list (our answers, the
    #: initiating side), but no certificate of ours, and nothing else under our CA, is a
    #: foreign gateway calling us.
    own_country: str = ""
    #: Signer certificates (assertions and message) pinned to the registered peer gateways;
    #: None: the trust list alone decides (a library use without a peers directory).
    pins: SignerPins | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        session_factory: Callable[[], Session] | None = None,
        *,
        wss_policy: WsSecurityPolicy | None = None,
        assertion_policy: AssertionPolicy | None = None,
        replay: ReplayCache | None = None,
    ) -> MessageSecurity:
        """Build from settings; the replay cache is the database's when a session factory is
        given (always, for a gateway: several processes must share it)."""
        trust = TrustStore(settings.trust_list_path)
        if replay is None:
            replay = (DatabaseReplayCache(session_factory) if session_factory is not None
                      else InMemoryReplayCache())
        key_path, cert_path = settings.signing_key_path, settings.signing_cert_path
        return cls(
            trust=trust,
            validator=AssertionValidator(
                trust, replay,
                assertion_policy or AssertionPolicy(replay_scope=settings.replay_scope)),
            wss_policy=wss_policy or WsSecurityPolicy(
                require_message_signature=settings.require_message_signature,
                require_timestamp=settings.require_timestamp),
            credentials=CredentialSource(key_path, cert_path),
            own_country=settings.country_code.upper(),
        )

    def peer_country(self, tls_peer_der: bytes, *, now: dt.datetime) -> str:
        """The country of the TLS client, after validating its certificate for ``tls-client``
        (card anchors are listed for ``card`` only, so a professional card is never a peer);
        our own country is refused."""
        country = self.trust.tls_peer_country(tls_peer_der, now=now, purpose=Purpose.TLS_CLIENT)
        if country == self.own_country:
            raise CertificateError("own-country", f"{country} is our own country, not a peer")
        return country

    def verify_request(self, envelope: etree._Element, *, peer_country: str,
                       now: dt.datetime) -> VerifiedMessage:
        return verify_envelope(envelope, trust=self.trust, peer_country=peer_country, now=now,
                               policy=self.wss_policy, signer_pin=self._pin)

    @property
    def _pin(self) -> Callable[[str, x509.Certificate], None] | None:
        return self.pins.check_signer if self.pins is not None else None

    def identify(
        self,
        message: VerifiedMessage,
        *,
        transaction: Transaction,
        patient_id: PatientId | str | None,
        peer_country: str,
        now: dt.datetime,
    ) -> VerifiedIdentity:
        return self.validator.validate(message.assertions, transaction=transaction,
                                       patient_id=patient_id, peer_country=peer_country,
                                       now=now, message_id=message.message_id,
                                       indexed=(message.envelope, message.ids) if message.ids
                                       else None,
                                       read=message.read_assertion,
                                       signer_pin=self._pin)

    def sign_request(self, envelope: etree._Element, *, assertions: Sequence[etree._Element],
                     now: dt.datetime) -> None:
        """Add ``wsse:Security`` with the assertions and a timestamp, then sign the message."""
        build_security_header(envelope, assertions=assertions, now=now)
        sign_envelope(envelope, self.credentials())

    def sign_response(self, envelope: etree._Element, *, now: dt.datetime) -> None:
        """Add ``wsse:Security`` with a timestamp, then sign Body, Timestamp and addressing."""
        self.sign_request(envelope, assertions=(), now=now)
