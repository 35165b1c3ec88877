"""XDR Provide and Register Document Set-b (ITI-41) and its RegistryResponse.

eHDSI uses it for the eDispensation and its discard. Parsing checks what a document recipient
must check (IHE ITI TF-2 3.41.4.1.3): exactly one submission set, each document entry paired
with exactly one document and the other way round, each entry a HasMember of the submission set,
one patient across the submission, and hash/size (when sent) equal to the document's.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree

from ncp.errors import ErrorCode
from ncp.ihe import _xml as x
from ncp.ihe import oids, rim
from ncp.ihe.codes import AssociationType, ClassCode, ResponseStatus, Service
from ncp.ihe.errors import MissingElementError, SubmissionError
from ncp.ihe.rim import Association, DocumentEntry, R, RegistryError, Slot, SubmissionSet
from ncp.xmlutil import qname


def X(local: str) -> str:
    return qname("xds", local)


@dataclass(frozen=True, kw_only=True, slots=True)
class SubmittedDocument:
    entry: DocumentEntry
    content: bytes


@dataclass(frozen=True, kw_only=True, slots=True)
class ProvideAndRegisterRequest:
    submission_set: SubmissionSet
    documents: tuple[SubmittedDocument, ...]
    #: Associations other than the submission set's HasMember (e.g. XFRM, RPLC).
    associations: tuple[Association, ...] = ()

    @property
    def services(self) -> frozenset[Service]:
        """The eHDSI services of the submitted documents (eD, discard), by class code."""
        found = set()
        for d in self.documents:
            try:
                found.add(ClassCode(d.entry.class_code.code).service)
            except ValueError:
                continue
        return frozenset(found)


@dataclass(frozen=True, kw_only=True, slots=True)
class RegistryResponse:
    status: ResponseStatus
    errors: tuple[RegistryError, ...] = ()
    request_id: str | None = None

    @classmethod
    def of(cls, *, errors: tuple[RegistryError, ...] = ()) -> RegistryResponse:
        return cls(status=rim.status_for(errors, has_results=False), errors=errors)


# --- parse -------------------------------------------------------------------------------------

def _is_submission_set(package: etree._Element, standalone: set[str]) -> bool:
    if package.get("id") in standalone:
        return True
    return any(c.get("classificationNode") == oids.SUBMISSION_SET.value
               for c in x.children(package, R("Classification")))


def parse_request(el: etree._Element,
                  attachments: Mapping[str, bytes] | None = None) -> ProvideAndRegisterRequest:
    """Read a ProvideAndRegisterDocumentSetRequest; ``attachments`` resolves ``xop:Include``."""
    x.expect_root(el, X("ProvideAndRegisterDocumentSetRequest"))
    submit = x.one(el, qname("lcm", "SubmitObjectsRequest"))
    objects = x.one(submit, R("RegistryObjectList"))
    where = x.where(objects)
    standalone = {c.get("classifiedObject", "") for c in x.children(objects, R("Classification"))
                  if c.get("classificationNode") == oids.SUBMISSION_SET.value}
    packages = x.children(objects, R("RegistryPackage"))
    sets = [p for p in packages if _is_submission_set(p, standalone)]
    if len(sets) != 1 or len(packages) != 1:
        raise SubmissionError("exactly one submission set and no folder expected",
                              location=where)
    submission_set = rim.read_submission_set(sets[0])
    entries = [rim.read_document_entry(e) for e in x.children(objects, R("ExtrinsicObject"))]
    if not entries:
        raise SubmissionError("no document entry", location=where)
    associations = [rim.read_association(a) for a in x.children(objects, R("Association"))]
    contents: dict[str, bytes] = {}
    for doc in x.children(el, X("Document")):
        doc_id = x.attr(doc, "id")
        if doc_id in contents:
            raise SubmissionError("document id repeated", location=x.where(doc))
        contents[doc_id] = x.read_binary(doc, attachments)
    entry_ids = [e.entry_uuid for e in entries]
    if len(set(entry_ids)) != len(entry_ids):
        raise SubmissionError("document entry id repeated", location=where)
    for entry_id in entry_ids:
        if entry_id not in contents:
            raise SubmissionError("a document entry has no document", location=where,
                                  error=ErrorCode.MISSING_DOCUMENT)
    for doc_id in contents:
        if doc_id not in entry_ids:
            raise SubmissionError("a document has no document entry", location=where,
                                  error=ErrorCode.MISSING_DOCUMENT_METADATA)
    members = {a.target for a in associations
               if a.association_type == AssociationType.HAS_MEMBER
               and a.source == submission_set.entry_uuid}
    documents = []
    for entry in entries:
        if entry.entry_uuid not in members:
            raise SubmissionError("document entry is not a member of the submission set",
                                  location=where)
        if entry.patient_id != submission_set.patient_id:
            raise SubmissionError("document and submission set patients differ",
                                  location=where)
        content = contents[entry.entry_uuid]
        if entry.size is not None and entry.size != len(content):
            raise SubmissionError("size does not match the document", location=where)
        if entry.hash is not None and entry.hash != hashlib.sha1(content).hexdigest():  # noqa: S324 - XDS hash is SHA-1
            raise SubmissionError("hash does not match the document", location=where)
        documents.append(SubmittedDocument(entry=entry, content=content))
    others = tuple(a for a in associations
                   if not (a.association_type == AssociationType.HAS_MEMBER
                           and a.source == submission_set.entry_uuid))
    return ProvideAndRegisterRequest(submission_set=submission_set, documents=tuple(documents),
                                     associations=others)


def parse_response(el: etree._Element) -> RegistryResponse:
    x.expect_root(el, qname("rs", "RegistryResponse"))
    return RegistryResponse(status=rim.read_status(el), errors=rim.read_registry_errors(el),
                            request_id=x.opt_attr(el, "requestId"))


# --- build -------------------------------------------------------------------------------------

def build_request(r: ProvideAndRegisterRequest,
                  attachments: dict[str, bytes] | None = None) -> etree._Element:
    """The ProvideAndRegisterDocumentSetRequest element. With ``attachments`` (a dict to fill)
    documents become MTOM parts; without, inline base64."""
    if not r.documents:
        raise MissingElementError("a submission needs a document")
    el = x.root("xds", "ProvideAndRegisterDocumentSetRequest", x.ns("xds", "lcm", "rim"))
    submit = x.sub(el, "lcm", "SubmitObjectsRequest")
    objects = x.sub(submit, "rim", "RegistryObjectList")
    for d in r.documents:
        rim.write_document_entry(objects, d.entry)
    rim.write_submission_set(objects, r.submission_set)
    rim.write_submission_set_classification(objects, r.submission_set)
    for d in r.documents:
        rim.write_association(objects, Association(
            id=f"urn:uuid:{uuid.uuid4()}", association_type=AssociationType.HAS_MEMBER.value,
            source=r.submission_set.entry_uuid, target=d.entry.entry_uuid,
            slots=(Slot(name="SubmissionSetStatus", values=("Original",)),)))
    for a in r.associations:
        rim.write_association(objects, a)
    for d in r.documents:
        doc = x.sub(el, "xds", "Document", {"id": d.entry.entry_uuid})
        x.write_binary(doc, d.content, attachments)
    return el


def build_response(r: RegistryResponse) -> etree._Element:
    el = x.root("rs", "RegistryResponse", x.ns("rs"), {"status": r.status.value})
    if r.request_id:
        el.set("requestId", r.request_id)
    rim.write_registry_errors(el, r.errors)
    return el
