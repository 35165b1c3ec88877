"""Handing out a shared document in its cross-border form (XCA retrieve).

- Patient Summary and ePrescription: the eHDSI pivot, transcoded from the national document
  (:func:`ncp.transform.to_pivot`) and cached per document version and mapping release
  (:mod:`ncp.store.pivot_cache`); a transcoding failure is the document's error
  (ERROR_*_MISSING_EXPECTED_MAPPING, 4203), never a silent fallback to the national document.
- Their level 1 rendition (unique id + ``.1``): the level 1 CDA (XDS-SD) holding a PDF made
  from the pivot by the configured renderer (:mod:`ncp.rendering`), cached like the pivot;
  without a renderer the id is unknown.
- Original clinical documents: the PDF as the DSP holds it.

Every read goes through the store's access policy (consent, masked, restricted, closed DSP) and
leaves its access-log row; a document of another patient than the TRC's is "unknown".
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from ncp.cda.kinds import DocumentKind
from ncp.errors import ErrorCode, NcpError
from ncp.patient_summary.entries import ORCD_TYPES, PDF_SUFFIX
from ncp.store.documents import DocumentInfo
from ncp.store.errors import AccessDenied, NotFound
from ncp.store.pivot_cache import PivotCache
from ncp.store.policy import Actor
from ncp.store.vocabulary import DocumentType
from ncp.terminology.service import Terminology
from ncp.terminology.sources import DATA_DIR
from ncp.transform import to_pivot

__all__ = [
    "CrossBorderDocuments",
    "PdfRenderer",
    "RetrievedDocument",
    "level1_renderer",
    "pivot_variant",
    "rendition_variant",
]

#: Renders a pivot CDA of ``kind`` as its level 1 document (an XDS-SD CDA holding the PDF).
PdfRenderer = Callable[[bytes, DocumentKind], bytes]


def level1_renderer(pivot: bytes, kind: DocumentKind) -> bytes:
    """The renderer of :mod:`ncp.rendering`: the eHDSI level 1 CDA with the PDF of the pivot."""
    from ncp.rendering.pdf import level1_cda

    return level1_cda(pivot)

_KIND_OF_TYPE = {
    DocumentType.PATIENT_SUMMARY: DocumentKind.PATIENT_SUMMARY,
    DocumentType.PRESCRIPTION: DocumentKind.EPRESCRIPTION,
}


@functools.lru_cache(maxsize=1)
def _mappings_tag() -> str:
    """A short digest of the national mapping files: a new release gives new cache variants."""
    digest = hashlib.sha256()
    for path in sorted((DATA_DIR / "mappings").glob("*.csv")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def pivot_variant(kind: DocumentKind) -> str:
    """The pivot cache variant of ``kind`` under the current mapping files."""
    return f"{kind.slug}|{_mappings_tag()}"


def rendition_variant(kind: DocumentKind) -> str:
    """The cache variant of the level 1 rendition (L1 CDA with the PDF) of ``kind``."""
    return f"{kind.slug}-l1|{_mappings_tag()}"


@dataclass(frozen=True, slots=True)
class RetrievedDocument:
    unique_id: str
    mime_type: str
    content: bytes
    info: DocumentInfo
    #: True when the national document was transcoded for this request (not from the cache).
    transcoded: bool = False


class UnknownDocument(NcpError):
    """Unknown, not shared, or not this patient's: one answer for all (4202), so that a
    masked or restricted document cannot be told from one that does not exist."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(ErrorCode.UNKNOWN_SIGNIFIER, detail)


class CrossBorderDocuments:
    """Retrieve documents in their cross-border form, through the policy and the cache."""

    def __init__(self, cache: PivotCache, terminology: Terminology, *,
                 renderer: PdfRenderer | None = None) -> None:
        self.cache = cache
        self.terminology = terminology
        self.renderer = renderer

    def retrieve(self, actor: Actor, unique_id: str, *, patient_id: int | None = None,
                 matricule: str | None = None,
                 precheck: Callable[[DocumentInfo], None] | None = None) -> RetrievedDocument:
        """The document ``unique_id`` of the patient (by internal id or matricule) as ``actor``
        may receive it.

        Raises :class:`UnknownDocument` (4202) for anything not shared with ``actor``,
        :class:`ncp.transform.TranscodingError` (45xx/4203) when the pivot cannot be made, and
        what ``precheck(info)`` raises (before anything is read).
        """
        if patient_id is None and matricule is None:
            raise ValueError("the patient the document must belong to is required")
        rendition = unique_id.endswith(PDF_SUFFIX) and self.renderer is not None
        source_id = unique_id[: -len(PDF_SUFFIX)] if rendition else unique_id

        def variant(info: DocumentInfo) -> str | None:
            kind = _KIND_OF_TYPE.get(info.doc_type)
            if kind is None:
                return None
            return rendition_variant(kind) if rendition else pivot_variant(kind)

        try:
            read = self.cache.read(actor, source_id, variant=variant, patient_id=patient_id,
                                   patient_matricule=matricule, precheck=precheck)
        except NotFound:
            raise UnknownDocument("no such document for this patient") from None
        except AccessDenied as exc:  # the policy: masked, R/V, closed DSP, consent
            if exc.detail.startswith("no consent"):  # the policy's consent refusal
                raise NcpError(ErrorCode.NO_CONSENT, exc.detail) from None
            raise UnknownDocument(f"not shared: {exc.detail}") from None
        info = read.info
        kind = _KIND_OF_TYPE.get(info.doc_type)
        if kind is None:
            if rendition or info.doc_type not in ORCD_TYPES or info.media_type != \
                    "application/pdf" or read.national is None:
                raise UnknownDocument("not a document shared across borders")
            return RetrievedDocument(unique_id, "application/pdf", read.national, info)
        if read.pivot is not None:  # the cached pivot, or the cached level 1 rendition
            return RetrievedDocument(unique_id, "text/xml", read.pivot, info)
        assert read.national is not None
        pivot = to_pivot(read.national, kind=kind, terminology=self.terminology).document
        self.cache.put(info, variant=pivot_variant(kind), pivot=pivot)
        if not rendition:
            return RetrievedDocument(unique_id, "text/xml", pivot, info, transcoded=True)
        assert self.renderer is not None
        level1 = self.renderer(pivot, kind)
        self.cache.put(info, variant=rendition_variant(kind), pivot=level1)
        return RetrievedDocument(unique_id, "text/xml", level1, info, transcoded=True)
