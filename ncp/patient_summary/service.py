"""Listing a patient's Patient Summary and original clinical documents for an XCA query.

The documents come from the record store through the access policy (foreign professional:
consent per service, never masked, restricted or very restricted documents, nothing from a
closed DSP). The Patient Summary is answered with its pivot entry and, when a renderer is
configured, its level 1 PDF linked to it by an XFRM association; no Patient Summary is the
warning 1102 (status Success). Original clinical documents are the PDFs the DSP holds for
laboratory results, discharge reports and imaging reports; none is the warning 1104.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ncp.cda.kinds import DocumentKind
from ncp.errors import ErrorCode, NcpError
from ncp.ihe.identifiers import PatientId
from ncp.ihe.rim import Association, DocumentEntry, xfrm_association
from ncp.patient_summary.documents import pivot_variant, rendition_variant
from ncp.patient_summary.entries import CLASS_OF_TYPE, ORCD_TYPES, EntryFactory
from ncp.store.dsp import Records
from ncp.store.pivot_cache import PivotCache
from ncp.store.policy import Actor
from ncp.store.vocabulary import DocumentType

__all__ = ["ORCD_CLASS_CODES", "PatientSummaryService", "QueryResult"]


@dataclass(frozen=True, slots=True)
class QueryResult:
    entries: list[DocumentEntry] = field(default_factory=list)
    associations: list[Association] = field(default_factory=list)
    #: Warnings or errors to report with the answer (1102, 1104, 1101).
    errors: list[NcpError] = field(default_factory=list)


class PatientSummaryService:
    def __init__(self, records: Records, cache: PivotCache, entries: EntryFactory, *,
                 with_renditions: bool = False) -> None:
        self.records = records
        self.cache = cache
        self.entries = entries
        self.with_renditions = with_renditions

    def find_summary(self, actor: Actor, patient_db_id: int, patient: PatientId) -> QueryResult:
        docs = self.records.list_documents(actor, patient_db_id,
                                           doc_type=DocumentType.PATIENT_SUMMARY)
        if not docs:
            return QueryResult(errors=[NcpError(ErrorCode.PS_NOT_FOUND)])
        ids = [d.id for d in docs]
        kind = DocumentKind.PATIENT_SUMMARY
        digests = self.cache.digests(ids, variant=pivot_variant(kind))
        l1_digests = self.cache.digests(ids, variant=rendition_variant(kind)) \
            if self.with_renditions else {}
        result = QueryResult()
        for doc in docs:
            size, sha1 = digests.get(doc.id, (None, None))
            structured = self.entries.structured(doc, patient, size=size, sha1=sha1)
            result.entries.append(structured)
            if self.with_renditions:
                l1_size, l1_sha1 = l1_digests.get(doc.id, (None, None))
                pdf = self.entries.rendition(doc, patient, size=l1_size, sha1=l1_sha1)
                result.entries.append(pdf)
                result.associations.append(xfrm_association(rendition=pdf, original=structured))
        return result

    def find_original(self, actor: Actor, patient_db_id: int, patient: PatientId,
                      class_codes: set[str]) -> QueryResult:
        wanted = {t for t in ORCD_TYPES if CLASS_OF_TYPE[t].value in class_codes}
        docs = [d for d in self.records.list_documents(actor, patient_db_id)
                if d.doc_type in wanted and d.media_type == "application/pdf"]
        if not docs:
            return QueryResult(errors=[NcpError(ErrorCode.ORCD_NOT_FOUND)])
        return QueryResult(entries=[self.entries.original(d, patient) for d in docs])


#: The class codes of original clinical documents we can answer (PDF only: no images here).
ORCD_CLASS_CODES = frozenset(CLASS_OF_TYPE[t].value for t in ORCD_TYPES)
