"""The originals of documents received from abroad, kept sealed beside their national form.

The DSP stores what its users read: an eDispensation sent by a pharmacy abroad is stored in the
national CDA profile, like every other DSP document (:func:`ncp.transform.to_national`). What the
foreign country actually sent is evidence of a cross-border exchange, and a national eHealth
agency keeps it: byte for byte, one row per stored document (:class:`ReceivedOriginal`),
written in the transaction that writes the document, so that neither exists without the other.

The original is patient data like its document: it is sealed with the same envelope encryption
(its own data key, wrapped by the active master key, re-wrapped by ``ncp keys rotate``), with
associated data binding the ciphertext to the document it belongs to, so a ciphertext moved onto
another row fails its integrity check. It is read only through the access policy of that
document, after its access-log row (:meth:`Originals.read`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ncp.store.crypto import Sealed, TamperedContent
from ncp.store.documents import DocumentInfo
from ncp.store.dsp import Records
from ncp.store.errors import ContentTampered, NotFound
from ncp.store.models import Document, ReceivedOriginal
from ncp.store.policy import Actor
from ncp.store.sealed import binding, on_reseal

__all__ = ["OriginalRead", "Originals", "keep_original"]

_KEPT = select(ReceivedOriginal.media_type, ReceivedOriginal.country,
               ReceivedOriginal.received_at, ReceivedOriginal.sha256, ReceivedOriginal.key_id,
               ReceivedOriginal.wrapped_key, ReceivedOriginal.nonce, ReceivedOriginal.ciphertext,
               ReceivedOriginal.aad_version)
#: 0: the document's unique id alone; 1: also its patient, its type and the sending country.
AAD_VERSION = 1


def original_aad(version: int, unique_id: str, patient_id: int, doc_type: str,
                 country: str) -> bytes:
    """Binds a sealed original to its document, the document's patient and type and the
    country that sent it (issue 14, finding 8: an original moved to another patient's document
    fails to open), apart from the document's own ciphertext."""
    if version == 0:
        return f"original|{unique_id}".encode()
    return binding("ncp-original-v1", unique_id, patient_id, doc_type, country)


def _aad(info: DocumentInfo, country: str, version: int = AAD_VERSION) -> bytes:
    return original_aad(version, info.unique_id, info.patient_id, info.doc_type.value, country)


def reseal_originals(records: Records, s: Session, document: Document, content_of: Callable[
        [ReceivedOriginal], bytes] | None = None) -> None:
    """Seal again the original of ``document`` (inside the caller's transaction) under the
    document's current patient: ``content_of`` opens it under the old binding."""
    kept = s.scalars(select(ReceivedOriginal).where(
        ReceivedOriginal.document_id == document.id)).one_or_none()
    if kept is None or content_of is None:
        return
    content = content_of(kept)
    sealed = records.keys.current().seal(content, aad=original_aad(
        AAD_VERSION, document.unique_id, document.patient_id, document.doc_type, kept.country))
    kept.aad_version, kept.key_id, kept.wrapped_key = AAD_VERSION, sealed.key_id, \
        sealed.wrapped_key
    kept.nonce, kept.ciphertext = sealed.nonce, sealed.ciphertext


def opener(records: Records, document: Document) -> Callable[[ReceivedOriginal], bytes]:
    """Opens the original of ``document`` under the binding it has now (before a change)."""
    uid, pid, kind = document.unique_id, document.patient_id, document.doc_type

    def open_(kept: ReceivedOriginal) -> bytes:
        return records.keys.get(kept.key_id).open(
            Sealed(kept.key_id, kept.wrapped_key, kept.nonce, kept.ciphertext),
            aad=original_aad(kept.aad_version, uid, pid, kind, kept.country))

    return open_


@dataclass(frozen=True, slots=True)
class OriginalRead:
    """An allowed read of a received original: its document, what was received, and when."""

    info: DocumentInfo
    content: bytes
    media_type: str
    country: str
    received_at: dt.datetime
    sha256: str


def keep_original(records: Records, s: Session, info: DocumentInfo, content: bytes, *,
                  country: str, media_type: str = "text/xml") -> None:
    """Seal ``content`` as the original of the just written document ``info``, inside the
    caller's transaction (the write of the document was already allowed by the policy)."""
    country = country[:2].upper()
    sealed = records.keys.current().seal(content, aad=_aad(info, country))
    s.add(ReceivedOriginal(
        document_id=info.id, country=country, received_at=info.created_at,
        aad_version=AAD_VERSION,
        media_type=media_type, content_size=len(content),
        sha256=hashlib.sha256(content).hexdigest(), key_id=sealed.key_id,
        wrapped_key=sealed.wrapped_key, nonce=sealed.nonce, ciphertext=sealed.ciphertext))


class Originals:
    """Policy-checked reads of the originals kept beside documents."""

    def __init__(self, records: Records) -> None:
        self.records = records

    def read(self, actor: Actor, unique_id: str) -> OriginalRead:
        """The original received for the document ``unique_id``, if ``actor`` may read that
        document: the read goes through :meth:`Records.read_document` (same policy, same
        access-log row, written before anything is opened).

        Raises what that raises (NotFound, AccessDenied, ContentTampered), NotFound for a
        document without an original, ContentTampered for an original that fails its check.
        """
        r = self.records
        info, _national = r.read_document(actor, unique_id)
        with r._read() as s:
            kept = s.execute(_KEPT.where(ReceivedOriginal.document_id == info.id)).first()
        if kept is None:
            raise NotFound("no original was received for this document")
        try:
            content = r.keys.get(kept.key_id).open(
                Sealed(kept.key_id, kept.wrapped_key, kept.nonce, kept.ciphertext),
                aad=_aad(info, kept.country, kept.aad_version))
        except TamperedContent:
            r._log_tampered(actor, info)
            raise ContentTampered("the kept original failed its integrity check") from None
        return OriginalRead(info, content, kept.media_type, kept.country, kept.received_at,
                            kept.sha256)


@on_reseal("received_originals")
def _reseal_legacy(records: Records, batch: int) -> int:
    """Seal again the originals kept under the unique id alone (before ``0021``)."""
    done = 0
    while True:
        with records._tx() as s:
            docs = s.scalars(select(Document).join(
                ReceivedOriginal, ReceivedOriginal.document_id == Document.id)
                .where(ReceivedOriginal.aad_version < AAD_VERSION).limit(batch)).all()
            for doc in docs:
                reseal_originals(records, s, doc, opener(records, doc))
        done += len(docs)
        if len(docs) < batch:
            return done
