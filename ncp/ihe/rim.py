"""ebXML RegRep 3.0 objects as XDS/XCA/XDR use them: slots, classifications, document entries,
submission sets, associations and registry errors.

The XDS attributes (IHE ITI TF-3 4.2.3) are typed fields; the eHDSI ePrescription metadata is
carried the way the reference gateway puts it on the wire, as ``eventCodeList`` classifications
told apart by their coding scheme (ATC, EDQM dose form, the eHDSI strength literal, HL7
SubstanceAdminSubstitution, and the XDW open/closed code meaning "dispensable"). Slots we do not
model are kept in ``other_slots`` so that a parsed entry builds back unchanged.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from ncp.errors import NcpError, Severity
from ncp.ihe import _xml as x
from ncp.ihe import oids
from ncp.ihe.codes import AssociationType, ResponseStatus, StatusType
from ncp.ihe.errors import InvalidValueError, MissingElementError
from ncp.ihe.identifiers import PatientId
from ncp.xmlutil import qname

_DTM = re.compile(r"^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2})?)?)?)?)?$")
_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_EXTERNAL_IDENTIFIER_TYPE = (
    "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier")
_CLASSIFICATION_TYPE = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification"
_XDW_OPEN = "urn:ihe:iti:xdw:2011:eventCode:open"
_XDW_CLOSED = "urn:ihe:iti:xdw:2011:eventCode:closed"


def R(local: str) -> str:
    """Clark name in the ebRIM namespace."""
    return qname("rim", local)


# --- small value types ---------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True, slots=True)
class Slot:
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Coded:
    """An XDS coded value: ``nodeRepresentation``, the ``codingScheme`` slot, the display name."""

    code: str
    scheme: str
    display: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Author:
    """An XDS author classification (HL7 v2 XCN/XON strings kept as sent)."""

    person: str | None = None
    institutions: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    specialties: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class EPrescriptionMetadata:
    """eHDSI metadata of one ePrescription entry in an XCA query response."""

    atc: Coded | None = None
    dose_form: Coded | None = None
    strength: str | None = None
    substitution: Coded | None = None
    #: True when the prescription can still be dispensed (XDW "open"), False when closed.
    dispensable: bool | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class RegistryError:
    error_code: str
    code_context: str
    severity: Severity = Severity.ERROR
    location: str | None = None

    @classmethod
    def from_error(cls, error: NcpError) -> RegistryError:
        """The wire form of an :class:`NcpError`: its code, severity and standard text with our
        error id, never its detail.

        Why the id goes in ``codeContext``: the reference gateway's client looks up only
        ``errorCode`` and passes ``codeContext`` (as the message) and ``location`` (as the
        context) through untouched, so free text there is tolerated; its own server writes
        free text in both. ``location`` keeps naming the failing document or parameter, which
        a PartialSuccess needs. Our client reads the id back with
        :func:`ncp.peers.errors.error_id_in`."""
        return cls(error_code=error.error.code, code_context=error.public,
                   severity=error.error.severity, location=error.location or None)


def registry_errors(errors: Iterable[NcpError]) -> tuple[RegistryError, ...]:
    """The ``RegistryError`` elements of ``errors``: for each, the dictionary's code, then the
    IHE code where the table has one (:class:`ncp.errors.ErrorCode`), same severity, text, id
    and location.

    Why two for one condition: the reference gateway's client stops at the first error and
    shows its dictionary entry (an ``XDS*`` code alone reaches the foreign professional as no
    message), while IHE test tools (e.g. NIST XCA 15815, XDSUnknownCommunity) look for the IHE
    code."""
    out: list[RegistryError] = []
    for error in errors:
        first = RegistryError.from_error(error)
        out.append(first)
        if error.error.ihe:
            out.append(RegistryError(error_code=error.error.ihe, code_context=first.code_context,
                                     severity=first.severity, location=first.location))
    return tuple(out)


@dataclass(frozen=True, kw_only=True, slots=True)
class Association:
    id: str
    association_type: str
    source: str
    target: str
    slots: tuple[Slot, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class DocumentEntry:
    """An XDSDocumentEntry (``rim:ExtrinsicObject``)."""

    entry_uuid: str
    unique_id: str
    patient_id: PatientId
    mime_type: str
    class_code: Coded
    format_code: Coded
    confidentiality_codes: tuple[Coded, ...]
    type_code: Coded | None = None
    healthcare_facility_type_code: Coded | None = None
    practice_setting_code: Coded | None = None
    event_codes: tuple[Coded, ...] = ()
    authors: tuple[Author, ...] = ()
    status: str = StatusType.APPROVED.value
    object_type: str = oids.DOCUMENT_ENTRY_STABLE.value
    home_community_id: str | None = None
    logical_id: str | None = None
    title: str | None = None
    description: str | None = None
    version_name: str | None = None
    creation_time: str | None = None
    language_code: str | None = None
    source_patient_id: str | None = None
    source_patient_info: tuple[str, ...] = ()
    size: int | None = None
    hash: str | None = None
    repository_unique_id: str | None = None
    service_start_time: str | None = None
    service_stop_time: str | None = None
    eprescription: EPrescriptionMetadata | None = None
    other_slots: tuple[Slot, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class SubmissionSet:
    """An XDSSubmissionSet (``rim:RegistryPackage``)."""

    entry_uuid: str
    unique_id: str
    source_id: str
    patient_id: PatientId
    submission_time: str
    content_type_code: Coded | None = None
    authors: tuple[Author, ...] = ()
    title: str | None = None
    description: str | None = None
    intended_recipients: tuple[str, ...] = ()
    other_slots: tuple[Slot, ...] = ()


def xfrm_association(*, rendition: DocumentEntry, original: DocumentEntry) -> Association:
    """The XFRM association linking a PDF ``rendition`` (source) to the structured ``original``
    (target) it was made from, as eHDSI query responses carry it."""
    return Association(id=_new_id(), association_type=AssociationType.XFRM.value,
                       source=rendition.entry_uuid, target=original.entry_uuid)


# --- reading -----------------------------------------------------------------------------------

def read_slots(el: etree._Element) -> dict[str, tuple[str, ...]]:
    """The slots of a registry object by name; a repeated slot name is refused."""
    slots: dict[str, tuple[str, ...]] = {}
    for slot in x.children(el, R("Slot")):
        name = x.attr(slot, "name")
        if name in slots:
            raise InvalidValueError(f"slot {name} repeated", location=x.where(slot))
        value_list = x.one(slot, R("ValueList"))
        slots[name] = tuple((v.text or "").strip() for v in x.children(value_list, R("Value")))
    return slots


def _localized(el: etree._Element, local: str) -> str | None:
    holder = x.opt(el, R(local))
    if holder is None:
        return None
    strings = x.children(holder, R("LocalizedString"))
    return x.opt_attr(strings[0], "value") if strings else None


def _single(slots: dict[str, tuple[str, ...]], name: str, el: etree._Element) -> str | None:
    values = slots.pop(name, None)
    if values is None:
        return None
    if len(values) != 1 or not values[0]:
        raise InvalidValueError(f"slot {name} must hold one value", location=x.where(el))
    return values[0]


def _dtm(value: str | None, el: etree._Element, name: str) -> str | None:
    if value is not None and not _DTM.match(value):
        raise InvalidValueError(f"{name} is not an XDS DTM", location=x.where(el))
    return value


def _read_coded(cl: etree._Element) -> Coded:
    slots = read_slots(cl)
    scheme = slots.get("codingScheme")
    if not scheme or len(scheme) != 1 or not scheme[0]:
        raise MissingElementError("classification without one codingScheme",
                                  location=x.where(cl))
    code = cl.get("nodeRepresentation")
    if code is None or not code.strip():
        raise MissingElementError("classification without nodeRepresentation",
                                  location=x.where(cl))
    return Coded(code=code.strip(), scheme=scheme[0], display=_localized(cl, "Name"))


def _read_author(cl: etree._Element) -> Author:
    slots = read_slots(cl)
    person = slots.get("authorPerson", ())
    if len(person) > 1:
        raise InvalidValueError("authorPerson must hold one value", location=x.where(cl))
    return Author(person=person[0] if person else None,
                  institutions=slots.get("authorInstitution", ()),
                  roles=slots.get("authorRole", ()),
                  specialties=slots.get("authorSpecialty", ()))


def _classifications(el: etree._Element) -> dict[str, list[etree._Element]]:
    """Classifications of ``el`` by scheme; each must classify ``el`` itself."""
    by_scheme: dict[str, list[etree._Element]] = {}
    owner = el.get("id")
    for cl in x.children(el, R("Classification")):
        if cl.get("classifiedObject") != owner:
            raise InvalidValueError("classification of another object", location=x.where(cl))
        scheme = cl.get("classificationScheme")
        if scheme:
            by_scheme.setdefault(scheme, []).append(cl)
    return by_scheme


def _one_coded(by_scheme: dict[str, list[etree._Element]], scheme: oids.XdsUuid,
               el: etree._Element, *, required: bool) -> Coded | None:
    found = by_scheme.get(scheme.value, [])
    if len(found) > 1:
        raise InvalidValueError(f"{scheme.name} repeated", location=x.where(el))
    if not found:
        if required:
            raise MissingElementError(f"missing {scheme.name}", location=x.where(el))
        return None
    return _read_coded(found[0])


def _req_coded(by_scheme: dict[str, list[etree._Element]], scheme: oids.XdsUuid,
               el: etree._Element) -> Coded:
    coded = _one_coded(by_scheme, scheme, el, required=True)
    assert coded is not None
    return coded


def _external_ids(el: etree._Element) -> dict[str, str]:
    ids: dict[str, str] = {}
    for ei in x.children(el, R("ExternalIdentifier")):
        if ei.get("registryObject") != el.get("id"):
            raise InvalidValueError("external identifier of another object", location=x.where(ei))
        scheme = x.attr(ei, "identificationScheme")
        if scheme in ids:
            raise InvalidValueError("external identifier repeated", location=x.where(ei))
        ids[scheme] = x.attr(ei, "value")
    return ids


def _read_ep(event_codes: list[Coded]) -> tuple[tuple[Coded, ...], EPrescriptionMetadata | None]:
    atc = dose_form = substitution = None
    strength: str | None = None
    dispensable: bool | None = None
    others: list[Coded] = []
    for code in event_codes:
        if code.scheme == oids.ATC.value and atc is None:
            atc = code
        elif code.scheme == oids.EDQM.value and dose_form is None:
            dose_form = code
        elif code.scheme == oids.EHDSI_STRENGTH_SCHEME and strength is None:
            strength = code.code
        elif code.scheme == oids.HL7_SUBSTANCE_ADMIN_SUBSTITUTION.value and substitution is None:
            substitution = code
        elif code.scheme == oids.IHE_XDW_EVENT_CODE.value and code.code in (_XDW_OPEN,
                                                                            _XDW_CLOSED):
            dispensable = code.code == _XDW_OPEN
        else:
            others.append(code)
    if (atc, dose_form, strength, substitution, dispensable) == (None,) * 5:
        return tuple(others), None
    return tuple(others), EPrescriptionMetadata(atc=atc, dose_form=dose_form, strength=strength,
                                                substitution=substitution,
                                                dispensable=dispensable)


def read_document_entry(el: etree._Element) -> DocumentEntry:
    """Read an ``ExtrinsicObject`` as an XDSDocumentEntry (strict on the XDS attributes)."""
    entry_uuid = x.attr(el, "id")
    slots = read_slots(el)
    by_scheme = _classifications(el)
    ext = _external_ids(el)
    if oids.DE_PATIENT_ID.value not in ext:
        raise MissingElementError("missing XDSDocumentEntry.patientId", location=x.where(el))
    if oids.DE_UNIQUE_ID.value not in ext:
        raise MissingElementError("missing XDSDocumentEntry.uniqueId", location=x.where(el))
    confidentiality = tuple(_read_coded(c)
                            for c in by_scheme.get(oids.DE_CONFIDENTIALITY_CODE.value, []))
    if not confidentiality:
        raise MissingElementError("missing XDSDocumentEntry.confidentialityCode",
                                  location=x.where(el))
    event_codes = [_read_coded(c) for c in by_scheme.get(oids.DE_EVENT_CODE_LIST.value, [])]
    others, ep = _read_ep(event_codes)
    size = _single(slots, "size", el)
    if size is not None and (not size.isdigit() or len(size) > 18):
        raise InvalidValueError("size is not a non-negative integer", location=x.where(el))
    digest = _single(slots, "hash", el)
    if digest is not None and not _SHA1.match(digest):
        raise InvalidValueError("hash is not a SHA-1 hex digest", location=x.where(el))
    language = _single(slots, "languageCode", el)
    if language is not None and not _LANG.match(language):
        raise InvalidValueError("languageCode is not a language tag", location=x.where(el))
    status = x.opt_attr(el, "status") or StatusType.APPROVED.value
    if status not in {s.value for s in StatusType}:
        raise InvalidValueError("unknown document entry status", location=x.where(el))
    object_type = x.opt_attr(el, "objectType") or oids.DOCUMENT_ENTRY_STABLE.value
    if object_type not in (oids.DOCUMENT_ENTRY_STABLE.value, oids.DOCUMENT_ENTRY_ON_DEMAND.value):
        raise InvalidValueError("objectType is not a DocumentEntry type", location=x.where(el))
    version = x.opt(el, R("VersionInfo"))
    return DocumentEntry(
        entry_uuid=entry_uuid,
        unique_id=ext[oids.DE_UNIQUE_ID.value],
        patient_id=PatientId.from_cx(ext[oids.DE_PATIENT_ID.value], location=x.where(el)),
        mime_type=x.attr(el, "mimeType"),
        class_code=_req_coded(by_scheme, oids.DE_CLASS_CODE, el),
        format_code=_req_coded(by_scheme, oids.DE_FORMAT_CODE, el),
        confidentiality_codes=confidentiality,
        type_code=_one_coded(by_scheme, oids.DE_TYPE_CODE, el, required=False),
        healthcare_facility_type_code=_one_coded(by_scheme, oids.DE_HEALTHCARE_FACILITY_TYPE_CODE,
                                                 el, required=False),
        practice_setting_code=_one_coded(by_scheme, oids.DE_PRACTICE_SETTING_CODE, el,
                                         required=False),
        event_codes=others,
        authors=tuple(_read_author(c) for c in by_scheme.get(oids.DE_AUTHOR.value, [])),
        status=status,
        object_type=object_type,
        home_community_id=x.opt_attr(el, "home"),
        logical_id=x.opt_attr(el, "lid"),
        title=_localized(el, "Name"),
        description=_localized(el, "Description"),
        version_name=x.opt_attr(version, "versionName") if version is not None else None,
        creation_time=_dtm(_single(slots, "creationTime", el), el, "creationTime"),
        language_code=language,
        source_patient_id=_single(slots, "sourcePatientId", el),
        source_patient_info=slots.pop("sourcePatientInfo", ()),
        size=int(size) if size is not None else None,
        hash=digest.lower() if digest is not None else None,
        repository_unique_id=_single(slots, "repositoryUniqueId", el),
        service_start_time=_dtm(_single(slots, "serviceStartTime", el), el, "serviceStartTime"),
        service_stop_time=_dtm(_single(slots, "serviceStopTime", el), el, "serviceStopTime"),
        eprescription=ep,
        other_slots=tuple(Slot(name=k, values=v) for k, v in slots.items()),
    )


def read_submission_set(el: etree._Element) -> SubmissionSet:
    """Read a ``RegistryPackage`` as an XDSSubmissionSet."""
    slots = read_slots(el)
    by_scheme = _classifications(el)
    ext = _external_ids(el)
    for scheme in (oids.SS_UNIQUE_ID, oids.SS_SOURCE_ID, oids.SS_PATIENT_ID):
        if scheme.value not in ext:
            raise MissingElementError(f"missing {scheme.name}", location=x.where(el))
    submission_time = _dtm(_single(slots, "submissionTime", el), el, "submissionTime")
    if submission_time is None:
        raise MissingElementError("missing submissionTime", location=x.where(el))
    return SubmissionSet(
        entry_uuid=x.attr(el, "id"),
        unique_id=ext[oids.SS_UNIQUE_ID.value],
        source_id=ext[oids.SS_SOURCE_ID.value],
        patient_id=PatientId.from_cx(ext[oids.SS_PATIENT_ID.value], location=x.where(el)),
        submission_time=submission_time,
        content_type_code=_one_coded(by_scheme, oids.SS_CONTENT_TYPE_CODE, el, required=False),
        authors=tuple(_read_author(c) for c in by_scheme.get(oids.SS_AUTHOR.value, [])),
        title=_localized(el, "Name"),
        description=_localized(el, "Description"),
        intended_recipients=slots.pop("intendedRecipient", ()),
        other_slots=tuple(Slot(name=k, values=v) for k, v in slots.items()),
    )


def read_association(el: etree._Element) -> Association:
    slots = read_slots(el)
    return Association(id=x.attr(el, "id"), association_type=x.attr(el, "associationType"),
                       source=x.attr(el, "sourceObject"), target=x.attr(el, "targetObject"),
                       slots=tuple(Slot(name=k, values=v) for k, v in slots.items()))


def read_registry_errors(parent: etree._Element) -> tuple[RegistryError, ...]:
    """The ``rs:RegistryErrorList`` of a response (empty when absent)."""
    lst = x.opt(parent, qname("rs", "RegistryErrorList"))
    if lst is None:
        return ()
    errors = []
    for e in x.children(lst, qname("rs", "RegistryError")):
        severity = e.get("severity", Severity.ERROR.value)
        try:
            sev = Severity(severity)
        except ValueError:
            raise InvalidValueError("unknown error severity", location=x.where(e)) from None
        errors.append(RegistryError(error_code=x.attr(e, "errorCode"),
                                    code_context=e.get("codeContext", ""),
                                    severity=sev, location=x.opt_attr(e, "location")))
    if not errors:
        raise MissingElementError("empty RegistryErrorList", location=x.where(lst))
    return tuple(errors)


def read_status(el: etree._Element) -> ResponseStatus:
    try:
        return ResponseStatus(x.attr(el, "status"))
    except ValueError:
        raise InvalidValueError("unknown response status", location=x.where(el)) from None


# --- writing -----------------------------------------------------------------------------------

def write_slot(parent: etree._Element, name: str, values: Iterable[str]) -> etree._Element:
    slot = x.sub(parent, "rim", "Slot", {"name": name})
    value_list = x.sub(slot, "rim", "ValueList")
    for v in values:
        x.sub(value_list, "rim", "Value", text_value=v)
    return slot


def _write_localized(parent: etree._Element, local: str, value: str | None) -> None:
    if value is not None:
        holder = x.sub(parent, "rim", local)
        x.sub(holder, "rim", "LocalizedString", {"value": value})


def _new_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _write_coded(parent: etree._Element, scheme: oids.XdsUuid, obj: str, coded: Coded) -> None:
    cl = x.sub(parent, "rim", "Classification", {
        "classificationScheme": scheme.value, "classifiedObject": obj, "id": _new_id(),
        "nodeRepresentation": coded.code, "objectType": _CLASSIFICATION_TYPE})
    write_slot(cl, "codingScheme", [coded.scheme])
    _write_localized(cl, "Name", coded.display)


def _write_author(parent: etree._Element, scheme: oids.XdsUuid, obj: str, author: Author) -> None:
    cl = x.sub(parent, "rim", "Classification", {
        "classificationScheme": scheme.value, "classifiedObject": obj, "id": _new_id(),
        "nodeRepresentation": "", "objectType": _CLASSIFICATION_TYPE})
    if author.person is not None:
        write_slot(cl, "authorPerson", [author.person])
    for name, values in (("authorInstitution", author.institutions),
                         ("authorRole", author.roles), ("authorSpecialty", author.specialties)):
        if values:
            write_slot(cl, name, values)


def _write_external_id(parent: etree._Element, scheme: oids.XdsUuid, obj: str,
                       value: str) -> None:
    ei = x.sub(parent, "rim", "ExternalIdentifier", {
        "id": _new_id(), "identificationScheme": scheme.value, "registryObject": obj,
        "value": value, "objectType": _EXTERNAL_IDENTIFIER_TYPE})
    _write_localized(ei, "Name", scheme.name)


def _ep_codes(ep: EPrescriptionMetadata) -> list[Coded]:
    codes: list[Coded] = []
    if ep.dispensable is not None:
        codes.append(Coded(code=_XDW_OPEN if ep.dispensable else _XDW_CLOSED,
                           scheme=oids.IHE_XDW_EVENT_CODE.value,
                           display="Open" if ep.dispensable else "Closed"))
    if ep.atc is not None:
        codes.append(ep.atc)
    if ep.dose_form is not None:
        codes.append(ep.dose_form)
    if ep.strength is not None:
        codes.append(Coded(code=ep.strength, scheme=oids.EHDSI_STRENGTH_SCHEME,
                           display="Strength of medication"))
    if ep.substitution is not None:
        codes.append(ep.substitution)
    return codes


def write_document_entry(parent: etree._Element, e: DocumentEntry) -> etree._Element:
    """Append ``e`` as a ``rim:ExtrinsicObject`` (schema order: slots, name, description,
    version, classifications, external identifiers)."""
    attrib = {"id": e.entry_uuid, "mimeType": e.mime_type, "objectType": e.object_type,
              "status": e.status}
    if e.home_community_id:
        attrib["home"] = e.home_community_id
    if e.logical_id:
        attrib["lid"] = e.logical_id
    eo = x.sub(parent, "rim", "ExtrinsicObject", attrib)
    single = (("creationTime", e.creation_time), ("hash", e.hash),
              ("languageCode", e.language_code),
              ("repositoryUniqueId", e.repository_unique_id),
              ("serviceStartTime", e.service_start_time),
              ("serviceStopTime", e.service_stop_time),
              ("size", str(e.size) if e.size is not None else None),
              ("sourcePatientId", e.source_patient_id))
    for name, value in single:
        if value is not None:
            write_slot(eo, name, [value])
    if e.source_patient_info:
        write_slot(eo, "sourcePatientInfo", e.source_patient_info)
    for slot in e.other_slots:
        write_slot(eo, slot.name, slot.values)
    _write_localized(eo, "Name", e.title)
    _write_localized(eo, "Description", e.description)
    if e.version_name is not None:
        x.sub(eo, "rim", "VersionInfo", {"versionName": e.version_name})
    obj = e.entry_uuid
    for author in e.authors:
        _write_author(eo, oids.DE_AUTHOR, obj, author)
    _write_coded(eo, oids.DE_CLASS_CODE, obj, e.class_code)
    for c in e.confidentiality_codes:
        _write_coded(eo, oids.DE_CONFIDENTIALITY_CODE, obj, c)
    for c in (*e.event_codes, *(_ep_codes(e.eprescription) if e.eprescription else ())):
        _write_coded(eo, oids.DE_EVENT_CODE_LIST, obj, c)
    _write_coded(eo, oids.DE_FORMAT_CODE, obj, e.format_code)
    if e.healthcare_facility_type_code is not None:
        _write_coded(eo, oids.DE_HEALTHCARE_FACILITY_TYPE_CODE, obj,
                     e.healthcare_facility_type_code)
    if e.practice_setting_code is not None:
        _write_coded(eo, oids.DE_PRACTICE_SETTING_CODE, obj, e.practice_setting_code)
    if e.type_code is not None:
        _write_coded(eo, oids.DE_TYPE_CODE, obj, e.type_code)
    _write_external_id(eo, oids.DE_PATIENT_ID, obj, e.patient_id.cx)
    _write_external_id(eo, oids.DE_UNIQUE_ID, obj, e.unique_id)
    return eo


def write_submission_set(parent: etree._Element, s: SubmissionSet) -> etree._Element:
    """Append ``s`` as a ``rim:RegistryPackage`` classified as an XDSSubmissionSet."""
    rp = x.sub(parent, "rim", "RegistryPackage", {"id": s.entry_uuid})
    write_slot(rp, "submissionTime", [s.submission_time])
    if s.intended_recipients:
        write_slot(rp, "intendedRecipient", s.intended_recipients)
    for slot in s.other_slots:
        write_slot(rp, slot.name, slot.values)
    _write_localized(rp, "Name", s.title)
    _write_localized(rp, "Description", s.description)
    for author in s.authors:
        _write_author(rp, oids.SS_AUTHOR, s.entry_uuid, author)
    if s.content_type_code is not None:
        _write_coded(rp, oids.SS_CONTENT_TYPE_CODE, s.entry_uuid, s.content_type_code)
    _write_external_id(rp, oids.SS_UNIQUE_ID, s.entry_uuid, s.unique_id)
    _write_external_id(rp, oids.SS_SOURCE_ID, s.entry_uuid, s.source_id)
    _write_external_id(rp, oids.SS_PATIENT_ID, s.entry_uuid, s.patient_id.cx)
    return rp


def write_submission_set_classification(parent: etree._Element, s: SubmissionSet) -> None:
    """The stand-alone Classification that marks the package as a submission set."""
    x.sub(parent, "rim", "Classification", {
        "classificationNode": oids.SUBMISSION_SET.value, "classifiedObject": s.entry_uuid,
        "id": _new_id(), "objectType": _CLASSIFICATION_TYPE})


def write_association(parent: etree._Element, a: Association) -> etree._Element:
    el = x.sub(parent, "rim", "Association", {
        "associationType": a.association_type, "id": a.id, "sourceObject": a.source,
        "targetObject": a.target,
        "objectType": "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association"})
    for slot in a.slots:
        write_slot(el, slot.name, slot.values)
    return el


def write_registry_errors(parent: etree._Element, errors: Iterable[RegistryError]) -> None:
    errors = list(errors)
    if not errors:
        return
    highest = (Severity.ERROR if any(e.severity is Severity.ERROR for e in errors)
               else Severity.WARNING)
    lst = x.sub(parent, "rs", "RegistryErrorList", {"highestSeverity": highest.value})
    for e in errors:
        attrib = {"errorCode": e.error_code, "codeContext": e.code_context,
                  "severity": e.severity.value}
        if e.location:
            attrib["location"] = e.location
        x.sub(lst, "rs", "RegistryError", attrib)


def status_for(errors: Iterable[RegistryError], *, has_results: bool) -> ResponseStatus:
    """Success when there is no error (warnings allowed), PartialSuccess when errors come with
    results, Failure when errors come alone."""
    if not any(e.severity is Severity.ERROR for e in errors):
        return ResponseStatus.SUCCESS
    return ResponseStatus.PARTIAL_SUCCESS if has_results else ResponseStatus.FAILURE
