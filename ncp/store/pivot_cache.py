"""The pivot cache: the eHDSI pivot of a national document, kept per document version.

Transcoding a national Patient Summary to its pivot costs a few milliseconds and gives the same
bytes every time for the same document version and the same terminology mappings, so the
responding gateway keeps the result. A cached pivot is clinical data like its source: it is
sealed with the same envelope encryption (its own data key, the associated data binding it to
the document and the variant), and it is only handed out after the access policy allowed the
read, with the access-log row written in the same transaction (:meth:`PivotCache.read`).

``variant`` names what produced the pivot (document kind and the version of the mapping files):
a new terminology release gives a new variant, so stale pivots are never served; old rows are
removed with :meth:`PivotCache.prune`. A document version never changes (a correction is a new
version, a new row in ``documents``), so the document id alone identifies the source.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    bindparam,
    delete,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ncp.errors import NcpError
from ncp.store import policy
from ncp.store.crypto import Sealed, TamperedContent, UnknownMasterKey
from ncp.store.errors import ContentTampered, NotFound
from ncp.store.models import Base, Patient, UtcDateTime
from ncp.store.policy import Actor
from ncp.store.records import (
    _BY_UNIQUE_ID,
    _SEALED,
    DocumentInfo,
    Records,
    _doc_facts,
    _document_info,
    _outcome,
)
from ncp.store.vocabulary import AccessAction, Outcome

__all__ = ["PivotCache", "PivotCacheEntry", "PivotRead"]


class PivotCacheEntry(Base):
    """One cached pivot document (encrypted), for one document version and one variant."""

    __tablename__ = "pivot_cache"
    __table_args__ = (UniqueConstraint("document_id", "variant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    variant: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    content_size: Mapped[int] = mapped_column(Integer)
    #: SHA-1 of the pivot (hex), the XDS ``hash`` slot of its query entry.
    sha1: Mapped[str] = mapped_column(String(40))
    key_id: Mapped[str] = mapped_column(String(40))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary(64))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)


@dataclass(frozen=True, slots=True)
class PivotRead:
    """An allowed read: the cached pivot when there is one, otherwise the national content."""

    info: DocumentInfo
    pivot: bytes | None
    national: bytes | None


_MATRICULE = select(Patient.matricule).where(Patient.id == bindparam("id"))
_CACHED = select(PivotCacheEntry.key_id, PivotCacheEntry.wrapped_key, PivotCacheEntry.nonce,
                 PivotCacheEntry.ciphertext)


def _aad(unique_id: str, variant: str) -> bytes:
    return f"pivot|{unique_id}|{variant}".encode()


class PivotCache:
    """Policy-checked reads that prefer the cached pivot, and writes of fresh pivots."""

    def __init__(self, records: Records) -> None:
        self.records = records

    def read(self, actor: Actor, unique_id: str, *,
             variant: Callable[[DocumentInfo], str | None],
             patient_id: int | None = None,
             patient_matricule: str | None = None,
             precheck: Callable[[DocumentInfo], None] | None = None) -> PivotRead:
        """Read one document version as ``actor`` (policy, access log), decrypting only what is
        needed: the cached pivot if present, else the stored document.

        ``variant(info)`` names the pivot wanted for that document (None: the document as
        stored, e.g. a PDF). With ``patient_id`` or ``patient_matricule``, a document of
        another patient is refused as unknown (logged in its owner's record, nothing read).
        Raises what :meth:`Records.read_document` raises (NotFound, AccessDenied,
        ContentTampered), with the same access-log rows. ``precheck(info)`` may refuse the
        document before it is read (e.g. the caller's rights for its kind): its NcpError is
        logged as a denied access and raised, nothing is read.
        """
        r = self.records
        with r._tx() as s:
            row = s.connection().execute(_BY_UNIQUE_ID, {"unique_id": unique_id}).first()
            other = row is not None and (
                (patient_id is not None and row.patient_id != patient_id)
                or (patient_matricule is not None and s.scalar(
                    _MATRICULE, {"id": row.patient_id}) != patient_matricule))
            if row is None or other:
                # logged in the record of the document's owner: the attempt concerned them
                owner = row.patient_id if row is not None else None
                r._log(s, actor, owner, AccessAction.READ, f"document {unique_id}",
                       r._default_context(actor), Outcome.ERROR,
                       detail="no such document" if row is None
                       else "document of another patient")
                s.commit()
                raise NotFound("unknown document")
            info = _document_info(row)
            if precheck is not None:
                try:
                    precheck(info)
                except NcpError as exc:
                    r._log(s, actor, info.patient_id, AccessAction.READ, info.title,
                           r._default_context(actor), Outcome.DENIED, document_id=info.id,
                           detail=exc.detail or exc.error.text)
                    s.commit()
                    raise
            patient = r._patient_row(s, info.patient_id)
            facts = r._facts(s, actor, patient)
            decision = policy.read_document(actor, facts, _doc_facts(info))
            r._log(s, actor, info.patient_id, AccessAction.READ, info.title, decision.context,
                   _outcome(decision), document_id=info.id, detail=decision.reason)
            r._enforce(s, decision)
            wanted = variant(info)
            cached = None if wanted is None else s.connection().execute(_CACHED.where(
                PivotCacheEntry.document_id == info.id,
                PivotCacheEntry.variant == wanted)).first()
            try:
                if cached is not None:
                    assert wanted is not None
                    try:
                        pivot = r._keys.get(cached.key_id).open(
                            Sealed(*cached), aad=_aad(info.unique_id, wanted))
                        return PivotRead(info, pivot, None)
                    except UnknownMasterKey:
                        pass  # sealed under a retired master key: transcode again
                sealed = s.connection().execute(_SEALED, {"id": info.id}).one()
                national = r._keys.get(sealed.key_id).open(Sealed(*sealed),
                                                           aad=info.unique_id.encode())
                return PivotRead(info, None, national)
            except TamperedContent:
                s.rollback()
                r._log_tampered(actor, info)
                raise ContentTampered("the stored document failed its integrity check") from None

    def put(self, info: DocumentInfo, *, variant: str, pivot: bytes) -> None:
        """Keep the pivot of ``info`` (a concurrent writer of the same pivot is not an error)."""
        r = self.records
        sealed = r._keys.current().seal(pivot, aad=_aad(info.unique_id, variant))
        digest = hashlib.sha1(pivot).hexdigest()  # noqa: S324 - the XDS hash is SHA-1
        try:
            with r._tx() as s:
                s.add(PivotCacheEntry(
                    document_id=info.id, variant=variant, created_at=r._clock(),
                    content_size=len(pivot), sha1=digest, key_id=sealed.key_id,
                    wrapped_key=sealed.wrapped_key, nonce=sealed.nonce,
                    ciphertext=sealed.ciphertext))
        except IntegrityError:
            pass  # another request cached the same pivot first: identical content

    def digests(self, document_ids: list[int], *, variant: str) -> dict[int, tuple[int, str]]:
        """Size and SHA-1 of the cached pivots of ``document_ids`` (metadata only, for query
        answers: the caller has already listed the documents through the policy)."""
        if not document_ids:
            return {}
        with self.records._sessions() as s:
            rows = s.execute(select(PivotCacheEntry.document_id, PivotCacheEntry.content_size,
                                    PivotCacheEntry.sha1)
                             .where(PivotCacheEntry.document_id.in_(document_ids),
                                    PivotCacheEntry.variant == variant)).all()
            return {r.document_id: (r.content_size, r.sha1) for r in rows}

    def prune(self, *, keep_variants: set[str]) -> int:
        """Remove cached pivots of other variants (after a terminology release)."""
        with self.records._tx() as s:
            result = s.execute(delete(PivotCacheEntry).where(
                PivotCacheEntry.variant.not_in(sorted(keep_variants))))
            return int(result.rowcount or 0)

    def count(self) -> int:
        """How many pivots are cached (operations and tests)."""
        with self.records._sessions() as s:
            return int(s.scalar(select(func.count()).select_from(PivotCacheEntry)) or 0)


