"""XCA (ITI-38 query, ITI-39 retrieve) messages."""

from ncp.ihe.xca import query, retrieve
from ncp.ihe.xca.query import FindDocumentsQuery, ObjectRef, QueryResponse
from ncp.ihe.xca.retrieve import (
    DocumentRequest,
    DocumentResponse,
    RetrieveRequest,
    RetrieveResponse,
)

__all__ = [
    "DocumentRequest",
    "DocumentResponse",
    "FindDocumentsQuery",
    "ObjectRef",
    "QueryResponse",
    "RetrieveRequest",
    "RetrieveResponse",
    "query",
    "retrieve",
]
