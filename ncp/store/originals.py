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
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ncp.store.crypto import Sealed, TamperedContent
from ncp.store.documents import DocumentInfo
from ncp.store.dsp import Records
from ncp.store.errors import ContentTampered, NotFound
from ncp.store.models import ReceivedOriginal
from ncp.store.policy import Actor

__all__ = ["OriginalRead", "Originals", "keep_original"]

_KEPT = select(ReceivedOriginal.media_type, ReceivedOriginal.country,
               ReceivedOriginal.received_at, ReceivedOriginal.sha256, ReceivedOriginal.key_id,
               ReceivedOriginal.wrapped_key, ReceivedOriginal.nonce, ReceivedOriginal.ciphertext)


def _aad(unique_id: str) -> bytes:
    """Binds a sealed original to its document (and keeps it apart from the document's own
    ciphertext, whose associated data is the bare unique id)."""
    return f"original|{unique_id}".encode()


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
    sealed = records.keys.current().seal(content, aad=_aad(info.unique_id))
    s.add(ReceivedOriginal(
        document_id=info.id, country=country[:2].upper(), received_at=info.created_at,
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
                aad=_aad(info.unique_id))
        except TamperedContent:
            r._log_tampered(actor, info)
            raise ContentTampered("the kept original failed its integrity check") from None
        return OriginalRead(info, content, kept.media_type, kept.country, kept.received_at,
                            kept.sha256)
