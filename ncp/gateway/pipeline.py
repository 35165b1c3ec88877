"""The one pipeline every request of the responding gateway goes through.

::

    bytes ─ soap.parse_request ─ transaction_for (action ∈ endpoint) ─ TLS peer certificate
      ─ WS-Security (message signature, timestamp) ─ XSD of the body that was verified
      ─ ihe parse ─ assertions (HCP/TRC/NoK, TLS country = signer country, replay)
      ─ the transaction's service (consent, policy-filtered store, transform)
      ─ ihe build ─ soap envelope ─ WS-Security signature ─ MTOM ─ bytes
    and on every exit: the ATNA audit record (ncp.gateway.exchange).

Fail closed: a check that fails ends the request with a SOAP fault (envelope, transport and
message security) or with the transaction's own error answer (assertions, consent, patient,
documents), and neither carries metadata or documents. Whatever was computed before the failure
is dropped with the request. An unexpected exception is a Receiver fault with an error id, the
traceback stays in our log.

The parts of the message the services see are taken from the *verified* envelope (signature
wrapping defence), and with MTOM from its reconstituted copy (a signature covers the XOP
infoset, W3C XOP 1.0 §3): what was checked is what is used. Our answer is signed over its
inline form first and optimised into MIME parts afterwards, so a peer that reconstitutes the
message, as XOP requires, verifies exactly what we signed.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from lxml import etree

from ncp import soap
from ncp.consent import ConsentService
from ncp.eprescription import EPrescriptionService
from ncp.errors import ErrorCode, NcpError
from ncp.gateway.exchange import Exchange, write_audit
from ncp.gateway.faults import SecurityFault, TransportRefused, from_security_error
from ncp.gateway.tls_peer import PeerPins, der_of, subject_of
from ncp.ihe import registry, schemas
from ncp.ihe._xml import XOP_INCLUDE
from ncp.ihe.codes import Service
from ncp.ihe.identifiers import PatientId
from ncp.observability import exchange_done
from ncp.patient_summary import CrossBorderDocuments, EntryFactory, PatientSummaryService
from ncp.security import MessageSecurity
from ncp.security.errors import SecurityError
from ncp.security.permissions import Transaction as SecurityTransaction
from ncp.security.validation import VerifiedIdentity
from ncp.security.wssecurity import VerifiedMessage
from ncp.settings import Settings
from ncp.store.audit import AuditLog
from ncp.store.dsp import Records
from ncp.store.policy import Actor
from ncp.store.vocabulary import Profession
from ncp.store.volumes import RequestVolumes
from ncp.xmlutil import NS, qname

__all__ = ["ENDPOINTS", "Gateway", "Handler", "Response", "SecurityFault", "Subject", "actor_of"]

log = logging.getLogger("ncp.gateway")

#: Which transactions each SOAP endpoint serves (XCA query and retrieve share one service).
ENDPOINTS: dict[str, frozenset[str]] = {
    "xcpd": frozenset({"ITI-55"}),
    "xca": frozenset({"ITI-38", "ITI-39"}),
    "xdr": frozenset({"ITI-41"}),
}


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP answer: body, Content-Type, status."""

    body: bytes
    content_type: str
    status: int = 200


@dataclass(frozen=True, slots=True)
class Subject:
    """What a parsed request asks about, as the assertion checks need it."""

    security_transaction: SecurityTransaction
    service: Service
    patient: PatientId | None


class Handler(Protocol):
    """One transaction's face: parse, name its subject, answer, refuse."""

    transaction: registry.Transaction

    def parse(self, body: etree._Element) -> Any: ...

    def subject(self, request: Any, message: VerifiedMessage) -> Subject: ...

    def answer(self, gateway: Gateway, ex: Exchange, request: Any,
               identity: VerifiedIdentity) -> etree._Element: ...

    def refuse(self, gateway: Gateway, ex: Exchange, request: Any | None,
               error: NcpError) -> etree._Element: ...


#: ISCO-08 role -> the DSP profession the store's vocabulary knows (for the access log; the
#: cross-border rules of the policy do not depend on it).
def _profession(isco: str) -> Profession:
    if isco in ("2262", "3213"):
        return Profession.PHARMACIST
    if isco == "2222" or isco.startswith("3222"):
        return Profession.MIDWIFE
    if isco.startswith("222") or isco.startswith("322"):
        return Profession.NURSE
    if isco == "2261":
        return Profession.DENTIST
    if isco == "2264":
        return Profession.PHYSIOTHERAPIST
    return Profession.PHYSICIAN


def actor_of(identity: VerifiedIdentity) -> Actor:
    """The store's actor for a verified foreign professional."""
    hcp = identity.hcp
    return Actor.foreign(name=hcp.name, organisation=hcp.point_of_care,
                         country=identity.country, profession=_profession(hcp.role_code))


def _optimise(envelope: etree._Element) -> dict[str, bytes]:
    """Move each base64 ``xds:Document`` of the (signed) body into a MIME part (MTOM)."""
    attachments: dict[str, bytes] = {}
    for n, el in enumerate(envelope.iter(qname("xds", "Document")), start=1):
        if len(el) or not (el.text or "").strip():
            continue
        try:  # our own base64 (no line breaks): the strict decoder is a third faster
            data = binascii.a2b_base64(el.text, strict_mode=True)
        except binascii.Error:
            data = base64.b64decode(el.text)
        cid = f"document{n}.{id(envelope):x}@ncp.invalid"
        attachments[cid] = data
        el.text = None
        include = etree.SubElement(el, XOP_INCLUDE, nsmap={"xop": NS["xop"]})
        include.set("href", f"cid:{cid}")
    return attachments


class _AuditUnavailable(Exception):
    """The audit record of an exchange could not be written: its answer must not leave."""

    def __init__(self, error: NcpError, message_id: str | None) -> None:
        super().__init__(error.detail)
        self.error = error
        self.message_id = message_id


class Gateway:
    """The responding gateway: services, security and audit of one process."""

    def __init__(
        self,
        *,
        settings: Settings,
        security: MessageSecurity,
        audit: AuditLog,
        consent: ConsentService,
        summaries: PatientSummaryService,
        prescriptions: EPrescriptionService,
        documents: CrossBorderDocuments,
        entries: EntryFactory,
        handlers: dict[str, Handler],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        validate_request_schema: bool = True,
        volumes: RequestVolumes | None = None,
        pins: PeerPins | None = None,
    ) -> None:
        self.settings = settings
        self.security = security
        self.audit = audit
        self.consent = consent
        self.summaries = summaries
        self.prescriptions = prescriptions
        self.documents = documents
        self.entries = entries
        self.handlers = handlers
        self.clock = clock
        self.validate_request_schema = validate_request_schema
        #: Request volumes per peer, professional and patient (None: not counted).
        self.volumes = volumes
        #: TLS client certificates pinned to the peers directory (None: trust list only).
        self.pins = pins
        self.provider = f"urn:oid:{settings.home_community_id}"

    @property
    def records(self) -> Records:
        return self.summaries.records

    # ------------------------------------------------------------------ the pipeline

    def handle(self, endpoint: str, body: bytes, content_type: str, *,
               peer_certificate_pem: str | None, peer_host: str | None = None) -> Response:
        """Answer one HTTP request of ``endpoint`` (see the module docstring).

        When the audit record cannot be written (database down, disk full) the answer that was
        computed is dropped and the peer gets a Receiver fault with HTTP 503 at once: nothing
        leaves unaudited, and the peer learns to retry instead of waiting on a broken
        connection (bench/faults.py, outage).
        """
        try:
            return self._handle(endpoint, body, content_type,
                                peer_certificate_pem=peer_certificate_pem, peer_host=peer_host)
        except _AuditUnavailable as exc:
            data, ct, _ = soap.build_fault(exc.error, relates_to=exc.message_id)
            return Response(data, ct, 503)

    def _handle(self, endpoint: str, body: bytes, content_type: str, *,
                peer_certificate_pem: str | None, peer_host: str | None) -> Response:
        started = time.perf_counter()
        now = self.clock()
        ex = Exchange(endpoint=endpoint, at=now, peer_host=peer_host, provider=self.provider)
        msg: soap.SoapMessage | None = None
        try:
            msg = soap.parse_request(body, content_type,
                                     max_bytes=self.settings.max_request_bytes)
            ex.message_id = msg.message_id
            tx = soap.transaction_for(msg)
            if tx.iti not in ENDPOINTS[endpoint]:
                raise soap.ActionNotSupportedFault("action of another endpoint")
            ex.transaction = tx
            handler = self.handlers[tx.iti]
            country = self._peer_country(peer_certificate_pem, now, ex)
            envelope = msg.envelope
            if msg.mtom and msg.attachments:
                envelope = soap.reconstitute(msg.envelope, msg.attachments)
            try:
                verified = self.security.verify_request(envelope, peer_country=country, now=now)
            except SecurityError as exc:
                raise from_security_error(exc) from None
            body_el = self._verified_body(verified, tx)
            answer = self._transaction(handler, ex, verified, body_el, country, now)
            return self._respond(answer, tx, msg, now)
        except soap.SoapFault as fault:
            ex.error = fault
            log.info("gateway fault %s (%s): %s", fault.error_id, type(fault).__name__,
                     fault.detail)
            data, ct, status = soap.build_fault(fault,
                                                relates_to=msg.message_id if msg else None)
            return Response(data, ct, status)
        except Exception as exc:
            ex.crashed = True
            # The class only (never the message) in the audit detail, for `ncp explain`.
            internal = NcpError(ErrorCode.GENERIC, f"internal error ({type(exc).__name__})")
            ex.error = internal
            log.exception("gateway internal error %s", internal.error_id)
            data, ct, _ = soap.build_fault(internal, relates_to=msg.message_id if msg else None)
            return Response(data, ct, 500)
        finally:
            audit_ids: list[int] | None = None
            try:
                audit_ids = write_audit(self.audit, ex)
            except Exception as exc:
                log.exception("audit record could not be written")
                ex.crashed = True
                ex.error = NcpError(ErrorCode.GENERIC, "audit record could not be written")
                raise _AuditUnavailable(ex.error, ex.message_id) from exc
            finally:  # metrics and the exchange's log line, also when the audit failed
                exchange_done(ex, audit_ids, time.perf_counter() - started)

    def _peer_country(self, pem: str | None, now: dt.datetime, ex: Exchange) -> str:
        if not pem:
            raise TransportRefused("no TLS client certificate", check="no-client-certificate")
        try:
            der = der_of(pem)
        except ValueError:
            raise TransportRefused("unreadable TLS client certificate") from None
        try:
            country = self.security.peer_country(der, now=now)  # trust checked every time
            if self.pins is not None:
                self.pins.check(country, der)
        except SecurityError as exc:
            raise TransportRefused(exc.detail, check=exc.reason) from None
        ex.peer_country = country
        ex.peer_subject = subject_of(der)
        return country

    @staticmethod
    def _verified_body(verified: VerifiedMessage, tx: registry.Transaction) -> etree._Element:
        children = [c for c in verified.body if isinstance(c.tag, str)]
        if len(children) != 1 or children[0].tag != tx.request_root:
            raise soap.EnvelopeError("the verified Body does not hold the request")
        return children[0]

    def _transaction(self, handler: Handler, ex: Exchange, verified: VerifiedMessage,
                     body_el: etree._Element, country: str, now: dt.datetime) -> etree._Element:
        """Parse, identify, answer; any NcpError becomes the transaction's refusal."""
        request: Any | None = None
        try:
            if self.validate_request_schema:
                schemas.validate_body(body_el, handler.transaction, "request")
            request = handler.parse(body_el)
            subject = handler.subject(request, verified)
            ex.service = subject.service
            ex.patient = subject.patient
            identity = self.security.identify(
                verified, transaction=subject.security_transaction,
                patient_id=subject.patient,
                peer_country=country, now=now)
            ex.identity = identity
            return handler.answer(self, ex, request, identity)
        except soap.SoapFault:
            raise
        except NcpError as exc:
            ex.error = exc
            log.info("gateway refusal %s %s: %s", exc.error_id, exc.error.code, exc.detail)
            return handler.refuse(self, ex, request, exc)

    def _respond(self, body_el: etree._Element, tx: registry.Transaction,
                 msg: soap.SoapMessage, now: dt.datetime) -> Response:
        envelope = soap.build_envelope(body_el, action=tx.response_action,
                                       relates_to=msg.message_id)
        self.security.sign_response(envelope, now=now)
        attachments = _optimise(envelope) if tx.mtom_response else {}
        data, ct = soap.serialize(envelope, attachments=attachments,
                                  mtom=tx.mtom_response and bool(attachments))
        return Response(data, ct, 200)
