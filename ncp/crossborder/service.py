"""The cross-border service behind the doctor's and pharmacist's pages (country B).

The pages only translate forms into calls of :class:`CrossBorder` and its answers into pages;
the rules live here: which country, which search mask, who is identified, the treatment
relationship confirmed with its purpose, which documents may be opened, what a dispensation
contains (whole or partial, substitution only where the prescription allows it), the discard
window. Every call abroad goes through :class:`~ncp.peers.client.GatewayClient` (assertions,
signatures, audit).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from lxml import etree
from sqlalchemy import Engine

from ncp.audit.message import Outcome
from ncp.cda.dispensation import Dispensation, build_dispensation
from ncp.cda.kinds import DocumentKind, detect_kind
from ncp.cda.model import Address, Coded, Organisation, Person
from ncp.cda.model import Professional as CdaProfessional
from ncp.ihe.rim import DocumentEntry
from ncp.ihe.xca.retrieve import DocumentResponse
from ncp.peers.assertions import AssertionIssuer, Professional
from ncp.peers.audit import record_trc
from ncp.peers.client import DiscoveredPatient, FoundDocuments, GatewayClient
from ncp.peers.errors import CrossBorderError
from ncp.peers.ism import SearchMask, parse_search_mask
from ncp.security import MessageSecurity
from ncp.security.keys import load_credentials
from ncp.settings import Settings
from ncp.store.audit import AuditLog
from ncp.store.db import session_factory
from ncp.store.errors import InvalidInput, NotFound
from ncp.store.keys import KeyRingSource
from ncp.store.peers import (
    ContextInfo,
    CrossBorderStore,
    DispensationInfo,
    PeerInfo,
    PeerStore,
    professional_card,
)
from ncp.xmlutil import NS, XmlInputError, parse_xml

__all__ = ["CrossBorder", "Prescription", "read_prescription"]

PURPOSES = ("TREATMENT", "EMERGENCY")
#: How long an identified visitor and a confirmed relationship stay usable (TRC maximum).
CONTEXT_LIFETIME = dt.timedelta(hours=2)
#: An unconfirmed identification must be confirmed within this time.
PENDING_LIFETIME = dt.timedelta(minutes=15)
_NO_SUBSTITUTION = {"N", "NOSUB", "none"}


@dataclass(frozen=True, slots=True)
class Prescription:
    """What a pharmacist needs to know of one foreign pivot ePrescription."""

    document_id: str
    product: str
    packages: int
    substitution_allowed: bool
    content: bytes


def read_prescription(content: bytes) -> Prescription:
    """Read a pivot ePrescription (first prescription item; eHDSI eP carry one per document
    as exchanged by XCA entries)."""
    try:
        root = parse_xml(content)
    except XmlInputError as exc:
        raise CrossBorderError("peer_error", f"the ePrescription is not XML: {exc}") from None
    if detect_kind(root) is not DocumentKind.EPRESCRIPTION:
        raise CrossBorderError("peer_error", "the document is not an eHDSI ePrescription")
    ns = {"h": NS["hl7"]}
    doc_id = root.find("h:id", ns)
    items = root.xpath(".//h:substanceAdministration[h:templateId/@root="
                       "'1.3.6.1.4.1.12559.11.10.1.3.1.3.2']", namespaces=ns)
    item = items[0] if items else None
    if item is None or doc_id is None:
        raise CrossBorderError("peer_error", "the ePrescription has no prescription item")
    name = item.findtext(".//{*}manufacturedMaterial/{*}name") or ""
    quantities = item.xpath("h:entryRelationship/h:supply[@moodCode='RQO']/h:quantity",
                            namespaces=ns)
    quantity = quantities[0] if quantities else None
    try:
        packages = int(float(quantity.get("value", "1"))) if quantity is not None else 1
    except ValueError:
        packages = 1
    substs = item.xpath("h:entryRelationship/h:observation[h:code/@code='SUBST']/h:value",
                        namespaces=ns)
    subst = substs[0] if substs else None
    allowed = subst is not None and (subst.get("code") or "N") not in _NO_SUBSTITUTION
    ext = doc_id.get("extension")
    return Prescription(document_id=f"{doc_id.get('root')}^{ext}" if ext else
                        doc_id.get("root", ""), product=name.strip(),
                        packages=max(packages, 1), substitution_allowed=allowed,
                        content=content)


class CrossBorder:
    """One per process: peers, contexts, the client, our issuer of assertions."""

    def __init__(self, settings: Settings, engine: Engine, *,
                 keys: KeyRingSource | None = None,
                 client: GatewayClient | None = None,
                 clock: callable = lambda: dt.datetime.now(dt.UTC)) -> None:  # type: ignore[valid-type]
        sessions = session_factory(engine)
        self.settings = settings
        self.sessions = sessions
        self.peers = PeerStore(sessions)
        if keys is None:
            keys = KeyRingSource.from_file(settings.master_keys_path,
                                           create=settings.environment == "development")
        self.store = CrossBorderStore(sessions, keys)
        self.clock = clock
        self.audit = AuditLog(sessions, keys)
        if client is None:
            security = MessageSecurity.from_settings(settings)
            issuer = AssertionIssuer(country=settings.country_code, credentials=load_credentials(
                settings.signing_key_path, settings.signing_cert_path),
                home_community_id=settings.home_community_id)
            client = GatewayClient(settings, security=security, issuer=issuer, audit=self.audit,
                                   clock=clock)
        self.client = client
        self.discard_window = dt.timedelta(hours=settings.discard_window_hours)

    # ------------------------------------------------------------------ who

    def professional(self, professional_id: int, login_method: str) -> Professional:
        return Professional(professional_card(self.sessions, professional_id), login_method)

    # ------------------------------------------------------------------ countries

    def countries(self) -> list[PeerInfo]:
        return [p for p in self.peers.all() if p.country != self.settings.country_code
                and "ITI-55" in p.endpoints]

    def peer(self, country: str) -> PeerInfo:
        if len(country) != 2 or not country.isalpha():
            raise NotFound("no such country")
        return self.peers.get(country.upper())

    def mask(self, peer: PeerInfo) -> SearchMask:
        if not peer.search_mask:
            raise CrossBorderError("configuration", f"no search mask for {peer.country}",
                                   country=peer.country)
        return parse_search_mask(peer.search_mask.encode(), peer.country)

    # ------------------------------------------------------------------ identify and confirm

    def identify(self, who: Professional, account_id: int, country: str,
                 values: dict[str, str]) -> list[ContextInfo]:
        """XCPD with the mask's fields; each match becomes a pending (unconfirmed) context."""
        peer = self.peer(country)
        found: list[DiscoveredPatient] = self.client.discover(peer, who, mask=self.mask(peer),
                                                              values=values)
        now = self.clock()
        return [self.store.open_context(account_id=account_id, country=peer.country,
                                        patient_cx=p.patient_id.cx, patient_name=p.name,
                                        birth_date=p.birth_date, gender=p.gender, purpose="",
                                        now=now, lifetime=PENDING_LIFETIME) for p in found]

    def confirm(self, who: Professional, account_id: int, token: str,
                purpose: str) -> ContextInfo:
        """The professional confirms the treatment relationship and its purpose; from now on
        our gateway vouches for it in TRC assertions (audited, EHDSI-92)."""
        if purpose not in PURPOSES:
            raise InvalidInput("purpose must be TREATMENT or EMERGENCY")
        now = self.clock()
        ctx = self.store.confirm_context(token, account_id=account_id, purpose=purpose,
                                         now=now, lifetime=CONTEXT_LIFETIME)
        peer = self.peers.get(ctx.country)
        card = who.card
        record_trc(self.audit, at=now, outcome=Outcome.SUCCESS,
                   professional_id=card.registry_id, professional_name=who.name,
                   isco=card.isco_code, organisation=card.organisation_name,
                   consumer=f"urn:oid:{self.settings.home_community_id}",
                   provider=f"urn:oid:{peer.home_community_id}" if peer.home_community_id
                   else f"country:{peer.country}",
                   patient_cx=ctx.patient_cx, context=f"context:{ctx.token[:8]}",
                   purpose=purpose, source_id=f"NCPeH-{self.settings.country_code}")
        return ctx

    def context(self, account_id: int, token: str, *, confirmed: bool = True) -> ContextInfo:
        ctx = self.store.context(token, account_id=account_id, now=self.clock())
        if confirmed and ctx.purpose not in PURPOSES:
            raise NotFound("the treatment relationship is not confirmed")
        return ctx

    # ------------------------------------------------------------------ documents

    def documents(self, who: Professional, ctx: ContextInfo, service: str) -> FoundDocuments:
        return self.client.find_documents(self.peer(ctx.country), who, ctx, service)

    def retrieve(self, who: Professional, ctx: ContextInfo, *, unique_id: str, repository: str,
                 home: str | None, service: str) -> DocumentResponse:
        entry = _entry_ref(unique_id, repository, home, ctx)
        return self.client.retrieve(self.peer(ctx.country), who, ctx, entry, service)

    # ------------------------------------------------------------------ dispensing

    def dispense(self, who: Professional, account_id: int, ctx: ContextInfo, *,
                 unique_id: str, repository: str, home: str | None, packages: int,
                 substitute: bool) -> DispensationInfo:
        """Dispense (whole or part of) a foreign ePrescription and report it by XDR.

        The prescription is fetched again from its country so the eDispensation is built on
        the authoritative document; partial dispensing is fewer packages than prescribed;
        substitution is refused here when the prescription does not allow it."""
        doc = self.retrieve(who, ctx, unique_id=unique_id, repository=repository, home=home,
                            service="ep")
        prescription = read_prescription(doc.document)
        already = sum(d.packages for d in self.dispensations(account_id, ctx)
                      if d.prescription_id == prescription.document_id and d.status == "sent")
        remaining = prescription.packages - already
        if remaining < 1:
            raise InvalidInput(f"nothing remains to dispense: {already} of "
                               f"{prescription.packages} packages already dispensed here",
                               key="xb.form.nothing_remains", already=already,
                               prescribed=prescription.packages)
        if not 1 <= packages <= remaining:
            raise InvalidInput(f"between 1 and {remaining} packages: {prescription.packages} "
                               f"prescribed, {already} already dispensed here",
                               key="xb.form.packages" if remaining > 1 else "xb.form.one_package",
                               remaining=remaining, already=already,
                               prescribed=prescription.packages)
        if substitute and not prescription.substitution_allowed:
            raise CrossBorderError("substitution_local",
                                   "the prescription does not allow substitution",
                                   country=ctx.country)
        now = self.clock()
        card = who.card
        own = self.settings.home_community_id
        pharmacy = Organisation(f"{own}.30", card.organisation_identifier or "PHARMACY",
                                card.organisation_name or "Pharmacy",
                                Address("", "", "", self.settings.country_code), "tel:+352")
        pharmacist = CdaProfessional(f"{own}.20", card.registry_id,
                                     Person(card.given_name, card.family_name),
                                     Coded(card.isco_code, "2.16.840.1.113883.2.9.6.2.7",
                                           "Pharmacists", "ISCO"), pharmacy, "tel:+352")
        extension = f"ED{now:%Y%m%d%H%M%S}{uuid.uuid4().hex[:6]}"
        content = build_dispensation(prescription.content, Dispensation(
            id_root=f"{own}.40", id_extension=extension, when=now, pharmacist=pharmacist,
            pharmacy=pharmacy, packages=packages, substituted=substitute, language="en-GB"))
        xds_unique_id = f"{own}.40.{uuid.uuid4().int % 10**20}"
        try:
            self.client.submit_dispensation(self.peer(ctx.country), who, ctx, document=content,
                                            unique_id=xds_unique_id,
                                            prescription_id=prescription.document_id)
        except CrossBorderError as exc:
            self.store.record_dispensation(
                account_id=account_id, country=ctx.country, patient_cx=ctx.patient_cx,
                prescription_id=prescription.document_id, document_unique_id=xds_unique_id,
                document_id=f"{own}.40^{extension}", product=prescription.product,
                packages=packages, substituted=substitute, content=content, status="refused",
                outcome=exc.key, now=now, keep_content=self.discard_window)
            raise
        return self.store.record_dispensation(
            account_id=account_id, country=ctx.country, patient_cx=ctx.patient_cx,
            prescription_id=prescription.document_id, document_unique_id=xds_unique_id,
            document_id=f"{own}.40^{extension}", product=prescription.product,
            packages=packages, substituted=substitute, content=content, status="sent",
            outcome="accepted", now=now, keep_content=self.discard_window)

    def dispensations(self, account_id: int, ctx: ContextInfo) -> list[DispensationInfo]:
        return self.store.dispensations_for(account_id, ctx.country, ctx.patient_cx)

    def can_discard(self, d: DispensationInfo) -> bool:
        return d.status == "sent" and self.clock() - d.sent_at <= self.discard_window

    def discard(self, who: Professional, account_id: int, ctx: ContextInfo,
                dispensation_id: int) -> DispensationInfo:
        d = self.store.dispensation(dispensation_id, account_id=account_id)
        if d.country != ctx.country or d.patient_cx != ctx.patient_cx:
            raise NotFound("no such dispensation for this patient")
        if not self.can_discard(d):
            raise CrossBorderError("discard_window", "outside the discard window",
                                   country=ctx.country)
        self.client.submit_dispensation(
            self.peer(ctx.country), who, ctx, document=d.content,
            unique_id=f"{self.settings.home_community_id}.41.{uuid.uuid4().int % 10**20}",
            prescription_id=d.prescription_id, discard=True)
        self.store.mark_discarded(d.id, outcome="discarded", now=self.clock())
        return self.store.dispensation(d.id, account_id=account_id)


def _entry_ref(unique_id: str, repository: str, home: str | None,
               ctx: ContextInfo) -> DocumentEntry:
    """The minimal entry a retrieve needs (ids only), from what the query returned."""
    from ncp.ihe.identifiers import PatientId
    from ncp.ihe.rim import Coded as XdsCoded

    if not unique_id or len(unique_id) > 200 or len(repository) > 200 or \
            (home is not None and len(home) > 200):
        raise InvalidInput("not a document reference")
    placeholder = XdsCoded(code="-", scheme="-")
    return DocumentEntry(entry_uuid="urn:uuid:00000000-0000-0000-0000-000000000000",
                         unique_id=unique_id, patient_id=PatientId.from_cx(ctx.patient_cx),
                         mime_type="text/xml", class_code=placeholder, format_code=placeholder,
                         confidentiality_codes=(placeholder,), repository_unique_id=repository,
                         home_community_id=home or None)


def l1_pdf(document: bytes) -> bytes | None:
    """The PDF inside an eHDSI level 1 CDA (nonXMLBody), or None."""
    import base64

    try:
        root = parse_xml(document)
    except XmlInputError:
        return None
    text = root.findtext(f".//{{{NS['hl7']}}}nonXMLBody/{{{NS['hl7']}}}text")
    if not text:
        return None
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except ValueError:
        return None
    return data if data.startswith(b"%PDF") else None


_ = etree
