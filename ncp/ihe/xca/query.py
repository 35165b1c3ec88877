"""XCA Cross Gateway Query (ITI-38): the FindDocuments AdhocQueryRequest and its response.

The request is validated more strictly than the reference gateway does: the stored query id must
be FindDocuments, the return type LeafClass or ObjectRef, ``$XDSDocumentEntryPatientId`` one
quoted CX value, ``$XDSDocumentEntryStatus`` and ``$XDSDocumentEntryClassCode`` present (eHDSI
makes the class code required: it selects the service), no parameter repeated and no parameter
that FindDocuments does not define (IHE ITI TF-2 3.18.4.1.2.3.7.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from ncp.errors import ErrorCode
from ncp.ihe import _xml as x
from ncp.ihe import oids, rim
from ncp.ihe.codes import ResponseStatus, ReturnType, StatusType
from ncp.ihe.errors import InvalidValueError, StoredQueryError
from ncp.ihe.identifiers import PatientId
from ncp.ihe.rim import Association, Coded, DocumentEntry, R, RegistryError
from ncp.xmlutil import qname

P_PATIENT_ID = "$XDSDocumentEntryPatientId"
P_STATUS = "$XDSDocumentEntryStatus"
P_CLASS_CODE = "$XDSDocumentEntryClassCode"
_CODE_PARAMS = {
    "class_codes": P_CLASS_CODE,
    "type_codes": "$XDSDocumentEntryTypeCode",
    "practice_setting_codes": "$XDSDocumentEntryPracticeSettingCode",
    "healthcare_facility_type_codes": "$XDSDocumentEntryHealthcareFacilityTypeCode",
    "event_codes": "$XDSDocumentEntryEventCodeList",
    "confidentiality_codes": "$XDSDocumentEntryConfidentialityCode",
    "format_codes": "$XDSDocumentEntryFormatCode",
}
_TIME_PARAMS = {
    "creation_time_from": "$XDSDocumentEntryCreationTimeFrom",
    "creation_time_to": "$XDSDocumentEntryCreationTimeTo",
    "service_start_time_from": "$XDSDocumentEntryServiceStartTimeFrom",
    "service_start_time_to": "$XDSDocumentEntryServiceStartTimeTo",
    "service_stop_time_from": "$XDSDocumentEntryServiceStopTimeFrom",
    "service_stop_time_to": "$XDSDocumentEntryServiceStopTimeTo",
}
P_AUTHOR = "$XDSDocumentEntryAuthorPerson"
P_ENTRY_TYPE = "$XDSDocumentEntryType"
#: Every parameter FindDocuments defines.
FIND_DOCUMENTS_PARAMETERS = frozenset(
    {P_PATIENT_ID, P_STATUS, P_AUTHOR, P_ENTRY_TYPE, *_CODE_PARAMS.values(),
     *_TIME_PARAMS.values()})

_ITEM = re.compile(r"\s*'((?:[^']|'')*)'\s*")
_DTM = re.compile(r"^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2})?)?)?)?)?$")


def Q(local: str) -> str:
    return qname("query", local)


@dataclass(frozen=True, kw_only=True, slots=True)
class FindDocumentsQuery:
    """A FindDocuments stored query as XCA carries it."""

    patient_id: PatientId
    statuses: tuple[StatusType, ...]
    class_codes: tuple[Coded, ...]
    type_codes: tuple[Coded, ...] = ()
    practice_setting_codes: tuple[Coded, ...] = ()
    healthcare_facility_type_codes: tuple[Coded, ...] = ()
    event_codes: tuple[Coded, ...] = ()
    confidentiality_codes: tuple[Coded, ...] = ()
    format_codes: tuple[Coded, ...] = ()
    creation_time_from: str | None = None
    creation_time_to: str | None = None
    service_start_time_from: str | None = None
    service_start_time_to: str | None = None
    service_stop_time_from: str | None = None
    service_stop_time_to: str | None = None
    author_persons: tuple[str, ...] = ()
    entry_types: tuple[str, ...] = ()
    return_type: ReturnType = ReturnType.LEAF_CLASS
    return_composed_objects: bool = True
    home_community_id: str | None = None
    request_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ObjectRef:
    id: str
    home_community_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class QueryResponse:
    """An AdhocQueryResponse: entries (LeafClass) or references (ObjectRef), and errors."""

    status: ResponseStatus
    entries: tuple[DocumentEntry, ...] = ()
    associations: tuple[Association, ...] = ()
    object_refs: tuple[ObjectRef, ...] = ()
    errors: tuple[RegistryError, ...] = ()
    request_id: str | None = None

    @classmethod
    def of(cls, *, entries: tuple[DocumentEntry, ...] = (),
           associations: tuple[Association, ...] = (),
           object_refs: tuple[ObjectRef, ...] = (),
           errors: tuple[RegistryError, ...] = (),
           request_id: str | None = None) -> QueryResponse:
        """A response whose status follows from its errors and results."""
        has_results = bool(entries or object_refs)
        return cls(status=rim.status_for(errors, has_results=has_results), entries=entries,
                   associations=associations, object_refs=object_refs, errors=errors,
                   request_id=request_id)


# --- parameter value syntax ----------------------------------------------------------------------

def parse_value_list(value: str, *, location: str = "") -> list[str]:
    """The items of one ``rim:Value`` of a stored query parameter.

    Forms accepted (ebRS 3.0 section 6.3 and IHE ITI TF-2 3.18.4.1.2.3.5, and what live peers
    write): ``('a','b')`` with or without blanks around items, and a bare ``'a'``; several
    ``rim:Value`` elements are joined by the caller. A quote inside an item is doubled; an
    unquoted item is not ebRS and stays refused. Code parameters
    split further (:func:`code_items`): the reference gateway writes several codes in one quoted
    string, ``('11502-2^^2.16.840.1.113883.6.1,18748-4^^2.16.840.1.113883.6.1')``.
    """
    v = value.strip()
    if v.startswith("(") and v.endswith(")"):
        body = v[1:-1]
        items: list[str] = []
        pos = 0
        while True:
            m = _ITEM.match(body, pos)
            if not m or not m.group(1).strip():
                raise InvalidValueError("malformed value list", location=location)
            items.append(m.group(1).replace("''", "'"))
            pos = m.end()
            if pos == len(body):
                return items
            if body[pos] != ",":
                raise InvalidValueError("malformed value list", location=location)
            pos += 1
    m = _ITEM.fullmatch(v)
    if not m or not m.group(1).strip():
        raise InvalidValueError("value is not quoted", location=location)
    return [m.group(1).replace("''", "'")]


def code_items(items: list[str], *, location: str = "") -> list[str]:
    """Code values of a code parameter: an item holding ``code^^scheme,code^^scheme`` (the
    reference gateway's multi-class form) is several codes. A code itself never holds a comma
    next to a ``^^scheme`` part, so the split cannot cut a lawful code in two; a list with an
    empty or malformed member is refused."""
    out: list[str] = []
    for item in items:
        parts = [p.strip() for p in item.split(",")]
        if len(parts) > 1 and all(p.count("^") == 2 for p in parts):
            out.extend(parts)
        elif len(parts) > 1 and any("^" in p for p in parts):
            raise InvalidValueError("malformed code list", location=location)
        else:
            out.append(item)
    return out


def _format_list(items: tuple[str, ...] | list[str]) -> str:
    return "(" + ",".join("'" + i.replace("'", "''") + "'" for i in items) + ")"


def _parse_code(item: str, location: str) -> Coded:
    parts = item.split("^")
    if len(parts) != 3 or not parts[0] or parts[1] or not parts[2]:
        raise InvalidValueError("code parameter is not code^^scheme", location=location)
    return Coded(code=parts[0], scheme=parts[2])


# --- parse -------------------------------------------------------------------------------------

def parse_request(el: etree._Element) -> FindDocumentsQuery:
    """Read an AdhocQueryRequest; raise :class:`StoredQueryError` or another
    :class:`~ncp.ihe.errors.MessageError` when it is not a valid FindDocuments query."""
    x.expect_root(el, Q("AdhocQueryRequest"))
    option = x.one(el, Q("ResponseOption"))
    try:
        return_type = ReturnType(option.get("returnType", "RegistryObject"))
    except ValueError:
        raise InvalidValueError("returnType must be LeafClass or ObjectRef",
                                location=x.where(option)) from None
    composed = option.get("returnComposedObjects", "false").strip()
    if composed not in ("true", "false", "1", "0"):
        raise InvalidValueError("returnComposedObjects is not a boolean",
                                location=x.where(option))
    query = x.one(el, R("AdhocQuery"))
    query_id = x.attr(query, "id")
    if query_id != oids.FIND_DOCUMENTS_QUERY.value:
        raise StoredQueryError("only FindDocuments is supported", location=x.where(query),
                               error=ErrorCode.STORED_QUERY_UNKNOWN)
    loc = x.where(query)
    params: dict[str, list[str]] = {}
    for slot in x.children(query, R("Slot")):
        name = x.attr(slot, "name")
        if name not in FIND_DOCUMENTS_PARAMETERS:
            raise StoredQueryError(f"parameter {name} is not defined for FindDocuments",
                                   location=loc, error=ErrorCode.STORED_QUERY_PARAM_NUMBER)
        if name in params:
            raise StoredQueryError(f"parameter {name} repeated", location=loc,
                                   error=ErrorCode.STORED_QUERY_PARAM_NUMBER)
        values = [(v.text or "").strip()
                  for v in x.children(x.one(slot, R("ValueList")), R("Value"))]
        if not values or not all(values):
            raise StoredQueryError(f"parameter {name} has no value", location=loc,
                                   error=ErrorCode.STORED_QUERY_PARAM_MISSING)
        params[name] = values
    for required in (P_PATIENT_ID, P_STATUS, P_CLASS_CODE):
        if required not in params:
            raise StoredQueryError(f"missing {required}", location=loc,
                                   error=ErrorCode.STORED_QUERY_PARAM_MISSING)
    pid_values = params.pop(P_PATIENT_ID)
    if len(pid_values) != 1:
        raise StoredQueryError("patient id must be a single value", location=loc,
                               error=ErrorCode.STORED_QUERY_PARAM_NUMBER)
    patient_id = PatientId.from_query_value(pid_values[0], location=loc)

    def items(name: str) -> list[str]:
        return [i for v in params.pop(name, []) for i in parse_value_list(v, location=loc)]

    statuses = []
    for s in items(P_STATUS):
        try:
            statuses.append(StatusType(s))
        except ValueError:
            raise InvalidValueError("unknown status in $XDSDocumentEntryStatus",
                                    location=loc) from None
    codes = {field: tuple(_parse_code(i, loc) for i in code_items(items(name), location=loc))
             for field, name in _CODE_PARAMS.items()}
    times: dict[str, str | None] = {}
    for field, name in _TIME_PARAMS.items():
        values = params.pop(name, None)
        if values is None:
            times[field] = None
            continue
        if len(values) != 1 or not _DTM.match(values[0]):
            raise InvalidValueError(f"{name} is not one DTM value", location=loc)
        times[field] = values[0]
    return FindDocumentsQuery(
        patient_id=patient_id,
        statuses=tuple(statuses),
        author_persons=tuple(items(P_AUTHOR)),
        entry_types=tuple(items(P_ENTRY_TYPE)),
        return_type=return_type,
        return_composed_objects=composed in ("true", "1"),
        home_community_id=x.opt_attr(query, "home"),
        request_id=x.opt_attr(el, "id"),
        **codes,  # type: ignore[arg-type]
        **times,  # type: ignore[arg-type]
    )


def parse_response(el: etree._Element) -> QueryResponse:
    """Read an AdhocQueryResponse (entries, associations, object references, errors)."""
    x.expect_root(el, Q("AdhocQueryResponse"))
    status = rim.read_status(el)
    errors = rim.read_registry_errors(el)
    objects = x.one(el, R("RegistryObjectList"))
    entries, associations, refs = [], [], []
    for child in objects:
        if child.tag == R("ExtrinsicObject"):
            entries.append(rim.read_document_entry(child))
        elif child.tag == R("Association"):
            associations.append(rim.read_association(child))
        elif child.tag == R("ObjectRef"):
            refs.append(ObjectRef(id=x.attr(child, "id"),
                                  home_community_id=x.opt_attr(child, "home")))
    return QueryResponse(status=status, entries=tuple(entries), associations=tuple(associations),
                         object_refs=tuple(refs), errors=errors,
                         request_id=x.opt_attr(el, "requestId"))


# --- build -------------------------------------------------------------------------------------

def build_request(q: FindDocumentsQuery) -> etree._Element:
    """The AdhocQueryRequest element of ``q``."""
    el = x.root("query", "AdhocQueryRequest", x.ns("query", "rim"))
    if q.request_id:
        el.set("id", q.request_id)
    x.sub(el, "query", "ResponseOption", {
        "returnComposedObjects": "true" if q.return_composed_objects else "false",
        "returnType": q.return_type.value})
    attrib = {"id": oids.FIND_DOCUMENTS_QUERY.value}
    if q.home_community_id:
        attrib["home"] = q.home_community_id
    query = x.sub(el, "rim", "AdhocQuery", attrib)
    rim.write_slot(query, P_PATIENT_ID, [f"'{q.patient_id.cx}'"])
    rim.write_slot(query, P_STATUS, [_format_list([s.value for s in q.statuses])])
    for field, name in _CODE_PARAMS.items():
        codes: tuple[Coded, ...] = getattr(q, field)
        if codes:
            rim.write_slot(query, name, [_format_list([f"{c.code}^^{c.scheme}" for c in codes])])
    for field, name in _TIME_PARAMS.items():
        value = getattr(q, field)
        if value is not None:
            rim.write_slot(query, name, [value])
    if q.author_persons:
        rim.write_slot(query, P_AUTHOR, [_format_list(q.author_persons)])
    if q.entry_types:
        rim.write_slot(query, P_ENTRY_TYPE, [_format_list(q.entry_types)])
    return el


def build_response(r: QueryResponse) -> etree._Element:
    """The AdhocQueryResponse element of ``r``. XCA requires the homeCommunityId on every
    returned ExtrinsicObject and ObjectRef (IHE ITI TF-2 3.38.4.1.2.1): refused without it."""
    if any(not e.home_community_id for e in r.entries) or any(
            not o.home_community_id for o in r.object_refs):
        raise InvalidValueError("an XCA result lacks its homeCommunityId")
    el = x.root("query", "AdhocQueryResponse", x.ns("query", "rim", "rs"),
                {"status": r.status.value})
    if r.request_id:
        el.set("requestId", r.request_id)
    rim.write_registry_errors(el, r.errors)
    objects = x.sub(el, "rim", "RegistryObjectList")
    for ref in r.object_refs:
        attrib = {"id": ref.id}
        if ref.home_community_id:
            attrib["home"] = ref.home_community_id
        x.sub(objects, "rim", "ObjectRef", attrib)
    for entry in r.entries:
        rim.write_document_entry(objects, entry)
    for assoc in r.associations:
        rim.write_association(objects, assoc)
    return el
