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
    delete,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ncp.errors import NcpError
from ncp.store import sealed
from ncp.store.access_log import _LOG_Q
from ncp.store.crypto import Sealed, TamperedContent, UnknownMasterKey
from ncp.store.documents import (
    _SEALED_Q,
    _VIEW,
    _VIEW_END,
    _VIEW_MATRICULE,
    DocumentInfo,
    _document_info,
    info_aad,
)
from ncp.store.dsp import Records
from ncp.store.errors import ContentTampered, NotFound
from ncp.store.facts import _fact_params
from ncp.store.models import Base, Document, UtcDateTime
from ncp.store.policy import Actor
from ncp.store.sealed import binding
from ncp.store.unit import Query, unit
from ncp.store.vocabulary import AccessAction, Outcome

__all__ = ["PivotCache", "PivotCacheEntry", "PivotRead"]


@sealed.table('ciphertext')
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


#: The read view of a document (see ``records._VIEW``) with each of its cached pivots (a row
#: per variant, a handful at most; one row of NULLs when none), sealed.
_PIVOT_VIEW_Q = Query(
    _VIEW.outerjoin(PivotCacheEntry, PivotCacheEntry.document_id == Document.id)
    .add_columns(PivotCacheEntry.variant, PivotCacheEntry.key_id, PivotCacheEntry.wrapped_key,
                 PivotCacheEntry.nonce, PivotCacheEntry.ciphertext))


def _aad(info: DocumentInfo, variant: str) -> bytes:
    """A cached pivot's associated data: the document version it was made from, its patient
    and type, and the variant (issue 14, finding 8: a pivot moved to another patient's document
    fails to open; entries sealed with the unique id and variant alone were dropped by
    migration ``0021``). Not the mask or confidentiality: those change with the patient's
    choices, and the policy decides on the document's own fields before a pivot is opened."""
    return binding("ncp-pivot-v2", info.unique_id, info.patient_id, info.doc_type.value,
                   variant)


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
        now = r._clock()
        with unit(r._engine) as u:
            # One query: the document with its patient, the actor's facts and the cached
            # pivots of the document (a row each, sealed; opened only after the policy allowed
            # the read). Then the log row and the commit; the national content is read only on
            # a cache miss.
            [rows] = u.fetch((_PIVOT_VIEW_Q, {"unique_id": unique_id,
                                              **_fact_params(actor, now)}))
            row = rows[0] if rows else None
            other = row is not None and (
                (patient_id is not None and row[2] != patient_id)
                or (patient_matricule is not None and row[_VIEW_MATRICULE] != patient_matricule))
            if row is None or other:
                # logged in the record of the document's owner: the attempt concerned them
                owner = row[2] if row is not None else None
                u.write(_LOG_Q, r._log_row(actor, owner, AccessAction.READ,
                                           f"document {unique_id}", r._default_context(actor),
                                           Outcome.ERROR, at=now,
                                           detail="no such document" if row is None
                                           else "document of another patient"))
                u.commit()
                raise NotFound("unknown document")
            info = _document_info(row, r._keys)
            if precheck is not None:
                try:
                    precheck(info)
                except NcpError as exc:
                    u.write(_LOG_Q, r._log_row(actor, info.patient_id, AccessAction.READ,
                                               info.title, r._default_context(actor),
                                               Outcome.DENIED, document_id=info.id, at=now,
                                               detail=exc.detail or exc.error.text))
                    u.commit()
                    raise
            r._decide_read(u, actor, row, info, now)
            wanted = variant(info)
            cached = None if wanted is None else next(
                (c[_VIEW_END + 1:] for c in rows if c[_VIEW_END] == wanted), None)
            try:
                if cached is not None:
                    assert wanted is not None
                    try:
                        pivot = r._keys.get(cached[0]).open(
                            Sealed(*cached), aad=_aad(info, wanted))
                        u.commit()  # the log row is durable before the pivot leaves
                        return PivotRead(info, pivot, None)
                    except UnknownMasterKey:
                        pass  # sealed under a retired master key: transcode again
                sealed = u.fetch((_SEALED_Q, {"id": info.id}))[0][0]
                national = r._keys.get(sealed[1]).open(Sealed(*sealed[1:]),
                                                       aad=info_aad(sealed[0], info))
                u.commit()
                return PivotRead(info, None, national)
            except TamperedContent:
                u.rollback()
                r._log_tampered(actor, info)
                raise ContentTampered("the stored document failed its integrity check") from None

    def put(self, info: DocumentInfo, *, variant: str, pivot: bytes) -> None:
        """Keep the pivot of ``info`` (a concurrent writer of the same pivot is not an error)."""
        r = self.records
        sealed = r._keys.current().seal(pivot, aad=_aad(info, variant))
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
        with self.records._read() as s:
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
        with self.records._read() as s:
            return int(s.scalar(select(func.count()).select_from(PivotCacheEntry)) or 0)


