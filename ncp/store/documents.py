"""Documents: series of versions, sealed at rest, with their confidentiality and mask.

Each version is sealed under its own data key (:mod:`ncp.store.crypto`) with associated data
binding it to its patient and access fields (:func:`document_aad`). The national content's
other forms live beside it: the received originals (:mod:`ncp.store.originals`), the pivot
cache (:mod:`ncp.store.pivot_cache`), the insurer's summary of services
(:mod:`ncp.store.services`) and the dispensations (:mod:`ncp.store.dispensing`).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from ncp.store import policy
from ncp.store.access_log import _LOG_Q, AccessLogRecords
from ncp.store.crypto import KeyRing, Sealed, TamperedContent, open_text, seal_text
from ncp.store.errors import AccessDenied, ContentTampered, InvalidInput, NotFound
from ncp.store.facts import _FACTS, _fact_columns, _fact_params, _facts_of, _PatientRow
from ncp.store.keys import KeyRingSource
from ncp.store.models import (
    AccessLogEntry,
    Document,
    Organisation,
    Patient,
    Professional,
    UtcDateTime,
)
from ncp.store.policy import Actor, Decision, DocumentFacts, Facts
from ncp.store.record_service import _outcome
from ncp.store.sealed import field_aad, on_reseal
from ncp.store.unit import Query, Unit, unit
from ncp.store.vocabulary import (
    AccessAction,
    AccessContext,
    ActorKind,
    Confidentiality,
    CrossBorderService,
    DocumentType,
    Outcome,
)

#: Media types a document may have in the DSP.
MEDIA_TYPES = frozenset({"text/xml", "application/pdf", "text/plain", "image/jpeg", "image/png"})
#: Largest document content accepted, in bytes.
MAX_CONTENT_BYTES = 20 * 1024 * 1024
#: Version of a document ciphertext's associated data: 0, the unique id alone (rows from
#: before issue 14); 1, the unique id and the access fields (see :func:`document_aad`); 2, the
#: same under a new label, and the title sealed beside the content (``title_sealed``, issue 14
#: finding 8): the label keeps a version-2 row from passing for an older one whose title was
#: plaintext.
AAD_VERSION = 2
#: What a list shows for a title that failed its integrity check (the content then fails too).
TAMPERED_TITLE = "(title failed its integrity check)"


def document_aad(unique_id: str, patient_id: int, doc_type: str, masked: bool,
                 confidentiality: str, version: int = AAD_VERSION) -> bytes:
    """The associated data of a document's ciphertext: its id, its patient and the fields
    access decisions read (type, mask, confidentiality).

    Why: with the id alone, someone with write access to the database (not to the keys) could
    move a document to another patient's record, unmask it or lower its confidentiality, and
    the change would go unseen; now each of those makes the content fail to open.
    """
    return "\x00".join((f"ncp-document-v{version}", unique_id, str(patient_id), doc_type,
                        "1" if masked else "0", confidentiality)).encode()


def stored_document_aad(version: int, unique_id: str, patient_id: int, doc_type: str,
                        masked: bool, confidentiality: str) -> bytes:
    if version == 0:
        return unique_id.encode()
    return document_aad(unique_id, patient_id, doc_type, masked, confidentiality, version)


def sealed_document(ring: KeyRing, unique_id: str, patient_id: int, doc_type: str,
                    masked: bool, confidentiality: str, content: bytes,
                    title: str) -> dict[str, object]:
    """The sealed columns of one document version: the content and the title under one fresh
    data key, both bound to the document's id, patient and access fields."""
    aad = document_aad(unique_id, patient_id, doc_type, masked, confidentiality)
    key_id, wrapped, data_key = ring.envelope()
    nonce = os.urandom(12)
    return {"aad_version": AAD_VERSION, "key_id": key_id, "wrapped_key": wrapped,
            "nonce": nonce, "ciphertext": AESGCM(data_key).encrypt(nonce, content, aad),
            "title": None, "title_sealed": seal_text(data_key, title, field_aad(aad, "title"))}


def open_title(keys: KeyRingSource, version: int, unique_id: str, patient_id: int,
               doc_type: str, masked: bool, confidentiality: str, key_id: str,
               wrapped_key: bytes, title: str | None, title_sealed: bytes | None) -> str:
    """A stored document's title: sealed (version 2), or the plaintext of an older row not yet
    re-sealed. A title that does not open (changed, or its row moved to another patient or
    unmasked) is shown as :data:`TAMPERED_TITLE`; the content refuses to open likewise."""
    if title_sealed is None:
        return TAMPERED_TITLE if version >= 2 else (title or "")
    if version < 2:
        return TAMPERED_TITLE
    aad = stored_document_aad(version, unique_id, patient_id, doc_type, masked, confidentiality)
    try:
        key = keys.get(key_id).data_key(key_id, wrapped_key)
        return open_text(key, title_sealed, field_aad(aad, "title")) or ""
    except TamperedContent:
        return TAMPERED_TITLE


def info_aad(version: int, info: DocumentInfo) -> bytes:
    return stored_document_aad(version, info.unique_id, info.patient_id, info.doc_type.value,
                               info.masked, info.confidentiality.value)



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
class DocumentImport:
    patient_id: int
    author: int
    doc_type: str
    title: str
    media_type: str
    content: bytes
    created_at: dt.datetime | None = None



class DocumentRecords(AccessLogRecords):
    """Listing, reading, writing, versioning, masking and importing documents."""

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
            docs = [_document_info(row, self._keys) for row in rows if row[0] is not None]
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
            info = _document_info(row, self._keys)
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
            docs = [_document_info(r, self._keys) for r in rows]
            decision = policy.read_document(actor, facts, _doc_facts(docs[-1]))
            self._log(s, actor, head.patient_id, AccessAction.SEARCH, "document versions",
                      decision.context, _outcome(decision), document_id=docs[-1].id,
                      detail=decision.reason)
            self._enforce(s, decision)
            return docs

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
            unique_id=new_uid, patient_id=patient_id, doc_type=kind.value,
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
        self._seal_document(doc, content, title)
        s.add(doc)
        s.flush()
        if doc.series_id is None:
            doc.series_id = doc.id
        self._log(s, actor, patient_id, action, title, decision.context,
                  _outcome(decision), document_id=doc.id, detail=decision.reason)
        row = s.execute(_DOCUMENTS.where(Document.id == doc.id)).one()
        return _document_info(row, self._keys)

    def _open_document(self, doc: Document) -> bytes:
        try:
            return self._keys.get(doc.key_id).open(
                Sealed(doc.key_id, doc.wrapped_key, doc.nonce, doc.ciphertext),
                aad=stored_document_aad(doc.aad_version, doc.unique_id, doc.patient_id,
                                        doc.doc_type, bool(doc.masked), doc.confidentiality))
        except TamperedContent:
            raise ContentTampered("the stored document failed its integrity check") from None

    def _open_title(self, doc: Document) -> str:
        return open_title(self._keys, doc.aad_version, doc.unique_id, doc.patient_id,
                          doc.doc_type, bool(doc.masked), doc.confidentiality, doc.key_id,
                          doc.wrapped_key, doc.title, doc.title_sealed)

    def _seal_document(self, doc: Document, content: bytes, title: str) -> None:
        """Seal ``content`` and ``title`` into ``doc`` under its current patient and access
        fields (a new data key; callers open both before changing those fields)."""
        for name, value in sealed_document(
                self._keys.current(), doc.unique_id, doc.patient_id, doc.doc_type,
                bool(doc.masked), doc.confidentiality, content, title).items():
            setattr(doc, name, value)

    def reseal_legacy_documents(self, *, batch: int = 200) -> int:
        """Re-seal the documents stored before their access fields were bound (``0015``) or
        their title sealed (``0021``), run by ``ncp keys reseal`` (it needs the key ring, which
        Alembic has not). Returns how many were re-sealed."""
        done = 0
        while True:
            with self._tx() as s:
                docs = s.scalars(select(Document).where(Document.aad_version < AAD_VERSION)
                                 .order_by(Document.id).limit(batch).with_for_update()).all()
                for doc in docs:
                    self._seal_document(doc, self._open_document(doc), self._open_title(doc))
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
                content, title = self._open_document(doc), self._open_title(doc)
                for name, value in values.items():
                    setattr(doc, name, value)
                self._seal_document(doc, content, title)

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
            docs.append({
                "unique_id": uid, "patient_id": item.patient_id, "doc_type": kind.value,
                "media_type": item.media_type,
                "author_kind": "professional", "author_professional_id": item.author,
                "created_at": item.created_at or now, "confidentiality": "N", "masked": False,
                "version": 1, "is_current": True, "content_size": len(item.content),
                **sealed_document(ring, uid, item.patient_id, kind.value, False, "N",
                                  item.content, item.title),
            })
        titles = {d["unique_id"]: item.title for d, item in zip(docs, items, strict=True)}
        with self._tx() as s:
            s.execute(insert(Document), docs)
            uids = list(titles)
            s.execute(update(Document).where(Document.unique_id.in_(uids))
                      .values(series_id=Document.id))
            system = Actor(ActorKind.SYSTEM)
            s.execute(insert(AccessLogEntry), [
                self._log_row(system, pid, AccessAction.WRITE, titles[uid],
                              AccessContext.ADMINISTRATION, Outcome.SUCCESS, document_id=id_,
                              detail="bulk import", at=now)
                for uid, id_, pid in s.execute(
                    select(Document.unique_id, Document.id, Document.patient_id)
                    .where(Document.unique_id.in_(uids)))])
        return len(docs)

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
            self._log(s, actor, doc.patient_id, AccessAction.UPDATE,
                      f"removed: {self._open_title(doc)}", decision.context,
                      _outcome(decision), document_id=doc.id, detail=decision.reason)
            self._enforce(s, decision)
            s.execute(update(Document).where(Document.series_id == doc.series_id)
                      .values(is_current=False))

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

    def _log_tampered(self, actor: Actor, info: DocumentInfo) -> None:
        with self._tx() as s:
            self._log(s, actor, info.patient_id, AccessAction.READ, info.title,
                      self._default_context(actor), Outcome.ERROR, document_id=info.id,
                      detail="stored content failed its integrity check")


def new_document_uid() -> str:
    """A document unique id as an OID under 2.25 (UUID-derived), as XDS requires."""
    return f"2.25.{uuid.uuid4().int}"


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
        Document.content_size, Document.aad_version, Document.key_id, Document.wrapped_key,
        Document.title_sealed,
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
_DOC_COLUMNS = 21
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
_SEALED = select(Document.aad_version, Document.key_id, Document.wrapped_key, Document.nonce,
                 Document.ciphertext).where(Document.id == bindparam("id"))
_SEALED_Q = Query(_SEALED)


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


def _document_info(row: object, keys: KeyRingSource) -> DocumentInfo:
    """A row of :data:`_DOCUMENTS` (or a view that starts with its columns), its title opened."""
    (id_, uid, pid, doc_type, title, media, author_id, author_name, org, created, start, conf,
     masked, version, series, current, size, aad_version, key_id, wrapped, title_sealed
     ) = tuple(row)[:_DOC_COLUMNS]  # type: ignore[arg-type]
    return DocumentInfo(
        id=id_, unique_id=uid, patient_id=pid, doc_type=DocumentType(doc_type),
        title=open_title(keys, aad_version, uid, pid, doc_type, bool(masked), conf, key_id,
                         wrapped, title, title_sealed),
        media_type=media, author_professional_id=author_id, author_name=author_name,
        organisation=org, created_at=created, service_start=start,
        confidentiality=Confidentiality(conf), masked=bool(masked), version=version,
        series_id=series or id_, is_current=bool(current), content_size=size,
    )


def _doc_facts(info: DocumentInfo) -> DocumentFacts:
    return DocumentFacts(doc_type=info.doc_type, confidentiality=info.confidentiality,
                         masked=info.masked, author_professional_id=info.author_professional_id,
                         author_patient=info.author_professional_id is None)



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



@on_reseal("documents")
def _reseal_documents(records: DocumentRecords, batch: int) -> int:
    return records.reseal_legacy_documents(batch=batch)
