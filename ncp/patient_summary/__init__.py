"""The Patient Summary service of the responding gateway (and the original clinical documents,
which travel under the same consent): list them for an XCA query, hand out their pivot."""

from ncp.patient_summary.documents import CrossBorderDocuments, RetrievedDocument, pivot_variant
from ncp.patient_summary.entries import EntryFactory
from ncp.patient_summary.service import PatientSummaryService, QueryResult

__all__ = [
    "CrossBorderDocuments",
    "EntryFactory",
    "PatientSummaryService",
    "QueryResult",
    "RetrievedDocument",
    "pivot_variant",
]
