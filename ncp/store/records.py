"""The DSP record service: every read and write of a patient's record, through the one policy.

Each public method is one transaction: it gathers the facts, asks :mod:`ncp.store.policy`, does
the work and writes the access-log row, then commits, so that the log row and the access stand or
fall together. A refusal still commits its log row (and nothing else) before raising
:class:`~ncp.store.errors.AccessDenied`. Bad input is checked before anything is written.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import (
    ColumnElement,
    Engine,
    Exists,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased, sessionmaker

from ncp.store import matricule as matricule_rules
from ncp.store import policy
from ncp.store.crypto import KeyRing, Sealed, TamperedContent
from ncp.store.db import reading
from ncp.store.errors import AccessDenied, ContentTampered, InvalidInput, NotFound
from ncp.store.keys import KeyRingSource
from ncp.store.models import (
    AccessLogEntry,
    AccessRule,
    CrossBorderConsent,
    Document,
    DpoAlert,
    DspStateChange,
    EmergencyAccess,
    Organisation,
    Patient,
    PatientNotice,
    Professional,
    TherapeuticRelationship,
    UtcDateTime,
)
from ncp.store.policy import Actor, Decision, DocumentFacts, Facts, Power
from ncp.store.unit import Query, Unit, unit
from ncp.store.visits import PatientMerge
from ncp.store.vocabulary import (
    AccessAction,
    AccessContext,
    AccessRuleKind,
    ActorKind,
    Confidentiality,
    CrossBorderService,
    DocumentType,
    DspState,
    EmergencyReason,
    Gender,
    Outcome,
    Profession,
    RelationshipSource,
)

#: Media types a document may have in the DSP.
MEDIA_TYPES = frozenset({"text/xml", "application/pdf", "text/plain", "image/jpeg", "image/png"})
#: Largest document content accepted, in bytes.
MAX_CONTENT_BYTES = 20 * 1024 * 1024
#: How long a "break the glass" access stays open.
#: Version of a document ciphertext's associated data: 0, the unique id alone (rows from
#: before issue 14); 1, the unique id and the access fields (see :func:`document_aad`).
AAD_VERSION = 1


def document_aad(unique_id: str, patient_id: int, doc_type: str, masked: bool,
                 confidentiality: str) -> bytes:
    """The associated data of a document's ciphertext: its id, its patient and the fields
    access decisions read (type, mask, confidentiality).

    Why: with the id alone, someone with write access to the database (not to the keys) could
    move a document to another patient's record, unmask it or lower its confidentiality, and
    the change would go unseen; now each of those makes the content fail to open.
    """
    return "\x00".join(("ncp-document-v1", unique_id, str(patient_id), doc_type,
                        "1" if masked else "0", confidentiality)).encode()


def stored_document_aad(version: int, unique_id: str, patient_id: int, doc_type: str,
                        masked: bool, confidentiality: str) -> bytes:
    if version == 0:
        return unique_id.encode()
    return document_aad(unique_id, patient_id, doc_type, masked, confidentiality)


def info_aad(version: int, info: DocumentInfo) -> bytes:
    return stored_document_aad(version, info.unique_id, info.patient_id, info.doc_type.value,
                               info.masked, info.confidentiality.value)


EMERGENCY_WINDOW = dt.timedelta(hours=12)
#: Break-the-glass declarations one professional may make in a rolling window; past it the
#: record stays closed and the data protection officer is alerted (issue 14, finding 12).
EMERGENCY_LIMIT = 3
EMERGENCY_LIMIT_WINDOW = dt.timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class NoticeInfo:
    id: int
    at: dt.datetime
    kind: str
    text: str
    read_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class AlertInfo:
    id: int
    at: dt.datetime
    kind: str
    patient_id: int | None
    professional_id: int | None
    detail: str


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class PatientInfo:
    id: int
    matricule: str
    given_name: str
    family_name: str
    birth_date: dt.date
    gender: str
    street: str | None
    postal_code: str | None
    city: str | None
    country: str
    preferred_language: str
    dsp_state: str
    referring_doctor_id: int | None


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """A document's metadata as the caller may see it (never the content)."""

    id: int
    unique_id: str
    patient_id: int
    doc_type: DocumentType
    title: str
    media_type: str
    author_professional_id: int | None
    author_name: str | None
    organisation: str | None
    created_at: dt.datetime
    service_start: dt.datetime | None
    confidentiality: Confidentiality
    masked: bool
    version: int
    series_id: int
    is_current: bool
    content_size: int


@dataclass(frozen=True, slots=True)
class PatientImport:
    matricule: str
    given_name: str
    family_name: str
    gender: str
    city: str | None = None
    referring_doctor: int | None = None


@dataclass(frozen=True, slots=True)
class DocumentImport:
    patient_id: int
    author: int
    doc_type: str
    title: str
    media_type: str
    content: bytes
    created_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class LogEntry:
    at: dt.datetime
    actor_kind: str
    actor_name: str | None
    actor_organisation: str | None
    actor_country: str | None
    action: str
    what: str
    document_unique_id: str | None
    context: str
    outcome: str
    detail: str | None


@dataclass(frozen=True, slots=True)
class RelationshipInfo:
    professional_id: int
    registry_id: str
    name: str
    profession: str
    organisation: str | None
    source: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    id: int = 0


#: A liberal visit opens the record to the professional for this long.
VISIT_PERIOD = dt.timedelta(days=90)
#: After an institutional stay the care team keeps access this long (letters, results).
AFTER_DISCHARGE = dt.timedelta(days=30)


class Records:
    """The service over the record store. Thread-safe: it holds no per-request state."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        keys: KeyRing | KeyRingSource,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._engine: Engine = sessions.kw["bind"]
        self._keys = keys if isinstance(keys, KeyRingSource) else KeyRingSource.fixed(keys)
        self._clock = clock

    @property
    def keys(self) -> KeyRingSource:
        """The master key ring (shared with the other stores that seal data at rest)."""
        return self._keys

    @property
    def clock(self) -> Callable[[], dt.datetime]:
        """The clock every rule of the record service reads (one per service)."""
        return self._clock

    def reading(self) -> AbstractContextManager[Session]:
        """A read-only transaction, for the store's other modules (no patient content)."""
        return self._read()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def _read(self) -> AbstractContextManager[Session]:
        """A read-only transaction (:func:`ncp.store.db.reading`)."""
        return reading(self._sessions)

    # ------------------------------------------------------------------ registry

    def add_organisation(self, *, identifier: str, name: str, kind: str,
                         country: str = "LU") -> int:
        with self._tx() as s:
            org = Organisation(identifier=identifier, name=name, kind=kind, country=country)
            s.add(org)
            s.flush()
            return org.id

    def add_professional(
        self,
        *,
        registry_id: str,
        given_name: str,
        family_name: str,
        profession: str,
        isco_code: str,
        specialty: str | None = None,
        organisation: str | None = None,
    ) -> int:
        """Register a health professional; ``organisation`` is an organisation identifier."""
        try:
            profession_value = Profession(profession).value
        except ValueError:
            raise InvalidInput(f"unknown profession {profession!r}") from None
        if not registry_id.strip() or not isco_code.isdigit():
            raise InvalidInput("a professional needs a registry id and a numeric ISCO-08 code")
        with self._tx() as s:
            org_id = self._organisation_id(s, organisation) if organisation else None
            if s.scalar(select(Professional.id).where(Professional.registry_id == registry_id)):
                raise InvalidInput(f"professional {registry_id} is already registered")
            prof = Professional(
                registry_id=registry_id, given_name=given_name, family_name=family_name,
                profession=profession_value, specialty=specialty, isco_code=isco_code,
                organisation_id=org_id,
            )
            s.add(prof)
            s.flush()
            return prof.id

    def add_patient(
        self,
        *,
        matricule: str,
        given_name: str,
        family_name: str,
        gender: str,
        birth_date: dt.date | None = None,
        street: str | None = None,
        postal_code: str | None = None,
        city: str | None = None,
        country: str = "LU",
        preferred_language: str = "fr",
        referring_doctor: int | None = None,
    ) -> int:
        """Open a DSP for a patient. The birth date, if given, must agree with the matricule."""
        try:
            matricule_rules.validate(matricule)
        except matricule_rules.InvalidMatricule as exc:
            raise InvalidInput(f"invalid matricule: {exc}") from None
        implied = matricule_rules.birth_date_of(matricule)
        if birth_date is not None and birth_date != implied:
            raise InvalidInput("the birth date does not agree with the matricule")
        try:
            gender_value = Gender(gender).value
        except ValueError:
            raise InvalidInput(f"unknown administrative gender {gender!r}") from None
        if not given_name.strip() or not family_name.strip():
            raise InvalidInput("a patient needs a given and a family name")
        now = self._clock()
        with self._tx() as s:
            if referring_doctor is not None:
                self._professional(s, referring_doctor)
            if s.scalar(select(Patient.id).where(Patient.matricule == matricule)):
                raise InvalidInput("a DSP already exists for this matricule")
            patient = Patient(
                matricule=matricule, given_name=given_name, family_name=family_name,
                birth_date=implied, gender=gender_value, street=street, postal_code=postal_code,
                city=city, country=country, preferred_language=preferred_language,
                referring_doctor_id=referring_doctor, dsp_state=DspState.OPEN.value,
                dsp_opened_at=now, activated_at=now,
            )
            s.add(patient)
            s.flush()
            s.add(DspStateChange(patient_id=patient.id, state=DspState.OPEN.value, at=now,
                                 reason="DSP created"))
            if referring_doctor is not None:
                s.add(TherapeuticRelationship(
                    patient_id=patient.id, professional_id=referring_doctor, valid_from=now,
                    source=RelationshipSource.REFERRING_DOCTOR.value))
            return patient.id

    def patient_id(self, matricule: str) -> int:
        """The internal id of a DSP by matricule (administrative lookup, no patient data)."""
        with self._read() as s:
            pid = s.scalar(select(Patient.id).where(Patient.matricule == matricule,
                                                    _NOT_MERGED_AWAY))
        if pid is None:
            raise NotFound("no DSP for this matricule")
        return pid

    def professional_id(self, registry_id: str) -> int:
        with self._read() as s:
            pid = s.scalar(select(Professional.id).where(Professional.registry_id == registry_id))
        if pid is None:
            raise NotFound(f"unknown professional {registry_id}")
        return pid

    def professional_actor(self, professional_id: int) -> Actor:
        """The :class:`Actor` for a registered professional (name and organisation filled in)."""
        with self._read() as s:
            prof = self._professional(s, professional_id)
            if prof.retired_at is not None:
                raise AccessDenied("the professional is no longer in the national registry")
            org = prof.organisation.name if prof.organisation else None
            return Actor.professional(prof.id, prof.profession, prof.display_name, org)

    def add_relationship(
        self,
        *,
        patient_id: int,
        professional_id: int,
        source: str,
        valid_from: dt.datetime | None = None,
        valid_to: dt.datetime | None = None,
    ) -> None:
        """Record a therapeutic relationship (from an admission, a visit or a declaration)."""
        try:
            source_value = RelationshipSource(source).value
        except ValueError:
            raise InvalidInput(f"unknown relationship source {source!r}") from None
        start = valid_from or self._clock()
        if valid_to is not None and valid_to <= start:
            raise InvalidInput("a relationship must end after it starts")
        with self._tx() as s:
            self._patient(s, patient_id)
            self._professional(s, professional_id)
            s.add(TherapeuticRelationship(
                patient_id=patient_id, professional_id=professional_id, valid_from=start,
                valid_to=valid_to, source=source_value))

    # ------------------------------------------------------------------ reading

    def find_patient(self, actor: Actor, matricule: str) -> PatientInfo:
        """Identify a patient by matricule, as ``actor`` (logged as a search)."""
        with self._tx() as s:
            patient = s.execute(select(Patient).where(Patient.matricule == matricule,
                                                      _NOT_MERGED_AWAY)).scalar_one_or_none()
            if patient is None:
                self._log(s, actor, None, AccessAction.SEARCH, f"patient {matricule}",
                          self._default_context(actor), Outcome.ERROR, detail="no such patient")
                s.commit()
                raise NotFound("no DSP for this matricule")
            facts = self._facts(s, actor, patient)
            decision = policy.record_access(actor, facts)
            self._log(s, actor, patient.id, AccessAction.SEARCH, "patient identity",
                      decision.context, _outcome(decision), detail=decision.reason)
            self._enforce(s, decision)
            return _patient_info(patient)

    def get_patient(self, actor: Actor, patient_id: int) -> PatientInfo:
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            decision = policy.record_access(actor, self._facts(s, actor, patient))
            self._log(s, actor, patient.id, AccessAction.READ, "patient identity",
                      decision.context, _outcome(decision), detail=decision.reason)
            self._enforce(s, decision)
            return _patient_info(patient)

    def identity_of_read(self, info: DocumentInfo) -> PatientInfo:
        """The patient a document just read (through :meth:`read_document`, which decided and
        logged) belongs to, for the identified-patient banner beside it. Not logged again: it
        reveals nothing the read did not, and a banner per view would flood the access log."""
        with self._read() as s:
            return _patient_info(self._patient(s, info.patient_id))

    def list_documents(
        self,
        actor: Actor,
        patient_id: int,
        *,
        doc_type: DocumentType | str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> list[DocumentInfo]:
        """The current documents of a patient that ``actor`` may see, newest first."""
        wanted = _doc_type(doc_type) if doc_type is not None else None
        params: dict[str, object] = {"patient_id": patient_id}
        if wanted is not None:
            params["doc_type"] = wanted.value
        if since is not None:
            params["since"] = since
        if until is not None:
            params["until"] = until
        statement = _list_query(wanted is not None, since is not None, until is not None)
        now = self._clock()
        with unit(self._engine) as u:
            # One query: the patient with the actor's facts and the candidate documents
            # (metadata only, never returned unless the policy allows); then the log row and
            # the commit.
            [rows] = u.fetch((statement, {**params, **_fact_params(actor, now)}))
            if not rows:
                raise NotFound("unknown patient")
            head = rows[0]
            patient = _PatientRow(head[-1], head[_DOC_COLUMNS], head[_DOC_COLUMNS + 1])
            facts = _facts_of(actor, patient, head[_DOC_COLUMNS + 3:_VIEW_END])
            decision = policy.record_access(actor, facts)
            what = f"documents{' of type ' + wanted.value if wanted else ''}"
            u.write(_LOG_Q, self._log_row(actor, patient_id, AccessAction.SEARCH, what,
                                          decision.context, _outcome(decision),
                                          detail=decision.reason, at=now))
            if not decision:
                u.commit()
                raise AccessDenied(decision.reason)
            docs = [_document_info(row) for row in rows if row[0] is not None]
            return [d for d in docs if policy.read_document(actor, facts, _doc_facts(d))]

    def read_document(self, actor: Actor, unique_id: str) -> tuple[DocumentInfo, bytes]:
        """Metadata and decrypted content of one document version, if the policy allows."""
        now = self._clock()
        with unit(self._engine) as u:
            # One query: the document (with its sealed content, opened only if allowed), its
            # patient and the actor's facts; then the log row and the commit.
            [doc_rows] = u.fetch((_READ_Q, {"unique_id": unique_id,
                                            **_fact_params(actor, now)}))
            if not doc_rows:
                u.write(_LOG_Q, self._log_row(actor, None, AccessAction.READ,
                                              f"document {unique_id}",
                                              self._default_context(actor), Outcome.ERROR,
                                              detail="no such document", at=now))
                u.commit()
                raise NotFound("unknown document")
            row = doc_rows[0]
            info = _document_info(row)
            self._decide_read(u, actor, row, info, now)
            try:
                content = self._keys.get(row[-4]).open(Sealed(*row[-4:]),
                                                       aad=info_aad(row[-5], info))
            except TamperedContent:
                u.rollback()
                self._log_tampered(actor, info)
                raise ContentTampered("the stored document failed its integrity check") from None
            u.commit()  # the log row is durable before the content leaves
            return info, content

    def document_versions(self, actor: Actor, unique_id: str) -> list[DocumentInfo]:
        """Every version of the document ``unique_id`` belongs to, oldest first."""
        with self._tx() as s:
            head = s.execute(select(Document.series_id, Document.patient_id)
                             .where(Document.unique_id == unique_id)).first()
            if head is None:
                raise NotFound("unknown document")
            patient = self._patient(s, head.patient_id)
            facts = self._facts(s, actor, patient)
            rows = s.execute(_DOCUMENTS.where(Document.series_id == head.series_id)
                             .order_by(Document.version)).all()
            docs = [_document_info(r) for r in rows]
            decision = policy.read_document(actor, facts, _doc_facts(docs[-1]))
            self._log(s, actor, head.patient_id, AccessAction.SEARCH, "document versions",
                      decision.context, _outcome(decision), document_id=docs[-1].id,
                      detail=decision.reason)
            self._enforce(s, decision)
            return docs

    # ------------------------------------------------------------------ writing

    def add_document(
        self,
        actor: Actor,
        patient_id: int,
        *,
        doc_type: DocumentType | str,
        title: str,
        media_type: str,
        content: bytes,
        confidentiality: Confidentiality | str = Confidentiality.NORMAL,
        supersedes: str | None = None,
        unique_id: str | None = None,
        service_start: dt.datetime | None = None,
        organisation: str | None = None,
    ) -> DocumentInfo:
        """Store a document (or a new version of ``supersedes``), encrypted, if the policy allows.

        All input is checked before anything is written; a refusal writes only its log row.
        """
        kind = _doc_type(doc_type)
        conf = _confidentiality(confidentiality)
        if media_type not in MEDIA_TYPES:
            raise InvalidInput(f"unsupported media type {media_type!r}")
        if not content:
            raise InvalidInput("a document needs content")
        if len(content) > MAX_CONTENT_BYTES:
            raise InvalidInput(f"a document may not exceed {MAX_CONTENT_BYTES} bytes")
        if not title.strip() or len(title) > 300:
            raise InvalidInput("a document needs a title of at most 300 characters")
        if media_type == "application/pdf" and not content.startswith(b"%PDF-"):
            raise InvalidInput("the content is not a PDF")
        with self._tx() as s:
            return self._write_document(
                s, actor, patient_id, kind=kind, conf=conf, title=title, media_type=media_type,
                content=content, supersedes=supersedes, unique_id=unique_id,
                service_start=service_start, organisation=organisation)

    def _write_document(
        self,
        s: Session,
        actor: Actor,
        patient_id: int,
        *,
        kind: DocumentType,
        conf: Confidentiality,
        title: str,
        media_type: str,
        content: bytes,
        supersedes: str | None = None,
        unique_id: str | None = None,
        service_start: dt.datetime | None = None,
        organisation: str | None = None,
    ) -> DocumentInfo:
        """The write itself, inside the caller's transaction (input already validated)."""
        new_uid = unique_id or new_document_uid()
        now = self._clock()
        patient = self._patient(s, patient_id)
        facts = self._facts(s, actor, patient)
        decision = policy.write_document(actor, facts, kind)
        previous = None
        if decision and supersedes is not None:
            previous = s.execute(select(Document).where(Document.unique_id == supersedes)
                                 ).scalar_one_or_none()
            if previous is None or previous.patient_id != patient_id:
                raise NotFound("the document to supersede is not in this record")
            if not previous.is_current:
                raise InvalidInput("only the current version of a document can be superseded")
            if previous.doc_type != kind.value:
                raise InvalidInput("a new version must keep the document type")
            if not _may_supersede(actor, previous):
                decision = Decision(False, "only the author may issue a new version",
                                    decision.context)
        action = AccessAction.UPDATE if supersedes else AccessAction.WRITE
        if not decision:
            self._log(s, actor, patient_id, action, title, decision.context,
                      _outcome(decision), detail=decision.reason)
            self._enforce(s, decision)
        if unique_id is not None and s.scalar(
                select(Document.id).where(Document.unique_id == unique_id)):
            raise InvalidInput("a document with this unique id already exists")
        org_id = self._organisation_id(s, organisation) if organisation else None
        if org_id is None and actor.professional_id is not None:
            org_id = s.scalar(select(Professional.organisation_id)
                              .where(Professional.id == actor.professional_id))
        doc = Document(
            unique_id=new_uid, patient_id=patient_id, doc_type=kind.value, title=title,
            media_type=media_type, author_kind=_author_kind(actor),
            author_professional_id=actor.professional_id,
            author_name=actor.name if actor.kind is ActorKind.FOREIGN else None,
            organisation_id=org_id, created_at=now, service_start=service_start,
            confidentiality=conf.value, masked=False,
            version=previous.version + 1 if previous else 1,
            series_id=previous.series_id if previous else None,
            supersedes_id=previous.id if previous else None, is_current=True,
            content_size=len(content),
        )
        if previous is not None:
            # Mask and confidentiality belong to the series (the patient's choice), not to a
            # version: a new version keeps the mask and the stricter of the two levels; only
            # the patient lowers it (set_confidentiality, manage_record). Issue 14 item 4.
            previous.is_current = False
            doc.masked = previous.masked
            doc.confidentiality = stricter(conf, Confidentiality(previous.confidentiality)).value
        sealed = self._keys.current().seal(content, aad=document_aad(
            new_uid, patient_id, kind.value, bool(doc.masked), doc.confidentiality))
        doc.aad_version, doc.key_id, doc.wrapped_key = AAD_VERSION, sealed.key_id, \
            sealed.wrapped_key
        doc.nonce, doc.ciphertext = sealed.nonce, sealed.ciphertext
        s.add(doc)
        s.flush()
        if doc.series_id is None:
            doc.series_id = doc.id
        self._log(s, actor, patient_id, action, title, decision.context,
                  _outcome(decision), document_id=doc.id, detail=decision.reason)
        row = s.execute(_DOCUMENTS.where(Document.id == doc.id)).one()
        return _document_info(row)

    def _open_document(self, doc: Document) -> bytes:
        try:
            return self._keys.get(doc.key_id).open(
                Sealed(doc.key_id, doc.wrapped_key, doc.nonce, doc.ciphertext),
                aad=stored_document_aad(doc.aad_version, doc.unique_id, doc.patient_id,
                                        doc.doc_type, bool(doc.masked), doc.confidentiality))
        except TamperedContent:
            raise ContentTampered("the stored document failed its integrity check") from None

    def _seal_document(self, doc: Document, content: bytes) -> None:
        sealed = self._keys.current().seal(content, aad=document_aad(
            doc.unique_id, doc.patient_id, doc.doc_type, bool(doc.masked), doc.confidentiality))
        doc.aad_version, doc.key_id, doc.wrapped_key = AAD_VERSION, sealed.key_id, \
            sealed.wrapped_key
        doc.nonce, doc.ciphertext = sealed.nonce, sealed.ciphertext

    def reseal_legacy_documents(self, *, batch: int = 200) -> int:
        """Re-seal the documents stored before their access fields were bound (the data
        migration of ``0015``, run by ``ncp keys reseal``; it needs the key ring, which Alembic
        has not). Returns how many were re-sealed."""
        done = 0
        while True:
            with self._tx() as s:
                docs = s.scalars(select(Document).where(Document.aad_version < AAD_VERSION)
                                 .order_by(Document.id).limit(batch).with_for_update()).all()
                for doc in docs:
                    self._seal_document(doc, self._open_document(doc))
            done += len(docs)
            if len(docs) < batch:
                return done

    def set_masked(self, actor: Actor, unique_id: str, masked: bool) -> None:
        """The patient masks (or unmasks) every version of a document."""
        self._change_document(actor, unique_id, "mask" if masked else "unmask",
                              masked=masked)

    def set_confidentiality(self, actor: Actor, unique_id: str,
                            confidentiality: Confidentiality | str) -> None:
        conf = _confidentiality(confidentiality)
        self._change_document(actor, unique_id, f"confidentiality {conf.value}",
                              confidentiality=conf.value)

    def _change_document(self, actor: Actor, unique_id: str, what: str, **values: object) -> None:
        with self._tx() as s:
            row = s.execute(select(Document.id, Document.patient_id, Document.series_id)
                            .where(Document.unique_id == unique_id)).first()
            if row is None:
                raise NotFound("unknown document")
            patient = self._patient(s, row.patient_id)
            decision = policy.manage_record(actor, self._facts(s, actor, patient))
            self._log(s, actor, row.patient_id, AccessAction.POLICY, what, decision.context,
                      _outcome(decision), document_id=row.id, detail=decision.reason)
            self._enforce(s, decision)
            # The access fields are in each version's associated data: re-seal every version
            # under its new fields (the data key stays; a new nonce), in the same transaction.
            for doc in s.scalars(select(Document).where(Document.series_id == row.series_id)
                                 .with_for_update()):
                content = self._open_document(doc)
                for name, value in values.items():
                    setattr(doc, name, value)
                self._seal_document(doc, content)

    # ------------------------------------------------------------------ bulk import

    def import_patients(self, items: list[PatientImport]) -> list[int]:
        """Open DSPs in bulk (initial load from the national systems), in one transaction.

        Every item is validated first, as :meth:`add_patient` does; one bad item refuses the
        whole batch and nothing is written. Each patient gets a relationship with their
        referring doctor, if named.
        """
        now = self._clock()
        rows = []
        for item in items:
            try:
                matricule_rules.validate(item.matricule)
                gender = Gender(item.gender).value
            except (matricule_rules.InvalidMatricule, ValueError) as exc:
                raise InvalidInput(f"patient {item.matricule}: {exc}") from None
            rows.append({
                "matricule": item.matricule, "given_name": item.given_name,
                "family_name": item.family_name,
                "birth_date": matricule_rules.birth_date_of(item.matricule), "gender": gender,
                "city": item.city, "country": "LU", "preferred_language": "fr",
                "referring_doctor_id": item.referring_doctor, "dsp_state": DspState.OPEN.value,
                "dsp_opened_at": now,
            })
        with self._tx() as s:
            # Plain executemany, no RETURNING: psycopg pipelines it, while a multi-row
            # INSERT ... RETURNING costs more to build than to run at this size.
            s.execute(insert(Patient), rows)
            ids = dict(s.execute(select(Patient.matricule, Patient.id).where(
                Patient.matricule.in_([r["matricule"] for r in rows]))).all())
            rels = [{"patient_id": ids[r["matricule"]],
                     "professional_id": r["referring_doctor_id"], "valid_from": now,
                     "source": RelationshipSource.REFERRING_DOCTOR.value}
                    for r in rows if r["referring_doctor_id"] is not None]
            if rels:
                s.execute(insert(TherapeuticRelationship), rels)
            s.execute(insert(DspStateChange), [
                {"patient_id": ids[r["matricule"]], "state": DspState.OPEN.value, "at": now,
                 "reason": "imported"} for r in rows])
            return [ids[r["matricule"]] for r in rows]

    def import_documents(self, items: list[DocumentImport]) -> int:
        """Store documents in bulk (initial load), encrypted, each with its access-log row.

        An administrative import by the national systems: the access log records it as a
        write by the system, in the same transaction. Input is validated before anything is
        written; one bad item refuses the batch.
        """
        now = self._clock()
        ring = self._keys.current()
        docs = []
        for item in items:
            kind = _doc_type(item.doc_type)
            if item.media_type not in MEDIA_TYPES or not item.content:
                raise InvalidInput(f"document {item.title!r}: bad media type or empty content")
            uid = new_document_uid()
            sealed = ring.seal(item.content, aad=document_aad(uid, item.patient_id, kind.value,
                                                              False, "N"))
            docs.append({
                "unique_id": uid, "patient_id": item.patient_id, "doc_type": kind.value,
                "title": item.title, "media_type": item.media_type,
                "author_kind": "professional", "author_professional_id": item.author,
                "created_at": item.created_at or now, "confidentiality": "N", "masked": False,
                "version": 1, "is_current": True, "content_size": len(item.content),
                "aad_version": AAD_VERSION,
                "key_id": sealed.key_id, "wrapped_key": sealed.wrapped_key,
                "nonce": sealed.nonce, "ciphertext": sealed.ciphertext,
            })
        with self._tx() as s:
            s.execute(insert(Document), docs)
            uids = [d["unique_id"] for d in docs]
            s.execute(update(Document).where(Document.unique_id.in_(uids))
                      .values(series_id=Document.id))
            s.execute(insert(AccessLogEntry).from_select(
                ["at", "patient_id", "actor_kind", "action", "what", "context", "outcome",
                 "detail", "document_id"],
                select(bindparam("at", now, type_=UtcDateTime()), Document.patient_id,
                       literal(ActorKind.SYSTEM.value), literal(AccessAction.WRITE.value),
                       Document.title, literal(AccessContext.ADMINISTRATION.value),
                       literal(Outcome.SUCCESS.value), literal("bulk import"), Document.id)
                .where(Document.unique_id.in_(uids))))
        return len(docs)

    # ------------------------------------------------------------------ the patient's control

    def set_rule(self, actor: Actor, patient_id: int, professional_id: int,
                 kind: AccessRuleKind | str, active: bool = True) -> None:
        """Grant, block or name-for-restricted a professional (``active=False`` revokes)."""
        try:
            rule = AccessRuleKind(kind)
        except ValueError:
            raise InvalidInput(f"unknown rule {kind!r}") from None
        now = self._clock()
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            prof = self._professional(s, professional_id)
            decision = policy.manage_record(actor, self._facts(s, actor, patient))
            verb = rule.value if active else f"revoke {rule.value}"
            self._log(s, actor, patient_id, AccessAction.POLICY,
                      f"{verb}: {prof.display_name}", decision.context, _outcome(decision),
                      detail=decision.reason)
            self._enforce(s, decision)
            current = s.scalars(select(AccessRule).where(
                AccessRule.patient_id == patient_id, AccessRule.professional_id == professional_id,
                AccessRule.kind == rule.value, AccessRule.revoked_at.is_(None))).all()
            if active and not current:
                s.add(AccessRule(patient_id=patient_id, professional_id=professional_id,
                                 kind=rule.value, created_at=now))
            if not active:
                for r in current:
                    r.revoked_at = now

    def rules(self, actor: Actor, patient_id: int) -> list[tuple[int, str, str]]:
        """The patient's active rules: (professional id, professional name, kind)."""
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            decision = policy.manage_record(actor, self._facts(s, actor, patient), Power.READ)
            self._log(s, actor, patient_id, AccessAction.READ, "access rules",
                      decision.context, _outcome(decision), detail=decision.reason)
            self._enforce(s, decision)
            rows = s.execute(select(AccessRule.professional_id, Professional.given_name,
                                    Professional.family_name, AccessRule.kind)
                             .join(Professional, Professional.id == AccessRule.professional_id)
                             .where(AccessRule.patient_id == patient_id,
                                    AccessRule.revoked_at.is_(None))
                             .order_by(AccessRule.id)).all()
            return [(r[0], f"{r[1]} {r[2]}", r[3]) for r in rows]

    def declare_emergency(self, actor: Actor, patient_id: int, reason: str,
                          reason_code: EmergencyReason | str = EmergencyReason.OTHER
                          ) -> dt.datetime:
        """Break the glass: a professional opens a record without a relationship, for a while.

        Allowed unless the patient blocked this professional or closed the DSP, and at most
        :data:`EMERGENCY_LIMIT` times per professional in :data:`EMERGENCY_LIMIT_WINDOW` (the
        next one is refused and raises an alert). Each declaration is flagged in the access
        log, recorded with a reason code, alerts the data protection officer and leaves the
        patient a notice. Returns when the emergency access expires (a second declaration while
        one is running returns the running one's end and counts nothing).
        """
        if actor.kind is not ActorKind.PROFESSIONAL or actor.professional_id is None:
            raise InvalidInput("only a professional may declare an emergency access")
        if len(reason.strip()) < 5:
            raise InvalidInput("an emergency access needs a stated reason")
        try:
            code = EmergencyReason(reason_code)
        except ValueError:
            raise InvalidInput(f"unknown emergency reason code {reason_code!r}") from None
        now = self._clock()
        text_reason = reason.strip()[:300]
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            facts = self._facts(s, actor, patient)
            probe = Facts(patient_id=facts.patient_id, dsp_open=facts.dsp_open,
                          blocked=facts.blocked, emergency=True)
            decision = policy.record_access(actor, probe)
            context = AccessContext.EMERGENCY
            running = None
            if decision:
                # One professional's declarations are counted one at a time (PostgreSQL: the
                # row lock; SQLite transactions are serialised anyway).
                s.execute(select(Professional.id).where(Professional.id == actor.professional_id)
                          .with_for_update())
                running = s.scalar(select(EmergencyAccess.expires_at).where(
                    EmergencyAccess.patient_id == patient_id,
                    EmergencyAccess.professional_id == actor.professional_id,
                    EmergencyAccess.started_at <= now, EmergencyAccess.expires_at > now)
                    .order_by(EmergencyAccess.expires_at.desc()).limit(1))
                recent = s.scalar(select(func.count()).select_from(EmergencyAccess).where(
                    EmergencyAccess.professional_id == actor.professional_id,
                    EmergencyAccess.started_at > now - EMERGENCY_LIMIT_WINDOW)) or 0
                if running is None and recent >= EMERGENCY_LIMIT:
                    decision = Decision(False, f"emergency limit reached ({EMERGENCY_LIMIT} in "
                                        f"{EMERGENCY_LIMIT_WINDOW}); the data protection "
                                        "officer has been alerted", context)
                    s.add(DpoAlert(at=now, kind="emergency-limit", patient_id=patient_id,
                                   professional_id=actor.professional_id,
                                   detail=f"refused: {code.value}: {text_reason}"[:400]))
            self._log(s, actor, patient_id, AccessAction.POLICY,
                      "emergency access declared", context, _outcome(decision),
                      detail=f"{code.value}: {text_reason}" if decision else decision.reason)
            self._enforce(s, decision)
            if running is not None:
                return running
            expires = now + EMERGENCY_WINDOW
            s.add(EmergencyAccess(patient_id=patient_id, professional_id=actor.professional_id,
                                  reason=reason.strip()[:400], reason_code=code.value,
                                  started_at=now, expires_at=expires))
            who = f"{actor.name or 'a professional'}" + \
                (f" ({actor.organisation})" if actor.organisation else "")
            s.add(DpoAlert(at=now, kind="emergency-access", patient_id=patient_id,
                           professional_id=actor.professional_id,
                           detail=f"{code.value}: {text_reason}"[:400]))
            s.add(PatientNotice(patient_id=patient_id, at=now, kind="emergency-access",
                                text=f"{who} opened your record in an emergency "
                                f"({code.value}): {text_reason}"[:400]))
            return expires

    def notices(self, actor: Actor, patient_id: int, *, unread_only: bool = False
                ) -> list[NoticeInfo]:
        """What the patient is told: break-the-glass accesses, acts of their helpers."""
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            decision = policy.manage_record(actor, self._facts(s, actor, patient), Power.READ)
            self._enforce(s, decision)
            query = select(PatientNotice).where(PatientNotice.patient_id == patient_id)
            if unread_only:
                query = query.where(PatientNotice.read_at.is_(None))
            rows = s.scalars(query.order_by(PatientNotice.id.desc()).limit(200))
            return [NoticeInfo(r.id, r.at, r.kind, r.text, r.read_at) for r in rows]

    def dpo_alerts(self, *, open_only: bool = True) -> list[AlertInfo]:
        """The data protection officer's alerts (``ncp audit alerts``), newest first."""
        with self._read() as s:
            query = select(DpoAlert)
            if open_only:
                query = query.where(DpoAlert.acknowledged_at.is_(None))
            rows = s.scalars(query.order_by(DpoAlert.id.desc()).limit(1000))
            return [AlertInfo(r.id, r.at, r.kind, r.patient_id, r.professional_id, r.detail)
                    for r in rows]

    def give_consent(self, actor: Actor, patient_id: int, service: CrossBorderService | str,
                     channel: str = "portal") -> None:
        """Explicit consent to cross-border sharing of one service."""
        svc = _service(service)
        now = self._clock()
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            decision = policy.manage_record(actor, self._facts(s, actor, patient), Power.CONSENT)
            self._log(s, actor, patient_id, AccessAction.POLICY, f"consent given: {svc.value}",
                      decision.context, _outcome(decision), detail=channel)
            self._enforce(s, decision)
            if not _active_consent(s, patient_id, svc):
                s.add(CrossBorderConsent(patient_id=patient_id, service=svc.value,
                                         given_at=now, channel=channel))

    def withdraw_consent(self, actor: Actor, patient_id: int,
                         service: CrossBorderService | str) -> None:
        svc = _service(service)
        now = self._clock()
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            decision = policy.manage_record(actor, self._facts(s, actor, patient), Power.CONSENT)
            self._log(s, actor, patient_id, AccessAction.POLICY,
                      f"consent withdrawn: {svc.value}", decision.context, _outcome(decision),
                      detail=decision.reason)
            self._enforce(s, decision)
            for row in _active_consent(s, patient_id, svc):
                row.withdrawn_at = now

    def consents(self, patient_id: int) -> frozenset[CrossBorderService]:
        """The services the patient currently consents to share across borders."""
        with self._read() as s:
            rows = s.connection().execute(_CONSENTS, {"patient_id": patient_id,
                                                      "now": self._clock()}).scalars()
            return frozenset(CrossBorderService(r) for r in rows)

    def close_dsp(self, actor: Actor, patient_id: int, reason: str = "") -> None:
        self._set_state(actor, patient_id, DspState.CLOSED, reason)

    def reopen_dsp(self, actor: Actor, patient_id: int, reason: str = "") -> None:
        self._set_state(actor, patient_id, DspState.OPEN, reason)

    def _set_state(self, actor: Actor, patient_id: int, state: DspState, reason: str) -> None:
        now = self._clock()
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            decision = policy.manage_record(actor, self._facts(s, actor, patient), Power.CONSENT)
            self._log(s, actor, patient_id, AccessAction.POLICY, f"DSP {state.value}",
                      decision.context, _outcome(decision), detail=reason or decision.reason)
            self._enforce(s, decision)
            if patient.dsp_state == state.value:
                raise InvalidInput(f"the DSP is already {state.value}")
            patient.dsp_state = state.value
            if state is DspState.CLOSED:
                patient.dsp_closed_at = now
            else:
                patient.dsp_opened_at = now
                patient.dsp_closed_at = None
            s.add(DspStateChange(patient_id=patient_id, state=state.value, at=now,
                                 reason=reason or None))

    def access_log(self, actor: Actor, patient_id: int, *, limit: int = 500) -> list[LogEntry]:
        """Who saw what, when: the patient (or their helper) sees the whole log."""
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            decision = policy.manage_record(actor, self._facts(s, actor, patient), Power.READ)
            self._enforce(s, decision)
            doc = aliased(Document)
            prof = aliased(Professional)
            rows = s.execute(
                select(AccessLogEntry, doc.unique_id, prof.given_name, prof.family_name)
                .outerjoin(doc, doc.id == AccessLogEntry.document_id)
                .outerjoin(prof, prof.id == AccessLogEntry.actor_professional_id)
                .where(AccessLogEntry.patient_id == patient_id)
                .order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc()).limit(limit)
            ).all()
            return [
                LogEntry(at=e.at, actor_kind=e.actor_kind,
                         actor_name=e.actor_name or (f"{g} {f}" if g else None),
                         actor_organisation=e.actor_organisation, actor_country=e.actor_country,
                         action=e.action, what=e.what, document_unique_id=uid,
                         context=e.context, outcome=e.outcome, detail=e.detail)
                for e, uid, g, f in rows
            ]

    # ------------------------------------------------------------------ portal views

    def patients_of(self, actor: Actor) -> list[PatientInfo]:
        """"My patients": open DSPs where the professional has a current therapeutic
        relationship or the patient's grant, and no block (one search row in the log).

        Three queries whatever the number of patients; the policy still decides each one.
        """
        if actor.kind is not ActorKind.PROFESSIONAL or actor.professional_id is None:
            raise InvalidInput("only a professional has patients")
        now = self._clock()
        with self._tx() as s:
            related = set(s.scalars(select(TherapeuticRelationship.patient_id).where(
                TherapeuticRelationship.professional_id == actor.professional_id,
                TherapeuticRelationship.valid_from <= now,
                or_(TherapeuticRelationship.valid_to.is_(None),
                    TherapeuticRelationship.valid_to > now))))
            rules: dict[int, set[str]] = {}
            for pid, kind in s.execute(select(AccessRule.patient_id, AccessRule.kind).where(
                    AccessRule.professional_id == actor.professional_id,
                    AccessRule.revoked_at.is_(None))):
                rules.setdefault(pid, set()).add(kind)
            granted = {pid for pid, kinds in rules.items() if AccessRuleKind.GRANT.value in kinds}
            candidates = s.scalars(select(Patient).where(Patient.id.in_(related | granted))
                                   .order_by(Patient.family_name, Patient.given_name)).all()
            allowed = []
            for p in candidates:
                kinds = rules.get(p.id, set())
                facts = Facts(
                    patient_id=p.id, dsp_open=p.dsp_state == DspState.OPEN.value,
                    relationship=p.id in related, granted=p.id in granted,
                    blocked=AccessRuleKind.BLOCK.value in kinds,
                    named_for_restricted=AccessRuleKind.RESTRICTED.value in kinds,
                    referring_doctor=p.referring_doctor_id == actor.professional_id)
                if policy.record_access(actor, facts):
                    allowed.append(p)
            self._log(s, actor, None, AccessAction.SEARCH, "my patients",
                      AccessContext.TREATMENT, Outcome.SUCCESS,
                      detail=f"{len(allowed)} patients listed")
            return [_patient_info(p) for p in allowed]

    def relationships(self, actor: Actor, patient_id: int) -> list[RelationshipInfo]:
        """The patient's current therapeutic relationships (for the patient or their helper)."""
        now = self._clock()
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            decision = policy.manage_record(actor, self._facts(s, actor, patient), Power.READ)
            self._log(s, actor, patient_id, AccessAction.READ, "therapeutic relationships",
                      decision.context, _outcome(decision), detail=decision.reason)
            self._enforce(s, decision)
            org = aliased(Organisation)
            rows = s.execute(
                select(Professional.id, Professional.registry_id, Professional.given_name,
                       Professional.family_name, Professional.profession, org.name,
                       TherapeuticRelationship.source, TherapeuticRelationship.valid_from,
                       TherapeuticRelationship.valid_to, TherapeuticRelationship.id)
                .join(TherapeuticRelationship,
                      TherapeuticRelationship.professional_id == Professional.id)
                .outerjoin(org, org.id == Professional.organisation_id)
                .where(TherapeuticRelationship.patient_id == patient_id,
                       TherapeuticRelationship.valid_from <= now,
                       or_(TherapeuticRelationship.valid_to.is_(None),
                           TherapeuticRelationship.valid_to > now))
                .order_by(Professional.family_name)).all()
            return [RelationshipInfo(professional_id=r[0], registry_id=r[1],
                                     name=f"{r[2]} {r[3]}", profession=r[4], organisation=r[5],
                                     source=r[6], valid_from=r[7], valid_to=r[8], id=r[9])
                    for r in rows]

    def declare_relationship(self, actor: Actor, patient_id: int,
                             kind: RelationshipSource | str) -> RelationshipInfo:
        """A professional declares the therapeutic relationship a visit or an admission makes.

        A liberal ``visit`` lasts :data:`VISIT_PERIOD`; an institutional ``admission`` lasts
        until the discharge (:meth:`end_relationship`) and :data:`AFTER_DISCHARGE` after it.
        The referring-doctor declaration comes from the insurer, not from the professional.
        The declaration is in the patient's access log; a professional the patient blocked,
        or a closed DSP, is refused (a block wins over any relationship).
        """
        if actor.kind is not ActorKind.PROFESSIONAL or actor.professional_id is None:
            raise InvalidInput("only a professional declares a therapeutic relationship")
        try:
            source = RelationshipSource(kind)
        except ValueError:
            raise InvalidInput(f"unknown relationship kind {kind!r}") from None
        if source is RelationshipSource.REFERRING_DOCTOR:
            raise InvalidInput("the referring-doctor declaration comes from the insurer")
        now = self._clock()
        until = now + VISIT_PERIOD if source is RelationshipSource.VISIT else None
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            facts = self._facts(s, actor, patient)
            refused = "the DSP is closed" if not facts.dsp_open else \
                "blocked by the patient" if facts.blocked else None
            what = f"therapeutic relationship declared: {source.value}"
            self._log(s, actor, patient_id, AccessAction.POLICY, what, AccessContext.TREATMENT,
                      Outcome.DENIED if refused else Outcome.SUCCESS, detail=refused)
            if refused:
                s.commit()  # the refused attempt stays in the log
                raise AccessDenied("access denied")
            row = TherapeuticRelationship(patient_id=patient_id,
                                          professional_id=actor.professional_id,
                                          valid_from=now, valid_to=until, source=source.value)
            s.add(row)
            s.flush()
            prof = self._professional(s, actor.professional_id)
            return RelationshipInfo(
                professional_id=prof.id, registry_id=prof.registry_id,
                name=prof.display_name, profession=prof.profession,
                organisation=prof.organisation.name if prof.organisation else None,
                source=source.value, valid_from=now, valid_to=until, id=row.id)

    def end_relationship(self, actor: Actor, relationship_id: int) -> dt.datetime:
        """End a relationship: the patient (or their helper) ends any of theirs at once; the
        professional ends their own, an admission with the discharge period after it.
        Returns when it ends."""
        now = self._clock()
        with self._tx() as s:
            row = s.get(TherapeuticRelationship, relationship_id)
            if row is None or (row.valid_to is not None and row.valid_to <= now):
                raise NotFound("no such current relationship")
            patient = self._patient(s, row.patient_id)
            if actor.kind is ActorKind.PROFESSIONAL:
                if row.professional_id != actor.professional_id:
                    raise NotFound("no such current relationship")
                ends = now + AFTER_DISCHARGE \
                    if row.source == RelationshipSource.ADMISSION.value else now
                context, what = AccessContext.TREATMENT, f"{row.source} ended (discharge)"
            else:
                decision = policy.manage_record(actor, self._facts(s, actor, patient))
                if not decision:
                    self._log(s, actor, row.patient_id, AccessAction.POLICY,
                              "therapeutic relationship ended", decision.context,
                              Outcome.DENIED, detail=decision.reason)
                    s.commit()
                    raise AccessDenied("access denied")
                ends, context, what = now, decision.context, f"{row.source} ended by the patient"
            if row.valid_to is None or row.valid_to > ends:
                row.valid_to = ends
            self._log(s, actor, row.patient_id, AccessAction.POLICY,
                      f"therapeutic relationship {what}", context, Outcome.SUCCESS)
            return row.valid_to

    def remove_personal_document(self, actor: Actor, unique_id: str) -> None:
        """The patient removes a note or document of their personal space.

        Every version leaves the record's lists (``is_current`` false); the rows stay, because
        the access log refers to them.
        """
        with self._tx() as s:
            doc = s.execute(select(Document).where(Document.unique_id == unique_id)
                            ).scalar_one_or_none()
            if doc is None:
                raise NotFound("unknown document")
            patient = self._patient(s, doc.patient_id)
            decision = policy.write_document(actor, self._facts(s, actor, patient),
                                             DocumentType(doc.doc_type))
            if decision and doc.author_kind != "patient":
                decision = Decision(False, "only the patient's own documents can be removed",
                                    decision.context)
            self._log(s, actor, doc.patient_id, AccessAction.UPDATE, f"removed: {doc.title}",
                      decision.context, _outcome(decision), document_id=doc.id,
                      detail=decision.reason)
            self._enforce(s, decision)
            s.execute(update(Document).where(Document.series_id == doc.series_id)
                      .values(is_current=False))

    def note_policy_change(self, actor: Actor, patient_id: int, what: str) -> None:
        """Log a change the patient made outside the record tables (e.g. naming an assistant);
        refused, and logged as refused, for anyone but the patient."""
        with self._tx() as s:
            patient = self._patient(s, patient_id)
            decision = policy.manage_record(actor, self._facts(s, actor, patient), Power.CONSENT)
            self._log(s, actor, patient_id, AccessAction.POLICY, what, decision.context,
                      _outcome(decision), detail=decision.reason)
            self._enforce(s, decision)

    # ------------------------------------------------------------------ internals

    def _decide_read(self, u: Unit, actor: Actor, row: Sequence[object], info: DocumentInfo,
                     now: dt.datetime) -> None:
        """The policy's answer on a row of :data:`_VIEW`, logged in the unit; a refusal commits
        its log row and raises :class:`AccessDenied` (nothing else was written)."""
        decision = policy.read_document(actor, _view_facts(actor, row), _doc_facts(info))
        u.write(_LOG_Q, self._log_row(actor, info.patient_id, AccessAction.READ, info.title,
                                      decision.context, _outcome(decision),
                                      document_id=info.id, detail=decision.reason, at=now))
        if not decision:
            u.commit()
            raise AccessDenied(decision.reason)

    def _facts(self, s: Session, actor: Actor, patient: Patient | _PatientRow) -> Facts:
        row = s.connection().execute(_PATIENT_FACTS, {
            "id": patient.id, **_fact_params(actor, self._clock())}).one()
        return _facts_of(actor, patient, row[4:])

    def _log(
        self,
        s: Session,
        actor: Actor,
        patient_id: int | None,
        action: AccessAction,
        what: str,
        context: AccessContext,
        outcome: Outcome,
        *,
        document_id: int | None = None,
        detail: str | None = None,
    ) -> None:
        s.connection().execute(_LOG_INSERT, self._log_row(
            actor, patient_id, action, what, context, outcome, document_id=document_id,
            detail=detail))
        if actor.kind is ActorKind.HELPER and patient_id and outcome is Outcome.SUCCESS and \
                action in (AccessAction.POLICY, AccessAction.WRITE, AccessAction.UPDATE):
            # The patient hears of every act done in their name (issue 14, finding 11).
            s.add(PatientNotice(patient_id=patient_id, at=self._clock(), kind="helper-act",
                                text=f"{actor.name or 'your assistant'} ({actor.delegation}): "
                                f"{what}"[:400]))

    def _log_row(
        self,
        actor: Actor,
        patient_id: int | None,
        action: AccessAction,
        what: str,
        context: AccessContext,
        outcome: Outcome,
        *,
        document_id: int | None = None,
        detail: str | None = None,
        at: dt.datetime | None = None,
    ) -> dict[str, object]:
        """The access-log row of one access (see :class:`~ncp.store.models.AccessLogEntry`)."""
        return {
            "at": at or self._clock(), "patient_id": patient_id, "actor_kind": actor.kind.value,
            "actor_professional_id": actor.professional_id,
            "actor_patient_id": actor.patient_id if actor.kind in (
                ActorKind.PATIENT, ActorKind.HELPER) else None,
            "actor_name": actor.name if actor.kind in (ActorKind.FOREIGN, ActorKind.HELPER)
            else None,
            "actor_organisation": actor.organisation if actor.kind is ActorKind.FOREIGN
            else None,
            "actor_country": actor.country, "action": action.value, "what": what[:300],
            "document_id": document_id, "context": context.value, "outcome": outcome.value,
            "detail": (detail or "")[:400] or None,
        }

    def _log_tampered(self, actor: Actor, info: DocumentInfo) -> None:
        with self._tx() as s:
            self._log(s, actor, info.patient_id, AccessAction.READ, info.title,
                      self._default_context(actor), Outcome.ERROR, document_id=info.id,
                      detail="stored content failed its integrity check")

    @staticmethod
    def _enforce(s: Session, decision: Decision) -> None:
        """On refusal: keep the log row (commit) and raise; nothing else was written."""
        if not decision:
            s.commit()
            raise AccessDenied(decision.reason)

    @staticmethod
    def _default_context(actor: Actor) -> AccessContext:
        if actor.kind is ActorKind.FOREIGN:
            return AccessContext.CROSS_BORDER
        if actor.kind in (ActorKind.PATIENT, ActorKind.HELPER):
            return AccessContext.PATIENT
        return AccessContext.TREATMENT

    @staticmethod
    def _patient(s: Session, patient_id: int) -> Patient:
        patient = s.get(Patient, patient_id)
        if patient is None:
            raise NotFound("unknown patient")
        return patient

    @staticmethod
    def _patient_row(s: Session, patient_id: int) -> _PatientRow:
        row = s.connection().execute(_PATIENT_ROW, {"id": patient_id}).first()
        if row is None:
            raise NotFound("unknown patient")
        return _PatientRow(*row)

    @staticmethod
    def _professional(s: Session, professional_id: int) -> Professional:
        prof = s.get(Professional, professional_id)
        if prof is None:
            raise NotFound("unknown professional")
        return prof

    @staticmethod
    def _organisation_id(s: Session, identifier: str) -> int:
        org_id = s.scalar(select(Organisation.id).where(Organisation.identifier == identifier))
        if org_id is None:
            raise NotFound(f"unknown organisation {identifier}")
        return org_id


def new_document_uid() -> str:
    """A document unique id as an OID under 2.25 (UUID-derived), as XDS requires."""
    return f"2.25.{uuid.uuid4().int}"


#: A provisional record merged into another answers as unknown by its identifier (ncp.store.merge).
_NOT_MERGED_AWAY = ~exists().where(PatientMerge.source_patient_id == Patient.id,
                                   PatientMerge.target_patient_id != Patient.id)


class _PatientRow(NamedTuple):
    id: int
    dsp_state: str
    referring_doctor_id: int | None


def _fact_columns(patient_id: ColumnElement[int]) -> list[ColumnElement[bool]]:
    """The policy's facts about (patient, actor) as boolean columns, in :data:`_FACTS` order.

    Columns, not a query of their own, so that the hot queries answer the document, its
    patient and the facts at once. ``professional_id`` is NULL for actors other than a DSP
    professional (then the first five are false).
    """
    professional_id = bindparam("professional_id", type_=Integer)
    now = bindparam("now", type_=UtcDateTime())
    relationship = exists().where(
        TherapeuticRelationship.patient_id == patient_id,
        TherapeuticRelationship.professional_id == professional_id,
        TherapeuticRelationship.valid_from <= now,
        or_(TherapeuticRelationship.valid_to.is_(None), TherapeuticRelationship.valid_to > now))

    def rule(kind: AccessRuleKind) -> Exists:
        return exists().where(
            AccessRule.patient_id == patient_id, AccessRule.professional_id == professional_id,
            AccessRule.kind == kind.value, AccessRule.revoked_at.is_(None))

    emergency = exists().where(
        EmergencyAccess.patient_id == patient_id,
        EmergencyAccess.professional_id == professional_id,
        EmergencyAccess.started_at <= now, EmergencyAccess.expires_at > now)

    def consent(service: CrossBorderService) -> Exists:
        return exists().where(
            CrossBorderConsent.patient_id == patient_id,
            CrossBorderConsent.service == service.value, CrossBorderConsent.given_at <= now,
            or_(CrossBorderConsent.withdrawn_at.is_(None), CrossBorderConsent.withdrawn_at > now))

    return [relationship, rule(AccessRuleKind.GRANT), rule(AccessRuleKind.BLOCK),
            rule(AccessRuleKind.RESTRICTED), emergency,
            *(consent(service) for service in CrossBorderService)]


#: What the columns of :func:`_fact_columns` say, in order.
_FACTS = ("relationship", "granted", "blocked", "named_for_restricted", "emergency")


def _fact_params(actor: Actor, now: dt.datetime) -> dict[str, object]:
    professional = actor.professional_id if actor.kind is ActorKind.PROFESSIONAL else None
    return {"professional_id": professional, "now": now}


def _facts_of(actor: Actor, patient: Patient | _PatientRow,
              flags: Sequence[object]) -> Facts:
    """The policy's facts from the columns of :func:`_fact_columns`."""
    open_ = patient.dsp_state == DspState.OPEN.value
    if actor.kind is ActorKind.FOREIGN:
        consents = frozenset(service for service, flag in
                             zip(CrossBorderService, flags[len(_FACTS):], strict=True) if flag)
        return Facts(patient_id=patient.id, dsp_open=open_, consents=consents)
    if actor.kind is not ActorKind.PROFESSIONAL or actor.professional_id is None:
        return Facts(patient_id=patient.id, dsp_open=open_)
    return Facts(
        patient_id=patient.id, dsp_open=open_,
        **{name: bool(flag) for name, flag in zip(_FACTS, flags, strict=False)},
        referring_doctor=patient.referring_doctor_id == actor.professional_id,
    )


def _view_facts(actor: Actor, row: Sequence[object]) -> Facts:
    """The facts of a row of :data:`_VIEW` (document, patient, facts, ...)."""
    patient = _PatientRow(row[2], row[_DOC_COLUMNS], row[_DOC_COLUMNS + 1])  # type: ignore[arg-type]
    return _facts_of(actor, patient, row[_DOC_COLUMNS + 3:_DOC_COLUMNS + 3 + _FACT_COUNT])


def _document_columns(author: type[Professional], org: type[Organisation]) -> list[ColumnElement]:  # type: ignore[type-arg]
    """The columns :func:`_document_info` reads (author and organisation are aliases)."""
    return [
        Document.id, Document.unique_id, Document.patient_id, Document.doc_type,
        Document.title, Document.media_type, Document.author_professional_id,
        func.coalesce(Document.author_name,
                      author.given_name + literal(" ") + author.family_name),
        org.name, Document.created_at, Document.service_start, Document.confidentiality,
        Document.masked, Document.version, Document.series_id, Document.is_current,
        Document.content_size,
    ]


def _build_document_select() -> Select:  # type: ignore[type-arg]
    author = aliased(Professional, name="author")
    org = aliased(Organisation, name="org")
    return (
        select(*_document_columns(author, org))
        .outerjoin(author, author.id == Document.author_professional_id)
        .outerjoin(org, org.id == Document.organisation_id)
    )


_DOCUMENTS = _build_document_select()
#: Columns of :data:`_DOCUMENTS` (what :func:`_document_info` reads).
_DOC_COLUMNS = 17
_FACT_COUNT = len(_FACTS) + len(CrossBorderService)
_BY_UNIQUE_ID = _DOCUMENTS.where(Document.unique_id == bindparam("unique_id"))
#: A document, its patient (state, referring doctor, matricule) and the actor's facts: the
#: view a read through the policy needs, in one query.
_VIEW = (_BY_UNIQUE_ID.join(Patient, Patient.id == Document.patient_id)
         .add_columns(Patient.dsp_state, Patient.referring_doctor_id, Patient.matricule,
                      *_fact_columns(Document.patient_id)))
#: Its column holding the matricule, and the first column after it.
_VIEW_MATRICULE = _DOC_COLUMNS + 2
_VIEW_END = _DOC_COLUMNS + 3 + _FACT_COUNT
_READ_Q = Query(_VIEW.add_columns(Document.aad_version, Document.key_id,
                                  Document.wrapped_key, Document.nonce, Document.ciphertext))
#: A patient (id, state, referring doctor, matricule) and the actor's facts.
_PATIENT_FACTS = select(Patient.id, Patient.dsp_state, Patient.referring_doctor_id,
                        Patient.matricule, *_fact_columns(Patient.id)).where(
    Patient.id == bindparam("id"))
_CONSENTS = select(CrossBorderConsent.service).where(
    CrossBorderConsent.patient_id == bindparam("patient_id"),
    CrossBorderConsent.given_at <= bindparam("now", type_=UtcDateTime()),
    or_(CrossBorderConsent.withdrawn_at.is_(None),
        CrossBorderConsent.withdrawn_at > bindparam("now", type_=UtcDateTime())))
_SEALED = select(Document.aad_version, Document.key_id, Document.wrapped_key, Document.nonce,
                 Document.ciphertext).where(Document.id == bindparam("id"))
_SEALED_Q = Query(_SEALED)
_PATIENT_ROW = select(Patient.id, Patient.dsp_state, Patient.referring_doctor_id).where(
    Patient.id == bindparam("id"))
_LOG_INSERT = insert(AccessLogEntry)
_LOG_Q = Query(insert(AccessLogEntry).values({
    c: bindparam(c) for c in (
        "at", "patient_id", "actor_kind", "actor_professional_id", "actor_patient_id",
        "actor_name", "actor_organisation", "actor_country", "action", "what", "document_id",
        "context", "outcome", "detail")}))


@lru_cache(maxsize=8)
def _list_query(by_type: bool, since: bool, until: bool) -> Query:
    """A patient's current documents (newest first) with, on every row, the patient's state,
    referring doctor and matricule, the actor's facts and the patient id: the columns of
    :data:`_VIEW` plus the patient id, one row without document when there is none.

    The facts are computed from the ``patient_id`` parameter, not from the row, so the
    database evaluates them once for the query.
    """
    patient_id = bindparam("patient_id")
    author = aliased(Professional, name="author")
    org = aliased(Organisation, name="org")
    on = [Document.patient_id == Patient.id, Document.is_current.is_(True)]
    if by_type:
        on.append(Document.doc_type == bindparam("doc_type"))
    if since:
        on.append(Document.created_at >= bindparam("since", type_=UtcDateTime()))
    if until:
        on.append(Document.created_at < bindparam("until", type_=UtcDateTime()))
    return Query(
        select(*_document_columns(author, org), Patient.dsp_state, Patient.referring_doctor_id,
               Patient.matricule, *_fact_columns(patient_id), Patient.id)
        .select_from(Patient)
        .outerjoin(Document, and_(*on))
        .outerjoin(author, author.id == Document.author_professional_id)
        .outerjoin(org, org.id == Document.organisation_id)
        .where(Patient.id == patient_id)
        .order_by(Document.created_at.desc(), Document.id.desc()))


def _document_info(row: object) -> DocumentInfo:
    (id_, uid, pid, doc_type, title, media, author_id, author_name, org, created, start, conf,
     masked, version, series, current, size) = tuple(row)[:_DOC_COLUMNS]  # type: ignore[arg-type]
    return DocumentInfo(
        id=id_, unique_id=uid, patient_id=pid, doc_type=DocumentType(doc_type), title=title,
        media_type=media, author_professional_id=author_id, author_name=author_name,
        organisation=org, created_at=created, service_start=start,
        confidentiality=Confidentiality(conf), masked=bool(masked), version=version,
        series_id=series or id_, is_current=bool(current), content_size=size,
    )


def _doc_facts(info: DocumentInfo) -> DocumentFacts:
    return DocumentFacts(doc_type=info.doc_type, confidentiality=info.confidentiality,
                         masked=info.masked, author_professional_id=info.author_professional_id,
                         author_patient=info.author_professional_id is None)


def _patient_info(p: Patient) -> PatientInfo:
    return PatientInfo(
        id=p.id, matricule=p.matricule, given_name=p.given_name, family_name=p.family_name,
        birth_date=p.birth_date, gender=p.gender, street=p.street, postal_code=p.postal_code,
        city=p.city, country=p.country, preferred_language=p.preferred_language,
        dsp_state=p.dsp_state, referring_doctor_id=p.referring_doctor_id)


def _active_consent(s: Session, patient_id: int,
                    svc: CrossBorderService) -> list[CrossBorderConsent]:
    return list(s.scalars(select(CrossBorderConsent).where(and_(
        CrossBorderConsent.patient_id == patient_id, CrossBorderConsent.service == svc.value,
        CrossBorderConsent.withdrawn_at.is_(None)))))


def _may_supersede(actor: Actor, previous: Document) -> bool:
    if actor.kind in (ActorKind.PATIENT, ActorKind.HELPER):
        return previous.author_kind == "patient"
    if previous.doc_type == DocumentType.PATIENT_SUMMARY.value:
        return True  # the referring doctor (checked by the policy) keeps the summary current
    return actor.professional_id is not None and actor.professional_id == \
        previous.author_professional_id


def _author_kind(actor: Actor) -> str:
    if actor.kind in (ActorKind.PATIENT, ActorKind.HELPER):
        return "patient"
    return "foreign" if actor.kind is ActorKind.FOREIGN else "professional"


def _outcome(decision: Decision) -> Outcome:
    return Outcome.SUCCESS if decision else Outcome.DENIED


def _doc_type(value: DocumentType | str) -> DocumentType:
    try:
        return DocumentType(value)
    except ValueError:
        raise InvalidInput(f"unknown document type {value!r}") from None


#: Confidentiality codes from the least to the most restrictive.
_STRICTNESS = (Confidentiality.NORMAL, Confidentiality.RESTRICTED,
               Confidentiality.VERY_RESTRICTED)


def stricter(a: Confidentiality, b: Confidentiality) -> Confidentiality:
    """The more restrictive of two confidentiality codes."""
    return a if _STRICTNESS.index(a) >= _STRICTNESS.index(b) else b


def _confidentiality(value: Confidentiality | str) -> Confidentiality:
    try:
        return Confidentiality(value)
    except ValueError:
        raise InvalidInput(f"unknown confidentiality code {value!r} (N, R or V)") from None


def _service(value: CrossBorderService | str) -> CrossBorderService:
    try:
        return CrossBorderService(value)
    except ValueError:
        raise InvalidInput(f"unknown cross-border service {value!r}") from None
