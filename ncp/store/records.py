"""Compatibility: the record service's names where they were before the store was split by
aggregate (issue 17). New code imports from the aggregate's module (:mod:`ncp.store.dsp` for
:class:`Records`; the map is in :mod:`ncp.store.dsp` and docs/architecture.md)."""

from __future__ import annotations

from ncp.store.access_log import _LOG_Q, AlertInfo, LogEntry, NoticeInfo
from ncp.store.documents import (
    _DOCUMENTS,
    _SEALED_Q,
    _VIEW,
    _VIEW_END,
    _VIEW_MATRICULE,
    AAD_VERSION,
    MAX_CONTENT_BYTES,
    MEDIA_TYPES,
    DocumentImport,
    DocumentInfo,
    _document_info,
    document_aad,
    info_aad,
    new_document_uid,
    stored_document_aad,
    stricter,
)
from ncp.store.dsp import Records
from ncp.store.facts import _fact_params
from ncp.store.identity import PatientImport, PatientInfo
from ncp.store.record_service import utcnow
from ncp.store.relationships import (
    AFTER_DISCHARGE,
    EMERGENCY_LIMIT,
    EMERGENCY_LIMIT_WINDOW,
    EMERGENCY_WINDOW,
    VISIT_PERIOD,
    RelationshipInfo,
)

__all__ = [
    "AAD_VERSION", "AFTER_DISCHARGE", "EMERGENCY_LIMIT", "EMERGENCY_LIMIT_WINDOW",
    "EMERGENCY_WINDOW", "MAX_CONTENT_BYTES", "MEDIA_TYPES", "VISIT_PERIOD", "_DOCUMENTS",
    "_LOG_Q", "_SEALED_Q", "_VIEW", "_VIEW_END", "_VIEW_MATRICULE", "AlertInfo",
    "DocumentImport", "DocumentInfo", "LogEntry", "NoticeInfo", "PatientImport", "PatientInfo",
    "Records", "RelationshipInfo", "_document_info", "_fact_params", "document_aad", "info_aad",
    "new_document_uid", "stored_document_aad", "stricter", "utcnow",
]
