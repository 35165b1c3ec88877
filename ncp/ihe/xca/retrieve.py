"""XCA Cross Gateway Retrieve (ITI-39): RetrieveDocumentSetRequest and its response.

Documents in a response travel either as inline base64 or, with MTOM, as an ``xop:Include``
whose MIME part the SOAP layer has already split out: parsing takes the Content-ID -> bytes map
(:attr:`ncp.soap.SoapMessage.attachments`), building fills one when the caller wants MTOM.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree

from ncp.ihe import _xml as x
from ncp.ihe import rim
from ncp.ihe.codes import ResponseStatus
from ncp.ihe.errors import MissingElementError
from ncp.ihe.rim import RegistryError
from ncp.xmlutil import qname


def X(local: str) -> str:
    return qname("xds", local)


@dataclass(frozen=True, kw_only=True, slots=True)
class DocumentRequest:
    """One requested document. ``home_community_id`` is required by XCA but absent from some
    deployed clients; it is None then and the service decides."""

    repository_unique_id: str
    document_unique_id: str
    home_community_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class RetrieveRequest:
    documents: tuple[DocumentRequest, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class DocumentResponse:
    repository_unique_id: str
    document_unique_id: str
    mime_type: str
    document: bytes
    home_community_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class RetrieveResponse:
    status: ResponseStatus
    documents: tuple[DocumentResponse, ...] = ()
    errors: tuple[RegistryError, ...] = ()

    @classmethod
    def of(cls, *, documents: tuple[DocumentResponse, ...] = (),
           errors: tuple[RegistryError, ...] = ()) -> RetrieveResponse:
        """A response whose status follows from its errors and documents."""
        return cls(status=rim.status_for(errors, has_results=bool(documents)),
                   documents=documents, errors=errors)


def _ids(el: etree._Element) -> dict[str, str | None]:
    hcid = x.opt(el, X("HomeCommunityId"))
    return {
        "home_community_id": x.text(hcid) if hcid is not None else None,
        "repository_unique_id": x.text(x.one(el, X("RepositoryUniqueId"))),
        "document_unique_id": x.text(x.one(el, X("DocumentUniqueId"))),
    }


def parse_request(el: etree._Element) -> RetrieveRequest:
    x.expect_root(el, X("RetrieveDocumentSetRequest"))
    requests = x.children(el, X("DocumentRequest"))
    if not requests:
        raise MissingElementError("no DocumentRequest", location=x.where(el))
    return RetrieveRequest(documents=tuple(DocumentRequest(**_ids(r))  # type: ignore[arg-type]
                                           for r in requests))


def parse_response(el: etree._Element,
                   attachments: Mapping[str, bytes] | None = None) -> RetrieveResponse:
    """Read a RetrieveDocumentSetResponse; ``attachments`` resolves ``xop:Include``."""
    x.expect_root(el, X("RetrieveDocumentSetResponse"))
    rr = x.one(el, qname("rs", "RegistryResponse"))
    documents = []
    for d in x.children(el, X("DocumentResponse")):
        documents.append(DocumentResponse(
            mime_type=x.text(x.one(d, X("mimeType"))),
            document=x.read_binary(x.one(d, X("Document")), attachments),
            **_ids(d),  # type: ignore[arg-type]
        ))
    return RetrieveResponse(status=rim.read_status(rr), documents=tuple(documents),
                            errors=rim.read_registry_errors(rr))


def _write_ids(parent: etree._Element, home: str | None, repo: str, doc: str) -> None:
    if home is not None:
        x.sub(parent, "xds", "HomeCommunityId", text_value=home)
    x.sub(parent, "xds", "RepositoryUniqueId", text_value=repo)
    x.sub(parent, "xds", "DocumentUniqueId", text_value=doc)


def build_request(r: RetrieveRequest) -> etree._Element:
    if not r.documents:
        raise MissingElementError("a retrieve request needs a document")
    el = x.root("xds", "RetrieveDocumentSetRequest", x.ns("xds"))
    for d in r.documents:
        req = x.sub(el, "xds", "DocumentRequest")
        _write_ids(req, d.home_community_id, d.repository_unique_id, d.document_unique_id)
    return el


def build_response(r: RetrieveResponse,
                   attachments: dict[str, bytes] | None = None) -> etree._Element:
    """The RetrieveDocumentSetResponse element. With ``attachments`` (a dict to fill), each
    document becomes an ``xop:Include`` and its bytes a MIME part (MTOM); without, inline
    base64."""
    el = x.root("xds", "RetrieveDocumentSetResponse", x.ns("xds", "rs"))
    rr = x.sub(el, "rs", "RegistryResponse", {"status": r.status.value})
    rim.write_registry_errors(rr, r.errors)
    for d in r.documents:
        resp = x.sub(el, "xds", "DocumentResponse")
        _write_ids(resp, d.home_community_id, d.repository_unique_id, d.document_unique_id)
        x.sub(resp, "xds", "mimeType", text_value=d.mime_type)
        x.write_binary(x.sub(resp, "xds", "Document"), d.document, attachments)
    return el
