"""The initiating gateway's client: XCPD, XCA and XDR calls to a foreign NCPeH.

One call::

    body (ncp.ihe build_*) ─ SOAP 1.2 envelope with WS-Addressing (To, MessageID, ReplyTo)
      ─ wsse:Security: timestamp, HCP assertion (+ TRC), message signature (ncp.security);
        not marked mustUnderstand (Axis2 without a WS-Security module faults on it)
      ─ MTOM for XDR documents (signed inline first, then moved into MIME parts; the
        Content-Type carries ``action`` as a top-level parameter, as Axis2 reads it), or
        inline base64 for a peer whose entry says ``xdr=inline``
      ─ HTTPS with our TLS client certificate, the peer's server checked against the peer's
        TLS anchor only (a certificate of another country's CA is refused)
      ─ response: SOAP fault -> error; else reconstituted (MTOM); a signed answer is verified
        against the peer country's signing anchor (trust list); an unsigned one (the
        reference gateway signs none) is accepted only from the TLS server the peer's own
        entry pins; body parsed (ncp.ihe parse_*)
      ─ audit record (ATNA, same event codes as the responding side) in our database

No request leaves without the peer's own home community id (XCPD receiver device, XCA home):
an entry imported from SMP lacks it until ``ncp peers set`` gives it.

Every failure is a :class:`~ncp.peers.errors.CrossBorderError` with a message key for the user.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import ssl
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from lxml import etree

from ncp import soap
from ncp.audit.message import AuditEvent, Outcome, Participant, build_audit_message
from ncp.errors import NcpError
from ncp.ihe import registry, xcpd
from ncp.ihe._xml import XOP_INCLUDE
from ncp.ihe.codes import ClassCode, FormatCode, QueryResponseCode, ResponseStatus, StatusType
from ncp.ihe.identifiers import II, PatientId
from ncp.ihe.rim import Association, Coded, DocumentEntry, RegistryError, SubmissionSet
from ncp.ihe.xca import query as xca_query
from ncp.ihe.xca import retrieve as xca_retrieve
from ncp.ihe.xdr import submit as xdr
from ncp.peers.assertions import AssertionIssuer, Professional
from ncp.peers.errors import CrossBorderError, error_id_in, from_codes, is_generic
from ncp.peers.ism import SearchMask
from ncp.security import MessageSecurity
from ncp.security.errors import SecurityError
from ncp.security.truststore import Purpose
from ncp.settings import Settings
from ncp.store.audit import AuditLog
from ncp.store.peers import ContextInfo, PeerInfo
from ncp.xmlutil import NS, qname

__all__ = ["DiscoveredPatient", "FoundDocuments", "GatewayClient", "default_endpoints",
           "require_home_community"]

log = logging.getLogger("ncp.peers")

#: Paths of our own gateway's SOAP endpoints (ncp.gateway.routes), used for peers running this
#: software when only a base URL is given.
DEFAULT_PATHS = {"ITI-55": "/ws/xcpd", "ITI-38": "/ws/xca", "ITI-39": "/ws/xca",
                 "ITI-41": "/ws/xdr"}
_SERVICE_CLASS = {"ps": ClassCode.PATIENT_SUMMARY, "ep": ClassCode.EPRESCRIPTION}
_EVENTS = {("ITI-55", None): "EHDSI-11", ("ITI-38", "ps"): "EHDSI-21",
           ("ITI-39", "ps"): "EHDSI-22", ("ITI-38", "ep"): "EHDSI-31",
           ("ITI-39", "ep"): "EHDSI-32", ("ITI-41", "ed"): "EHDSI-41",
           ("ITI-41", "discard"): "EHDSI-42"}


def default_endpoints(base_url: str) -> dict[str, str]:
    base = base_url.rstrip("/")
    return {tx: base + path for tx, path in DEFAULT_PATHS.items()}


@dataclass(frozen=True, slots=True)
class DiscoveredPatient:
    """A patient as the visitor's country identified them."""

    patient_id: PatientId
    given_name: str
    family_name: str
    birth_date: str | None
    gender: str | None
    address: str

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


@dataclass(frozen=True, slots=True)
class FoundDocuments:
    entries: tuple[DocumentEntry, ...]
    associations: tuple[Association, ...] = ()
    #: Warnings the peer reported with a success (e.g. 1102 no Patient Summary).
    warnings: tuple[CrossBorderError, ...] = ()
    #: Errors the peer reported *with* documents (the reference gateway answers Success with
    #: documents and an error after an assertion problem): shown beside the documents, and
    #: the professional decides whether to open one (no retrieve follows by itself).
    errors: tuple[CrossBorderError, ...] = ()

    def structured(self) -> list[DocumentEntry]:
        return [e for e in self.entries if e.format_code.code != FormatCode.PDF.value]

    def rendition_of(self, entry: DocumentEntry) -> DocumentEntry | None:
        """The level 1 (PDF) twin of a structured entry, by its XFRM association."""
        for a in self.associations:
            if a.association_type.endswith(":XFRM") and a.target == entry.entry_uuid:
                return next((e for e in self.entries if e.entry_uuid == a.source), None)
        return None


@dataclass
class _Call:
    """What the audit record of one call needs."""

    transaction: registry.Transaction
    service: str | None
    peer: PeerInfo
    who: Professional
    at: dt.datetime
    patient: str | None = None
    objects: list[tuple[str, str, str]] = field(default_factory=list)
    error: CrossBorderError | None = None
    #: An error the peer reported with a result (Success with documents and an error).
    reported: CrossBorderError | None = None


class GatewayClient:
    """Calls foreign gateways on behalf of our professionals."""

    def __init__(self, settings: Settings, *, security: MessageSecurity, issuer: AssertionIssuer,
                 audit: AuditLog | None = None,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                 timeout: float = 30.0, tls_cert: str | None = None,
                 tls_key: str | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.security = security
        self.issuer = issuer
        self.audit = audit
        self.clock = clock
        self.timeout = timeout
        self.tls_cert = tls_cert or str(settings.own_pki_file("tls-client.pem"))
        self.tls_key = tls_key or str(settings.own_pki_file("tls-client.key"))
        self.transport = transport
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ transport

    def _tls(self, peer: PeerInfo) -> ssl.SSLContext:
        """Our client certificate, and only the peer's own TLS anchor(s) as trusted roots."""
        pem = peer.tls_anchor_pem or self._trust_list_pem(peer.country, Purpose.TLS_SERVER)
        if not pem:
            raise CrossBorderError("tls", f"no TLS anchor known for {peer.country}",
                                   country=peer.country)
        cached = self._contexts.get(peer.country + pem)
        if cached is not None:
            return cached
        ctx = ssl.create_default_context(cadata=pem)
        # The entry may pin the server's own certificate (an SMP record publishes the
        # endpoint's certificate): let a certificate of the entry be a trust anchor by itself,
        # not only a self-signed root. Only the entry's certificates are trusted either way.
        ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.tls_cert, self.tls_key)
        self._contexts[peer.country + pem] = ctx
        return ctx

    def _trust_list_pem(self, country: str, purpose: Purpose) -> str:
        trust = self.security.trust.trust_list.countries.get(country.upper())
        if trust is None:
            return ""
        return "".join(a.certificate.public_bytes(Encoding.PEM).decode()
                       for a in trust.anchors if purpose in a.purposes)

    def _http(self, peer: PeerInfo) -> httpx.Client:
        """One connection pool per peer (and TLS anchor): keep-alive saves a TLS handshake,
        which costs about as much as the rest of a call on loopback."""
        key = peer.country + (peer.tls_anchor_pem or "")
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                kwargs: dict[str, object] = {"timeout": self.timeout}
                if self.transport is not None:
                    kwargs["transport"] = self.transport
                else:
                    kwargs["verify"] = self._tls(peer)
                client = httpx.Client(**kwargs)  # type: ignore[arg-type]
                self._clients[key] = client
            return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def _post(self, peer: PeerInfo, url: str, data: bytes, content_type: str
              ) -> tuple[httpx.Response, x509.Certificate | None]:
        """The answer, and the TLS server certificate it came over (read before the body: a
        server that closes the connection after answering takes the TLS session with it)."""
        if not url.startswith("https://"):
            raise CrossBorderError("configuration", f"{url} is not https", country=peer.country)
        try:
            with self._http(peer).stream("POST", url, content=data,
                                         headers={"Content-Type": content_type}) as response:
                server = _server_certificate(response) if self.transport is None else None
                response.read()
                return response, server
        except httpx.ConnectError as exc:
            key = "tls" if "CERTIFICATE" in str(exc).upper() or "SSL" in str(exc).upper() \
                else "unreachable"
            raise CrossBorderError(key, str(exc), country=peer.country) from None
        except httpx.TimeoutException as exc:
            raise CrossBorderError("timeout", str(exc), country=peer.country) from None
        except httpx.HTTPError as exc:
            raise CrossBorderError("unreachable", str(exc), country=peer.country) from None

    def _exchange(self, call: _Call, body: etree._Element, *,
                  assertions: list[etree._Element], mtom: bool = False
                  ) -> tuple[etree._Element, Mapping[str, bytes]]:
        """Send ``body``; return the verified response body element (XOP reconstituted)."""
        peer, tx = call.peer, call.transaction
        url = peer.endpoints.get(tx.iti)
        if not url:
            raise CrossBorderError("configuration", f"no {tx.iti} endpoint for {peer.country}",
                                   country=peer.country)
        require_home_community(peer)
        envelope = soap.build_envelope(body, action=tx.request_action, to=url,
                                       reply_to=soap.ANONYMOUS)
        message_id = envelope.findtext(f"{qname('soap', 'Header')}/{qname('wsa', 'MessageID')}")
        self.security.sign_request(envelope, assertions=assertions, now=call.at)
        attachments = _optimise(envelope) if mtom else {}
        data, content_type = soap.serialize(envelope, attachments=attachments,
                                            mtom=bool(attachments))
        response, server_cert = self._post(peer, url, data, content_type)
        try:
            msg = soap.parse_response(response.content,
                                      response.headers.get("content-type", ""),
                                      max_bytes=self.settings.max_request_bytes * 2)
        except soap.SoapFault as exc:
            raise CrossBorderError("peer_error", f"unreadable answer ({response.status_code}): "
                                   f"{exc.detail}", country=peer.country) from None
        if msg.relates_to != message_id:
            raise CrossBorderError("response_untrusted", "the answer relates to another message",
                                   country=peer.country)
        if msg.body_element.tag == qname("soap", "Fault"):
            raise _fault_error(msg.body_element, peer.country)
        envelope_in = msg.envelope
        if msg.mtom and msg.attachments:
            envelope_in = soap.reconstitute(msg.envelope, msg.attachments)
        if _message_signed(envelope_in):
            try:
                verified = self.security.verify_request(envelope_in, peer_country=peer.country,
                                                        now=self.clock())
            except SecurityError as exc:
                raise CrossBorderError("response_untrusted", f"{exc.reason}: {exc.detail}",
                                       country=peer.country) from None
            if peer.signing_anchor_pem:
                _check_directory_anchor(verified.signer, peer)
            body_in, action = verified.body, verified.action
        else:
            _check_pinned_channel(server_cert, peer)
            body_in, action = envelope_in.find(qname("soap", "Body")), msg.action
        children = [c for c in body_in if isinstance(c.tag, str)]
        if len(children) != 1 or children[0].tag != tx.response_root or \
                action != tx.response_action:
            raise CrossBorderError("peer_error", "unexpected answer", country=peer.country)
        return children[0], msg.attachments

    # ------------------------------------------------------------------ audit

    def _audit(self, call: _Call) -> None:
        if self.audit is None:
            return
        event = _EVENTS.get((call.transaction.iti, call.service), "EHDSI-11")
        card = call.who.card
        error = call.error or call.reported
        outcome = Outcome.SERIOUS_FAILURE if call.error is not None else \
            Outcome.MINOR_FAILURE if call.reported is not None else Outcome.SUCCESS
        record = AuditEvent(
            transaction=call.transaction, ehdsi_event=event,
            outcome=outcome,
            at=call.at,
            human_requestor=Participant(card.registry_id, requestor=True,
                                        user_name=f"{call.who.name}<{card.registry_id}@"
                                                  f"{card.organisation_name}>",
                                        role=(card.isco_code, "ISCO-08", card.profession)),
            service_consumer=Participant(f"urn:oid:{self.settings.home_community_id}",
                                         requestor=True),
            service_provider=Participant(f"urn:oid:{call.peer.home_community_id}"
                                         if call.peer.home_community_id
                                         else f"country:{call.peer.country}"),
            point_of_care=card.organisation_name or None, patient_id=call.patient,
            objects=tuple(call.objects),
            error_code=(error.code or error.key) if error else None,
            error_text=error.key if error else None,
            audit_source_id=f"NCPeH-{self.settings.country_code}")
        try:
            self.audit.record(at=call.at, transaction=call.transaction.iti, event_code=event,
                              outcome=int(record.outcome), patient_ref=call.patient,
                              message=build_audit_message(record))
        except Exception:
            log.exception("audit record of a cross-border call could not be written")
            raise

    def _run(self, call: _Call, fn: Callable[[], object]) -> object:
        try:
            return fn()
        except CrossBorderError as exc:
            call.error = exc
            log.info("cross-border %s to %s refused: %s", call.transaction.iti,
                     call.peer.country, exc)
            raise
        except NcpError as exc:  # the peer's answer does not parse
            call.error = CrossBorderError("peer_error", exc.detail, country=call.peer.country)
            raise call.error from None
        finally:
            self._audit(call)

    # ------------------------------------------------------------------ XCPD

    def discover(self, peer: PeerInfo, who: Professional, *, mask: SearchMask,
                 values: Mapping[str, str], purpose: str = "TREATMENT"
                 ) -> list[DiscoveredPatient]:
        """Patient discovery by the identifiers and traits the country's mask asks for."""
        cleaned = mask.check(dict(values))
        ids, given, family = [], [], []
        birth = gender = None
        for name, value in cleaned.items():
            f = mask.field(name)
            if f.kind == "id":
                ids.append(II(root=f.domain or "", extension=value))
            elif f.kind == "given":
                given.append(value)
            elif f.kind == "family":
                family.append(value)
            elif f.kind == "birth_date":
                birth = value.replace("-", "")
            elif f.kind == "gender":
                gender = value
        names = (xcpd.PersonName(family=tuple(family), given=tuple(given)),) \
            if family or given else ()
        require_home_community(peer)
        own = self.settings.home_community_id
        request = xcpd.PatientDiscoveryRequest(
            message_id=II(root=own, extension=uuid.uuid4().hex), creation_time=xcpd.hl7_now(),
            sender=xcpd.Device(id=II(root=own), home_community_id=own),
            receiver=xcpd.Device(id=II(root=peer.home_community_id),
                                 home_community_id=peer.home_community_id),
            query=xcpd.PatientDiscoveryQuery(query_id=II(root=own, extension=uuid.uuid4().hex),
                                             patient_ids=tuple(ids), names=names,
                                             birth_time=birth, gender=gender))
        call = _Call(registry.ITI_55, None, peer, who, self.clock())
        call.objects.append((request.query.query_id.extension or "", "ITI-55",
                             "Patient discovery query"))

        def go() -> list[DiscoveredPatient]:
            hcp = self.issuer.hcp(who, purpose=purpose, now=call.at,
                                  role_policy=peer.option("role_codes"))
            body, _ = self._exchange(call, xcpd.build_request(request), assertions=[hcp])
            answer = xcpd.parse_response(body)
            if answer.query_response_code is QueryResponseCode.NF:
                raise CrossBorderError("no_match", "NF", country=peer.country)
            if answer.query_response_code is not QueryResponseCode.OK:
                # the dictionary's code first, unless it only says "generic": then the
                # detected issue (DemographicsQueryNotAllowed...) tells what to do
                specific = [(d.code, None) for d in answer.details if not is_generic(d.code)]
                generic = [(d.code, None) for d in answer.details if is_generic(d.code)]
                codes = specific + [(i.code, None) for i in answer.issues] + generic
                text = " ".join(d.text or "" for d in answer.details)
                raise from_codes(codes, default="peer_refused", text=text, country=peer.country)
            found = []
            wanted_roots = {i.root for i in ids}
            for p in answer.patients:
                pid = next((i for i in p.ids if i.root in wanted_roots and i.extension), None)
                if pid is None:
                    continue
                name = p.names[0]
                addr = p.addresses[0] if p.addresses else None
                found.append(DiscoveredPatient(
                    patient_id=PatientId(extension=pid.extension or "", root=pid.root),
                    given_name=" ".join(name.given), family_name=" ".join(name.family),
                    birth_date=_date(p.birth_time), gender=p.gender,
                    address=", ".join(x for x in ((addr.city or "") if addr else "",
                                                  (addr.country or "") if addr else "") if x)))
            if not found:
                raise CrossBorderError("no_match", "no patient in our identifier domain",
                                       country=peer.country)
            call.patient = found[0].patient_id.cx
            return found

        return self._run(call, go)  # type: ignore[return-value]

    # ------------------------------------------------------------------ XCA

    def _pair(self, peer: PeerInfo, who: Professional, ctx: ContextInfo, now: dt.datetime,
              prescription_id: str | None = None) -> list[etree._Element]:
        hcp = self.issuer.hcp(who, purpose=ctx.purpose, now=now,
                              role_policy=peer.option("role_codes"))
        trc = self.issuer.trc(hcp, patient_cx=ctx.patient_cx, purpose=ctx.purpose, now=now,
                              prescription_id=prescription_id)
        return [hcp, trc]

    def find_documents(self, peer: PeerInfo, who: Professional, ctx: ContextInfo,
                       service: str) -> FoundDocuments:
        """XCA FindDocuments for the Patient Summary (``ps``) or ePrescriptions (``ep``)."""
        klass = _SERVICE_CLASS[service]
        patient = PatientId.from_cx(ctx.patient_cx)
        q = xca_query.FindDocumentsQuery(
            patient_id=patient, statuses=(StatusType.APPROVED,),
            class_codes=(Coded(code=klass.value, scheme=klass.coding_scheme),),
            home_community_id=f"urn:oid:{peer.home_community_id}"
            if peer.home_community_id else None)
        call = _Call(registry.ITI_38, service, peer, who, self.clock(), patient=ctx.patient_cx)

        def go() -> FoundDocuments:
            body, _ = self._exchange(call, xca_query.build_request(q),
                                     assertions=self._pair(peer, who, ctx, call.at))
            answer = xca_query.parse_response(body)
            call.objects.extend((e.unique_id, "ITI-38", "Document") for e in answer.entries)
            errors = [e for e in answer.errors if e.severity.name == "ERROR"]
            warnings = tuple(from_codes([(e.error_code, e.code_context) for e in group],
                                        default="peer_refused", country=peer.country)
                             for group in _conditions(e for e in answer.errors
                                                      if e.severity.name != "ERROR"))
            if answer.status is ResponseStatus.FAILURE or (errors and not answer.entries):
                raise from_codes([(e.error_code, e.code_context) for e in errors] or
                                 [(None, None)], default="peer_refused", country=peer.country)
            shown = tuple(from_codes([(e.error_code, e.code_context) for e in group],
                                     default="peer_refused", country=peer.country)
                          for group in _conditions(errors))
            if shown:
                call.reported = shown[0]
                log.warning("%s answered %s with %d documents and errors %s", peer.country,
                            answer.status.name, len(answer.entries),
                            [e.code for e in shown])
            return FoundDocuments(answer.entries, answer.associations, warnings, shown)

        return self._run(call, go)  # type: ignore[return-value]

    def retrieve(self, peer: PeerInfo, who: Professional, ctx: ContextInfo,
                 entry: DocumentEntry, service: str,
                 prescription_id: str | None = None) -> xca_retrieve.DocumentResponse:
        """XCA retrieve of one document (MTOM or inline answers alike)."""
        req = xca_retrieve.RetrieveRequest(documents=(xca_retrieve.DocumentRequest(
            repository_unique_id=entry.repository_unique_id or "",
            document_unique_id=entry.unique_id,
            home_community_id=entry.home_community_id),))
        call = _Call(registry.ITI_39, service, peer, who, self.clock(), patient=ctx.patient_cx)
        call.objects.append((entry.unique_id, "ITI-39", "Document"))

        def go() -> xca_retrieve.DocumentResponse:
            body, _ = self._exchange(call, xca_retrieve.build_request(req),
                                     assertions=self._pair(peer, who, ctx, call.at,
                                                           prescription_id))
            answer = xca_retrieve.parse_response(body)
            docs = [d for d in answer.documents if d.document_unique_id == entry.unique_id]
            if not docs:
                raise from_codes([(e.error_code, e.code_context) for e in answer.errors] or
                                 [(None, None)], default="unknown_document",
                                 country=peer.country)
            return docs[0]

        return self._run(call, go)  # type: ignore[return-value]

    # ------------------------------------------------------------------ XDR

    def submit_dispensation(self, peer: PeerInfo, who: Professional, ctx: ContextInfo, *,
                            document: bytes, unique_id: str, prescription_id: str,
                            discard: bool = False) -> None:
        """Send an eDispensation (or its discard) to the visitor's country; raises when the
        country refuses it."""
        patient = PatientId.from_cx(ctx.patient_cx)
        now = self.clock()
        stamp = now.strftime("%Y%m%d%H%M%S")
        own = self.settings.home_community_id
        klass = ClassCode.EDISPENSATION_DISCARD if discard else ClassCode.EDISPENSATION
        fmt = FormatCode.EDISPENSATION_DISCARD if discard else FormatCode.EDISPENSATION
        card = who.card
        entry = DocumentEntry(
            entry_uuid=f"urn:uuid:{uuid.uuid4()}", unique_id=unique_id, patient_id=patient,
            mime_type="text/xml",
            class_code=Coded(code=klass.value, scheme=klass.coding_scheme,
                             display="eDispensation" if not discard else "Discard"),
            format_code=Coded(code=fmt.value, scheme="eHDSI formatCodes", display=fmt.value),
            confidentiality_codes=(Coded(code="N", scheme="2.16.840.1.113883.5.25",
                                         display="Normal"),),
            type_code=Coded(code=ClassCode.EDISPENSATION.value, scheme="2.16.840.1.113883.6.1",
                            display="eDispensation"),
            healthcare_facility_type_code=Coded(code="Pharmacy", scheme="eHDSI facility types",
                                                display="Pharmacy"),
            practice_setting_code=Coded(code="Other", scheme="eHDSI practice settings",
                                        display="Other"),
            title="eDispensation" if not discard else "eDispensation discard",
            creation_time=stamp, language_code="en-GB", source_patient_id=patient.cx,
            size=len(document), hash=hashlib.sha1(document).hexdigest(),  # noqa: S324 - XDS
            home_community_id=None)
        submission = SubmissionSet(
            entry_uuid=f"urn:uuid:{uuid.uuid4()}",
            unique_id=f"{own}.9.{uuid.uuid4().int % 10**18}", source_id=own,
            patient_id=patient, submission_time=stamp,
            content_type_code=Coded(code=klass.value, scheme=klass.coding_scheme,
                                    display="eDispensation"),
            title=f"{card.organisation_name}"[:100] or None)
        request = xdr.ProvideAndRegisterRequest(
            submission_set=submission,
            documents=(xdr.SubmittedDocument(entry=entry, content=document),))
        call = _Call(registry.ITI_41, "discard" if discard else "ed", peer, who, now,
                     patient=ctx.patient_cx)
        call.objects.append((unique_id, "ITI-41", "Document"))

        def go() -> None:
            body, _ = self._exchange(call, xdr.build_request(request),
                                     assertions=self._pair(peer, who, ctx, now,
                                                           prescription_id),
                                     mtom=peer.option("xdr") == "mtom")
            answer = xdr.parse_response(body)
            if answer.status is not ResponseStatus.SUCCESS or any(
                    e.severity.name == "ERROR" for e in answer.errors):
                raise from_codes([(e.error_code, e.code_context) for e in answer.errors] or
                                 [(None, None)], default="peer_refused", country=peer.country)

        self._run(call, go)


def _conditions(errors: Iterable[RegistryError]) -> list[list[RegistryError]]:
    """The RegistryErrors grouped by the condition they report: a peer may send one condition
    as two errors with one error id (the dictionary's code, then IHE's, as ours does); each
    group becomes one message."""
    groups: dict[str, list[RegistryError]] = {}
    out: list[list[RegistryError]] = []
    for e in errors:
        error_id = error_id_in(e.code_context)
        if error_id is None:
            out.append([e])
        elif error_id in groups:
            groups[error_id].append(e)
        else:
            groups[error_id] = [e]
            out.append(groups[error_id])
    return out


def _optimise(envelope: etree._Element) -> dict[str, bytes]:
    """Move each base64 ``xds:Document`` of the signed envelope into a MIME part (MTOM).

    Done after signing, as XOP intends: the receiver reconstitutes the inline form, which is
    what the signature covers."""
    attachments: dict[str, bytes] = {}
    for n, el in enumerate(envelope.iter(qname("xds", "Document")), start=1):
        if len(el) or not (el.text or "").strip():
            continue
        cid = f"doc{n}.{uuid.uuid4().hex}@ncp.invalid"
        attachments[cid] = base64.b64decode(el.text)
        el.text = None
        etree.SubElement(el, XOP_INCLUDE, nsmap={"xop": NS["xop"]}).set("href", f"cid:{cid}")
    return attachments


def require_home_community(peer: PeerInfo) -> None:
    """Refuse, before anything is sent, to call a peer whose entry lacks its home community
    id: XCPD would name our own community as the receiver and the peer would answer
    "Receiver has wrong Home Community ID" (``ncp peers list`` shows what is missing)."""
    if not peer.home_community_id:
        raise CrossBorderError("configuration", f"no home community id known for "
                               f"{peer.country} (ncp peers set {peer.country} "
                               "--home-community-id OID)", country=peer.country)


def _message_signed(envelope: etree._Element) -> bool:
    """Whether the answer carries a message signature (a ``ds:Signature`` directly in a
    ``wsse:Security`` header; the assertions' own signatures do not count)."""
    header = envelope.find(qname("soap", "Header"))
    if header is None:
        return False
    return any(sec.find(qname("ds", "Signature")) is not None
               for sec in header.findall(qname("wsse", "Security")))


def _server_certificate(response: httpx.Response) -> x509.Certificate | None:
    """The TLS server certificate the answer came over (None when it cannot be told)."""
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if ssl_object is None:
        return None
    try:
        der = ssl_object.getpeercert(True)  # positional: httpcore hands the C object
    except (ValueError, OSError, TypeError):
        return None
    return x509.load_der_x509_certificate(der) if der else None


def _check_pinned_channel(server: x509.Certificate | None, peer: PeerInfo) -> None:
    """An unsigned answer is trusted only for the channel it came over: mutual TLS to the
    server the peer's entry pins. The handshake already chained the server certificate to
    the entry's TLS anchor; here it must also be that anchor or directly issued by it (no
    intermediate the entry does not name) and name the peer's country, and the entry must
    hold an anchor of its own (a trust-list fallback pins the country, not the peer)."""
    if not peer.tls_anchor_pem:
        raise CrossBorderError("response_untrusted", "unsigned answer, and the peer's entry "
                               "pins no TLS server", country=peer.country)
    if server is None:
        raise CrossBorderError("response_untrusted", "unsigned answer over a channel whose "
                               "server certificate is unknown", country=peer.country)
    countries = {a.value for a in server.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)}
    if countries and countries != {peer.country.upper()}:
        raise CrossBorderError("response_untrusted", f"unsigned answer from a TLS server of "
                               f"{', '.join(sorted(map(str, countries)))}", country=peer.country)
    for anchor in x509.load_pem_x509_certificates(peer.tls_anchor_pem.encode()):
        if server == anchor:
            return
        try:
            server.verify_directly_issued_by(anchor)
            return
        except (ValueError, TypeError, InvalidSignature):
            continue
    raise CrossBorderError("response_untrusted", "unsigned answer from a TLS server the "
                           "peer's entry does not pin", country=peer.country)


def _check_directory_anchor(signer: x509.Certificate | None, peer: PeerInfo) -> None:
    """The answer's signer must also be issued by the signing anchor the peers directory holds
    for this country (the trust list already checked the chain to the country's anchors; the
    directory can narrow it, e.g. to the CA an SMP record names)."""
    if signer is None:
        raise CrossBorderError("response_untrusted", "the answer is not signed",
                               country=peer.country)
    for anchor in x509.load_pem_x509_certificates((peer.signing_anchor_pem or "").encode()):
        if signer == anchor:
            return
        try:
            signer.verify_directly_issued_by(anchor)
            return
        except (ValueError, TypeError, InvalidSignature):
            continue
    raise CrossBorderError("response_untrusted", "the answer's signer is not issued by the "
                           "directory's signing anchor", country=peer.country)


def _fault_error(fault: etree._Element, country: str) -> CrossBorderError:
    """A SOAP fault from the peer: its subcode and reason, mapped when we know them."""
    values = [v.text or "" for v in fault.iter(qname("soap", "Value"))]
    reason = " ".join(t.text or "" for t in fault.iter(qname("soap", "Text")))
    subcodes = [v.split(":", 1)[-1] for v in values[1:]]
    if any(s in ("InvalidSecurity", "FailedCheck", "SecurityTokenUnavailable",
                 "FailedAuthentication", "MessageExpired") for s in subcodes):
        key = "security"
    elif values and values[0].endswith("Receiver"):
        key = "peer_error"
    else:
        key = "peer_refused"
    return CrossBorderError(key, f"SOAP fault {values}: {reason}", code=subcodes[-1]
                            if subcodes else None, peer_error_id=error_id_in(reason),
                            country=country)


def _date(hl7: str | None) -> str | None:
    if not hl7 or len(hl7) < 8:
        return hl7
    return f"{hl7[0:4]}-{hl7[4:6]}-{hl7[6:8]}"


def certificate_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(Encoding.PEM).decode()
