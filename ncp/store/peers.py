"""The initiating side's tables: foreign gateways, cross-border contexts, sent dispensations.

* ``peer_gateways``: the directory of foreign NCPeH (country, home community id, one endpoint
  URL per IHE transaction, the TLS and signing trust anchors, the International Search Mask);
  filled by ``ncp peers import-smp`` (a verified SMP record) or ``ncp peers add``.
* ``crossborder_contexts``: what a local professional established with a visitor's country:
  the patient identified by XCPD, and the treatment relationship confirmed with its purpose.
  The TRC assertions are issued from it, per request, for as long as it lives (at most 2 h,
  the TRC lifetime). Keyed by a random token and bound to the account that confirmed it.
* ``crossborder_dispensations``: each eDispensation our pharmacists sent abroad, with the
  document itself (a discard re-sends it with the discard class code) and its outcome.

This module is the only place the initiating side speaks SQL.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Integer, LargeBinary, String, Text, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from ncp.store import sealed
from ncp.store.crypto import Sealed, TamperedContent, open_text, seal_text
from ncp.store.db import reading
from ncp.store.errors import ContentTampered, NotFound
from ncp.store.keys import KeyRingSource
from ncp.store.models import Base, Professional, UtcDateTime
from ncp.store.sealed import (
    binding,
    field_aad,
    on_reseal,
    open_obj,
    reseal_plaintext,
    seal_obj,
)

__all__ = [
    "PEER_OPTIONS",
    "ContextInfo",
    "CrossBorderContext",
    "CrossBorderStore",
    "DispensationInfo",
    "PeerGateway",
    "PeerInfo",
    "PeerStore",
    "ProfessionalCard",
    "SentDispensation",
    "check_options",
    "professional_card",
]


class PeerGateway(Base):
    """One foreign NCPeH."""

    __tablename__ = "peer_gateways"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    country: Mapped[str] = mapped_column(String(2), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    home_community_id: Mapped[str] = mapped_column(String(64))
    #: JSON object: IHE transaction ("ITI-55", "ITI-38", "ITI-39", "ITI-41") -> endpoint URL.
    endpoints: Mapped[str] = mapped_column(Text)
    #: PEM certificates: the anchors the peer's TLS server and its signatures must chain to.
    tls_anchor_pem: Mapped[str | None] = mapped_column(Text, nullable=True)
    signing_anchor_pem: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The country's International Search Mask (XML as published), if known.
    search_mask: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Where the entry comes from: "manual", "smp:<participant>"...
    source: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    #: JSON object of per-peer interoperability choices (see :data:`PEER_OPTIONS`).
    options: Mapped[str | None] = mapped_column(Text, nullable=True)


#: Per-peer choices and their allowed values (first = default): which ISCO role code the HCP
#: assertion carries (:mod:`ncp.peers.roles`), and whether XDR documents travel as MTOM parts
#: or inline base64.
PEER_OPTIONS: dict[str, tuple[str, ...]] = {"role_codes": ("group", "precise"),
                                            "xdr": ("mtom", "inline")}


def check_options(options: dict[str, str]) -> dict[str, str]:
    """``options`` if every key and value is known, else ValueError."""
    for key, value in options.items():
        allowed = PEER_OPTIONS.get(key)
        if allowed is None:
            raise ValueError(f"unknown peer option {key!r} (one of {', '.join(PEER_OPTIONS)})")
        if value not in allowed:
            raise ValueError(f"{key} must be one of {', '.join(allowed)}")
    return dict(sorted(options.items()))


@sealed.table('patient_name_sealed', 'birth_date_sealed', pk='token')
class CrossBorderContext(Base):
    """A visitor identified abroad and the treatment relationship a professional confirmed."""

    __tablename__ = "crossborder_contexts"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer, index=True)
    country: Mapped[str] = mapped_column(String(2))
    #: HL7 CX of the patient in the visitor's country (``ext^^^&root&ISO``).
    patient_cx: Mapped[str] = mapped_column(String(300))
    patient_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    birth_date: Mapped[str | None] = mapped_column(String(20), nullable=True)
    #: Sealed values (issue 14, finding 8): each ``x_sealed`` is ``x`` under this row's data key,
    #: wrapped by the master key ``key_id`` (:mod:`ncp.store.sealed`). The plaintext column is
    #: empty for rows written since; older rows keep it until ``ncp keys reseal``.
    key_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary(64), nullable=True)
    patient_name_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    birth_date_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    gender: Mapped[str | None] = mapped_column(String(4), nullable=True)
    #: TREATMENT or EMERGENCY.
    purpose: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


@sealed.table('ciphertext', 'product_sealed')
class SentDispensation(Base):
    """An eDispensation submitted to a visitor's country, and what became of it."""

    __tablename__ = "crossborder_dispensations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer, index=True)
    country: Mapped[str] = mapped_column(String(2))
    patient_cx: Mapped[str] = mapped_column(String(300))
    prescription_id: Mapped[str] = mapped_column(String(200))
    #: XDS uniqueId of the eD document entry; and the CDA id (root^extension).
    document_unique_id: Mapped[str] = mapped_column(String(200), unique=True)
    document_id: Mapped[str] = mapped_column(String(200))
    #: Empty since sealed (``product_sealed``, under the row's data key, which stays when the
    #: eD itself is emptied after the discard window).
    product: Mapped[str | None] = mapped_column(String(300), nullable=True)
    product_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    #: 0: the eD's associated data the document unique id alone; 1: also the country and the
    #: patient (:mod:`ncp.store.peers`).
    aad_version: Mapped[int] = mapped_column(Integer, default=1, server_default="0")
    packages: Mapped[int] = mapped_column(Integer)
    substituted: Mapped[int] = mapped_column(Integer)
    #: The eD sent, encrypted like every document at rest (AES-256-GCM under a data key wrapped
    #: by the master key ``key_id``); emptied (NULL) once the discard window has passed.
    key_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary(64), nullable=True)
    nonce: Mapped[bytes | None] = mapped_column(LargeBinary(12), nullable=True)
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    #: "sent", "refused", "discarded".
    status: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    discarded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


@dataclass(frozen=True, slots=True)
class PeerInfo:
    country: str
    name: str
    home_community_id: str
    endpoints: dict[str, str]
    tls_anchor_pem: str | None
    signing_anchor_pem: str | None
    search_mask: str | None
    source: str
    updated_at: dt.datetime
    options: dict[str, str] = field(default_factory=dict)

    def option(self, key: str) -> str:
        """The peer's choice for ``key``, or its default."""
        return self.options.get(key) or PEER_OPTIONS[key][0]


@dataclass(frozen=True, slots=True)
class ContextInfo:
    token: str
    account_id: int
    country: str
    patient_cx: str
    patient_name: str
    birth_date: str | None
    gender: str | None
    purpose: str
    created_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class DispensationInfo:
    id: int
    account_id: int
    country: str
    patient_cx: str
    prescription_id: str
    document_unique_id: str
    document_id: str
    product: str
    packages: int
    substituted: bool
    status: str
    outcome: str
    sent_at: dt.datetime
    discarded_at: dt.datetime | None
    content: bytes = field(repr=False, default=b"")


@dataclass(frozen=True, slots=True)
class ProfessionalCard:
    """What an HCP identity assertion says about one of our professionals."""

    professional_id: int
    registry_id: str
    given_name: str
    family_name: str
    profession: str
    isco_code: str
    organisation_identifier: str
    organisation_name: str
    organisation_kind: str


def professional_card(sessions: sessionmaker[Session], professional_id: int) -> ProfessionalCard:
    """The registry facts of a professional (read only, no access-log row: no patient data)."""
    with sessions() as s:
        prof = s.get(Professional, professional_id)
        if prof is None:
            raise NotFound("unknown professional")
        org = prof.organisation
        return ProfessionalCard(prof.id, prof.registry_id, prof.given_name, prof.family_name,
                                prof.profession, prof.isco_code,
                                org.identifier if org else "", org.name if org else "",
                                org.kind if org else "")


def professional_card_by_registry_id(sessions: sessionmaker[Session],
                                     registry_id: str) -> ProfessionalCard:
    """The registry facts of the professional with national registry id ``registry_id``."""
    with sessions() as s:
        found = s.scalar(select(Professional.id).where(
            Professional.registry_id == registry_id.upper()))
    if found is None:
        raise NotFound("unknown professional")
    return professional_card(sessions, found)


def _peer(row: PeerGateway) -> PeerInfo:
    return PeerInfo(row.country, row.name, row.home_community_id, json.loads(row.endpoints),
                    row.tls_anchor_pem, row.signing_anchor_pem, row.search_mask, row.source,
                    row.updated_at, json.loads(row.options) if row.options else {})


#: The sealed values of a cross-border context: the visitor's identity as found abroad.
CONTEXT_FIELDS = ("patient_name", "birth_date")
#: Version of a sent eDispensation's associated data: 0, the document unique id alone; 1, also
#: the country, the visitor and the prescription, with the product sealed beside it.
SENT_AAD_VERSION = 1


def context_aad(token: str, account_id: int, country: str, patient_cx: str) -> bytes:
    """A context's binding: its token, the professional's account, the visitor."""
    return binding("ncp-context-v1", token, account_id, country, patient_cx)


def sent_aad(version: int, document_unique_id: str, country: str, patient_cx: str,
             prescription_id: str) -> bytes:
    if version == 0:
        return document_unique_id.encode()
    return binding("ncp-sent-ed-v1", document_unique_id, country, patient_cx, prescription_id)


def _row_sent_aad(row: SentDispensation) -> bytes:
    return sent_aad(row.aad_version, row.document_unique_id, row.country, row.patient_cx,
                    row.prescription_id)


def _context(row: CrossBorderContext, keys: KeyRingSource) -> ContextInfo:
    try:
        values = open_obj(keys.get, row, CONTEXT_FIELDS, context_aad(
            row.token, row.account_id, row.country, row.patient_cx))
    except TamperedContent:
        raise ContentTampered("a stored cross-border context failed its integrity check"
                              ) from None
    return ContextInfo(row.token, row.account_id, row.country, row.patient_cx,
                       values["patient_name"] or "", values["birth_date"], row.gender,
                       row.purpose, row.created_at, row.expires_at)


def _dispensation(row: SentDispensation, keys: KeyRingSource,
                  *, with_content: bool = True) -> DispensationInfo:
    content = b""
    product = row.product or ""
    try:
        if row.product_sealed is not None and row.key_id is not None:
            assert row.wrapped_key is not None
            key = keys.get(row.key_id).data_key(row.key_id, row.wrapped_key)
            product = open_text(key, row.product_sealed,
                                field_aad(_row_sent_aad(row), "product")) or ""
        if with_content and row.ciphertext is not None:
            assert row.key_id is not None and row.wrapped_key is not None
            assert row.nonce is not None
            content = keys.get(row.key_id).open(
                Sealed(row.key_id, row.wrapped_key, row.nonce, row.ciphertext),
                aad=_row_sent_aad(row))
    except TamperedContent:
        raise ContentTampered("a stored eDispensation failed its integrity check") from None
    return DispensationInfo(row.id, row.account_id, row.country, row.patient_cx,
                            row.prescription_id, row.document_unique_id, row.document_id,
                            product, row.packages, bool(row.substituted), row.status,
                            row.outcome, row.sent_at, row.discarded_at, content)


class _Tx:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions() as s, s.begin():
            yield s


class PeerStore(_Tx):
    """The directory of foreign gateways."""

    def upsert(self, *, country: str, name: str, home_community_id: str,
               endpoints: dict[str, str], source: str, now: dt.datetime,
               tls_anchor_pem: str | None = None, signing_anchor_pem: str | None = None,
               search_mask: str | None = None, merge: bool = True,
               options: dict[str, str] | None = None) -> PeerInfo:
        """Create or update the entry of ``country``. With ``merge`` the given endpoints are
        added to the known ones and empty values leave the stored ones in place (an SMP record
        describes one transaction at a time)."""
        country = country.upper()
        with self._tx() as s:
            row = s.scalar(select(PeerGateway).where(PeerGateway.country == country))
            if row is None:
                row = PeerGateway(country=country, name=name, home_community_id=home_community_id,
                                  endpoints="{}", source=source, updated_at=now)
                s.add(row)
            known = json.loads(row.endpoints) if merge else {}
            known.update(endpoints)
            row.endpoints = json.dumps(dict(sorted(known.items())))
            if name or not merge:
                row.name = name
            if home_community_id or not merge:
                row.home_community_id = home_community_id
            for attr, value in (("tls_anchor_pem", tls_anchor_pem),
                                ("signing_anchor_pem", signing_anchor_pem),
                                ("search_mask", search_mask)):
                if value is not None or not merge:
                    setattr(row, attr, value)
            if options is not None or not merge:
                known_options = json.loads(row.options) if merge and row.options else {}
                known_options.update(options or {})
                row.options = json.dumps(check_options(known_options)) if known_options else None
            row.source = source
            row.updated_at = now
            s.flush()
            return _peer(row)

    def get(self, country: str) -> PeerInfo:
        with reading(self._sessions) as s:
            row = s.scalar(select(PeerGateway).where(PeerGateway.country == country.upper()))
            if row is None:
                raise NotFound(f"no gateway known for {country}")
            return _peer(row)

    def all(self) -> list[PeerInfo]:
        with reading(self._sessions) as s:
            return [_peer(r) for r in s.scalars(select(PeerGateway)
                                                .order_by(PeerGateway.country))]

    def remove(self, country: str) -> bool:
        with self._tx() as s:
            result = s.execute(delete(PeerGateway).where(PeerGateway.country == country.upper()))
            return bool(result.rowcount)


class CrossBorderStore(_Tx):
    """Contexts (identified visitor + confirmed relationship) and sent dispensations."""

    def __init__(self, sessions: sessionmaker[Session], keys: KeyRingSource) -> None:
        super().__init__(sessions)
        self._keys = keys

    def open_context(self, *, account_id: int, country: str, patient_cx: str,
                     patient_name: str, birth_date: str | None, gender: str | None,
                     purpose: str, now: dt.datetime, lifetime: dt.timedelta) -> ContextInfo:
        with self._tx() as s:
            s.execute(delete(CrossBorderContext).where(CrossBorderContext.expires_at <= now))
            row = CrossBorderContext(token=secrets.token_urlsafe(24), account_id=account_id,
                                     country=country.upper(), patient_cx=patient_cx,
                                     gender=gender, purpose=purpose, created_at=now,
                                     expires_at=now + lifetime)
            seal_obj(self._keys.current(), row, context_aad(
                row.token, account_id, row.country, patient_cx),
                {"patient_name": patient_name[:300], "birth_date": birth_date})
            s.add(row)
            s.flush()
            return _context(row, self._keys)

    def context(self, token: str, *, account_id: int, now: dt.datetime) -> ContextInfo:
        """The live context ``token`` of ``account_id`` (another account's is not found)."""
        with reading(self._sessions) as s:
            row = s.get(CrossBorderContext, token)
            if row is None or row.account_id != account_id or row.expires_at <= now:
                raise NotFound("no such cross-border context")
            return _context(row, self._keys)

    def confirm_context(self, token: str, *, account_id: int, purpose: str, now: dt.datetime,
                        lifetime: dt.timedelta) -> ContextInfo:
        """Record the confirmed relationship and its purpose; the context then lives
        ``lifetime`` from now."""
        with self._tx() as s:
            row = s.get(CrossBorderContext, token)
            if row is None or row.account_id != account_id or row.expires_at <= now:
                raise NotFound("no such cross-border context")
            row.purpose = purpose
            row.expires_at = now + lifetime
            s.flush()
            return _context(row, self._keys)

    def contexts_of(self, account_id: int, now: dt.datetime) -> list[ContextInfo]:
        with reading(self._sessions) as s:
            rows = s.scalars(select(CrossBorderContext)
                             .where(CrossBorderContext.account_id == account_id,
                                    CrossBorderContext.expires_at > now)
                             .order_by(CrossBorderContext.created_at.desc()))
            return [_context(r, self._keys) for r in rows]

    def record_dispensation(self, *, account_id: int, country: str, patient_cx: str,
                            prescription_id: str, document_unique_id: str, document_id: str,
                            product: str, packages: int, substituted: bool, content: bytes,
                            status: str, outcome: str, now: dt.datetime,
                            keep_content: dt.timedelta = dt.timedelta(hours=24)
                            ) -> DispensationInfo:
        """Record a sent (or refused) eDispensation. Its document is kept only as long as a
        discard may need it (``keep_content``): older copies are emptied here, so the clinical
        content of past dispensations does not accumulate on the initiating side."""
        with self._tx() as s:
            s.execute(update(SentDispensation)
                      .where(SentDispensation.sent_at < now - keep_content,
                             SentDispensation.ciphertext.is_not(None))
                      .values(nonce=None, ciphertext=None))  # the key stays: the product
            aad = sent_aad(SENT_AAD_VERSION, document_unique_id, country.upper(), patient_cx,
                           prescription_id)
            key_id, wrapped, key = self._keys.current().envelope()
            nonce = os.urandom(12)
            row = SentDispensation(account_id=account_id, country=country.upper(),
                                   patient_cx=patient_cx, prescription_id=prescription_id,
                                   document_unique_id=document_unique_id,
                                   document_id=document_id, product=None,
                                   product_sealed=seal_text(key, product[:300],
                                                            field_aad(aad, "product")),
                                   aad_version=SENT_AAD_VERSION,
                                   packages=packages, substituted=int(substituted),
                                   key_id=key_id, wrapped_key=wrapped, nonce=nonce,
                                   ciphertext=AESGCM(key).encrypt(nonce, content, aad),
                                   status=status, outcome=outcome,
                                   sent_at=now, discarded_at=None)
            s.add(row)
            s.flush()
            return _dispensation(row, self._keys)

    def dispensation(self, dispensation_id: int, *, account_id: int) -> DispensationInfo:
        with reading(self._sessions) as s:
            row = s.get(SentDispensation, dispensation_id)
            if row is None or row.account_id != account_id:
                raise NotFound("no such dispensation")
            return _dispensation(row, self._keys)

    def dispensations_for(self, account_id: int, country: str,
                          patient_cx: str) -> list[DispensationInfo]:
        with reading(self._sessions) as s:
            rows = s.scalars(select(SentDispensation)
                             .where(SentDispensation.account_id == account_id,
                                    SentDispensation.country == country.upper(),
                                    SentDispensation.patient_cx == patient_cx)
                             .order_by(SentDispensation.id.desc()))
            return [_dispensation(r, self._keys, with_content=False) for r in rows]

    def mark_discarded(self, dispensation_id: int, *, outcome: str, now: dt.datetime) -> None:
        with self._tx() as s:
            row = s.get(SentDispensation, dispensation_id)
            if row is None:
                raise NotFound("no such dispensation")
            row.status = "discarded"
            row.outcome = outcome
            row.discarded_at = now


@on_reseal("crossborder_contexts")
def _reseal_contexts(records: Any, batch: int) -> int:
    return reseal_plaintext(records, CrossBorderContext, CONTEXT_FIELDS, lambda r: context_aad(
        r.token, r.account_id, r.country, r.patient_cx), batch)


@on_reseal("crossborder_dispensations")
def _reseal_sent(records: Any, batch: int) -> int:
    """Seal again the sent eDispensations of before ``0021``: the product sealed, the eD (if
    still kept) under the binding of version 1."""
    done = 0
    while True:
        with records._tx() as s:
            rows = s.scalars(select(SentDispensation).where(
                SentDispensation.aad_version < SENT_AAD_VERSION).limit(batch)
                .with_for_update()).all()
            ring = records.keys.current()
            for row in rows:
                content = _dispensation(row, records.keys).content \
                    if row.ciphertext is not None else None
                aad = sent_aad(SENT_AAD_VERSION, row.document_unique_id, row.country,
                               row.patient_cx, row.prescription_id)
                key_id, wrapped, key = ring.envelope()
                row.product_sealed = seal_text(key, row.product or "", field_aad(aad, "product"))
                row.product, row.key_id, row.wrapped_key = None, key_id, wrapped
                if content is not None:
                    row.nonce = os.urandom(12)
                    row.ciphertext = AESGCM(key).encrypt(row.nonce, content, aad)
                row.aad_version = SENT_AAD_VERSION
        done += len(rows)
        if len(rows) < batch:
            return done
