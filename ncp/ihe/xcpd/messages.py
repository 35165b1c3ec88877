"""XCPD (ITI-55) messages: PRPA_IN201305UV02 query and PRPA_IN201306UV02 answer.

Parsing is strict where the answer depends on it (identifiers, dates, gender, the query
parameters, the response code) and ignores what eHDSI does not use (telecom, other ids,
match criteria). Building writes only what the schema and the eHDSI profile require, in schema
order, so every built message validates against ``hl7v3-xcpd-openncp``.

Consistency of an answer is checked both ways: OK carries at least one patient, NF none, AE none
and at least one detected issue. The reference gateway answers AE on success; we do not.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from ncp.ihe import _xml as x
from ncp.ihe import oids
from ncp.ihe.codes import AcknowledgementType, QueryResponseCode, XcpdIssue
from ncp.ihe.errors import InvalidValueError, MissingElementError
from ncp.ihe.identifiers import II
from ncp.ihe.xcpd.datatypes import (
    Address,
    H,
    PersonName,
    check_gender,
    check_ts,
    read_ii,
    write_ii,
)
from ncp.xmlutil import NS, qname

REQUEST_INTERACTION = "PRPA_IN201305UV02"
RESPONSE_INTERACTION = "PRPA_IN201306UV02"
_NSMAP = {None: NS["hl7"], "xsi": NS["xsi"]}


def hl7_now() -> str:
    """The current time as an HL7 TS in UTC (``YYYYMMDDHHMMSS+0000``)."""
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")


# --- models ------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True, slots=True)
class Device:
    """A sending or receiving system: device id and the home community it acts for."""

    id: II
    home_community_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class PatientDiscoveryQuery:
    """The ``queryByParameter`` of a discovery: what the requester knows about the patient."""

    query_id: II
    patient_ids: tuple[II, ...] = ()
    names: tuple[PersonName, ...] = ()
    birth_time: str | None = None
    gender: str | None = None

    def ids_with_root(self, root: str) -> tuple[II, ...]:
        """The queried identifiers in the domain ``root`` (e.g. our national id OID)."""
        return tuple(i for i in self.patient_ids if i.root == root)

    @property
    def has_demographics(self) -> bool:
        return bool(self.names) or self.birth_time is not None or self.gender is not None


@dataclass(frozen=True, kw_only=True, slots=True)
class PatientDiscoveryRequest:
    """PRPA_IN201305UV02: a cross-gateway patient discovery request."""

    message_id: II
    creation_time: str
    sender: Device
    receiver: Device
    query: PatientDiscoveryQuery
    processing_code: str = "P"


@dataclass(frozen=True, kw_only=True, slots=True)
class MatchedPatient:
    """One patient of an OK answer, as ``registrationEvent/subject1/patient`` carries it."""

    ids: tuple[II, ...]
    names: tuple[PersonName, ...]
    gender: str | None = None
    birth_time: str | None = None
    addresses: tuple[Address, ...] = ()
    #: homeCommunityId (OID) of the community holding the patient's data (the custodian).
    custodian_id: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class DetectedIssue:
    """A ``reasonOf/detectedIssueEvent`` of an AE answer."""

    code: str
    code_system: str
    #: ``mitigatedBy`` (detectedIssueManagement) or ``triggerFor`` (actOrderRequired).
    placement: str = "mitigatedBy"

    @classmethod
    def of(cls, issue: XcpdIssue) -> DetectedIssue:
        return cls(code=issue.value, code_system=issue.code_system, placement=issue.placement)


@dataclass(frozen=True, kw_only=True, slots=True)
class AcknowledgementDetail:
    """An ``acknowledgement/acknowledgementDetail``: the eHDSI error code and a text."""

    code: str | None = None
    code_system: str | None = None
    text: str | None = None
    location: str | None = None
    type_code: str = "E"


@dataclass(frozen=True, kw_only=True, slots=True)
class PatientDiscoveryResponse:
    """PRPA_IN201306UV02: the answer to a patient discovery."""

    message_id: II
    creation_time: str
    sender: Device
    receiver: Device
    target_message_id: II
    query_response_code: QueryResponseCode
    query: PatientDiscoveryQuery
    patients: tuple[MatchedPatient, ...] = ()
    issues: tuple[DetectedIssue, ...] = ()
    details: tuple[AcknowledgementDetail, ...] = ()
    #: Defaults to AA for OK/NF and AE for AE/QE.
    acknowledgement: AcknowledgementType | None = field(default=None)

    def __post_init__(self) -> None:
        if self.acknowledgement is None:
            ok = self.query_response_code in (QueryResponseCode.OK, QueryResponseCode.NF)
            object.__setattr__(self, "acknowledgement",
                               AcknowledgementType.AA if ok else AcknowledgementType.AE)

    @property
    def acknowledgement_type(self) -> AcknowledgementType:
        assert self.acknowledgement is not None  # set by __post_init__
        return self.acknowledgement

    def check(self) -> None:
        """Refuse an inconsistent answer (e.g. OK without a patient, AE without a reason)."""
        code = self.query_response_code
        if code is QueryResponseCode.OK and not self.patients:
            raise InvalidValueError("OK answer without a matched patient")
        if code is not QueryResponseCode.OK and self.patients:
            raise InvalidValueError(f"{code} answer carries patients")
        if code is QueryResponseCode.AE and not self.issues and not self.details:
            raise InvalidValueError("AE answer without a detected issue")
        for p in self.patients:
            if not p.ids or not p.names or not p.custodian_id:
                raise InvalidValueError("matched patient needs an id, a name and a custodian")

    # Factories: the responding gateway answers one request.
    @classmethod
    def answer(cls, request: PatientDiscoveryRequest, *, code: QueryResponseCode,
               sender_device: II, home_community_id: str,
               patients: tuple[MatchedPatient, ...] = (),
               issues: tuple[DetectedIssue, ...] = (),
               details: tuple[AcknowledgementDetail, ...] = (),
               message_id: II | None = None, creation_time: str | None = None,
               ) -> PatientDiscoveryResponse:
        """The answer to ``request`` from our gateway (device ``sender_device``)."""
        return cls(
            message_id=message_id or II(root=sender_device.root, extension=uuid.uuid4().hex),
            creation_time=creation_time or hl7_now(),
            sender=Device(id=sender_device, home_community_id=home_community_id),
            receiver=request.sender,
            target_message_id=request.message_id,
            query_response_code=code,
            query=request.query,
            patients=patients,
            issues=issues,
            details=details,
        )


# --- parse -------------------------------------------------------------------------------------

def _check_interaction(el: etree._Element, expected: str) -> None:
    if el.get("ITSVersion") != "XML_1.0":
        raise InvalidValueError("ITSVersion must be XML_1.0", location=x.where(el))
    interaction = read_ii(x.one(el, H("interactionId")))
    if interaction.root != oids.HL7_INTERACTION.value or interaction.extension != expected:
        raise InvalidValueError(f"interactionId is not {expected}", location=x.where(el))


def _read_device(holder: etree._Element) -> Device:
    device = x.one(holder, H("device"))
    ids = x.children(device, H("id"))
    if not ids:
        raise MissingElementError("device without id", location=x.where(device))
    hcid = None
    agent = x.opt(device, H("asAgent"))
    if agent is not None:
        org = x.opt(agent, H("representedOrganization"))
        if org is not None:
            org_id = x.opt(org, H("id"))
            if org_id is not None:
                hcid = read_ii(org_id).root
    return Device(id=read_ii(ids[0]), home_community_id=hcid)


def _single_value(param: etree._Element) -> etree._Element:
    values = x.children(param, H("value"))
    if len(values) != 1:
        raise InvalidValueError("parameter must carry exactly one value", location=x.where(param))
    return values[0]


def _read_query(qbp: etree._Element) -> PatientDiscoveryQuery:
    query_id = read_ii(x.one(qbp, H("queryId")))
    plist = x.one(qbp, H("parameterList"))
    ids: list[II] = []
    for param in x.children(plist, H("livingSubjectId")):
        values = x.children(param, H("value"))
        if not values:
            raise MissingElementError("livingSubjectId without value", location=x.where(param))
        # A root-only id is lawful (HL7 V3 II): the responder answers it (no national id
        # value: AE DemographicsQueryNotAllowed), it is not a malformed message.
        ids.extend(read_ii(v) for v in values)
    names: list[PersonName] = []
    for param in x.children(plist, H("livingSubjectName")):
        values = x.children(param, H("value"))
        if not values:
            raise MissingElementError("livingSubjectName without value", location=x.where(param))
        names.extend(PersonName.read(v) for v in values)
    birth = x.opt(plist, H("livingSubjectBirthTime"))
    birth_time = None
    if birth is not None:
        v = _single_value(birth)
        birth_time = check_ts(x.attr(v, "value"), v)
    gender_el = x.opt(plist, H("livingSubjectAdministrativeGender"))
    gender = None
    if gender_el is not None:
        v = _single_value(gender_el)
        gender = check_gender(x.attr(v, "code"), v)
    return PatientDiscoveryQuery(query_id=query_id, patient_ids=tuple(ids), names=tuple(names),
                                 birth_time=birth_time, gender=gender)


def parse_request(el: etree._Element) -> PatientDiscoveryRequest:
    """Read a PRPA_IN201305UV02 body element; raise a :class:`MessageError` if malformed."""
    x.expect_root(el, H(REQUEST_INTERACTION))
    _check_interaction(el, REQUEST_INTERACTION)
    receivers = x.children(el, H("receiver"))
    if not receivers:
        raise MissingElementError("missing receiver", location=x.where(el))
    cap = x.one(el, H("controlActProcess"))
    qbp = x.opt(cap, H("queryByParameter"))
    if qbp is None:
        raise MissingElementError("missing queryByParameter", location=x.where(cap))
    return PatientDiscoveryRequest(
        message_id=read_ii(x.one(el, H("id"))),
        creation_time=check_ts(x.attr(x.one(el, H("creationTime")), "value"), el),
        sender=_read_device(x.one(el, H("sender"))),
        receiver=_read_device(receivers[0]),
        query=_read_query(qbp),
        processing_code=x.attr(x.one(el, H("processingCode")), "code"),
    )


def _read_patient(reg: etree._Element) -> MatchedPatient:
    patient = x.one(x.one(reg, H("subject1")), H("patient"))
    ids = tuple(read_ii(i) for i in x.children(patient, H("id")))
    if not ids:
        raise MissingElementError("patient without id", location=x.where(patient))
    person = x.one(patient, H("patientPerson"))
    names = tuple(PersonName.read(n) for n in x.children(person, H("name")))
    if not names:
        raise MissingElementError("patient without name", location=x.where(person))
    gender_el = x.opt(person, H("administrativeGenderCode"))
    birth_el = x.opt(person, H("birthTime"))
    custodian = x.one(x.one(reg, H("custodian")), H("assignedEntity"))
    custodian_ids = x.children(custodian, H("id"))
    if not custodian_ids:
        raise MissingElementError("custodian without id", location=x.where(custodian))
    return MatchedPatient(
        ids=ids,
        names=names,
        gender=check_gender(x.attr(gender_el, "code"), gender_el) if gender_el is not None
        else None,
        birth_time=check_ts(x.attr(birth_el, "value"), birth_el) if birth_el is not None
        else None,
        addresses=tuple(Address.read(a) for a in x.children(person, H("addr"))),
        custodian_id=read_ii(custodian_ids[0]).root,
    )


def _read_issue(reason: etree._Element) -> DetectedIssue:
    event = x.one(reason, H("detectedIssueEvent"))
    for placement, child, inner in (("mitigatedBy", "mitigatedBy", "detectedIssueManagement"),
                                    ("triggerFor", "triggerFor", "actOrderRequired")):
        for holder in x.children(event, H(child)):
            code = x.opt(x.one(holder, H(inner)), H("code"))
            if code is not None:
                return DetectedIssue(code=x.attr(code, "code"),
                                     code_system=x.attr(code, "codeSystem"), placement=placement)
    # No management code: the event code itself is the only reason given.
    code = x.one(event, H("code"))
    return DetectedIssue(code=x.attr(code, "code"), code_system=x.attr(code, "codeSystem"),
                         placement="event")


def parse_response(el: etree._Element) -> PatientDiscoveryResponse:
    """Read a PRPA_IN201306UV02 body element; raise a :class:`MessageError` if malformed."""
    x.expect_root(el, H(RESPONSE_INTERACTION))
    _check_interaction(el, RESPONSE_INTERACTION)
    ack = x.one(el, H("acknowledgement"))
    ack_type = x.attr(x.one(ack, H("typeCode")), "code")
    try:
        acknowledgement = AcknowledgementType(ack_type)
    except ValueError:
        raise InvalidValueError("unknown acknowledgement type", location=x.where(ack)) from None
    details = []
    for d in x.children(ack, H("acknowledgementDetail")):
        code = x.opt(d, H("code"))
        details.append(AcknowledgementDetail(
            code=x.opt_attr(code, "code") if code is not None else None,
            code_system=x.opt_attr(code, "codeSystem") if code is not None else None,
            text=x.opt_text(x.opt(d, H("text"))),
            location=x.opt_text(next(iter(x.children(d, H("location"))), None)),
            type_code=d.get("typeCode", "E"),
        ))
    cap = x.one(el, H("controlActProcess"))
    query_ack = x.one(cap, H("queryAck"))
    rc = x.attr(x.one(query_ack, H("queryResponseCode")), "code")
    try:
        response_code = QueryResponseCode(rc)
    except ValueError:
        raise InvalidValueError("unknown queryResponseCode", location=x.where(query_ack)) from None
    qbp = x.opt(cap, H("queryByParameter"))
    if qbp is None:
        raise MissingElementError("missing queryByParameter", location=x.where(cap))
    receivers = x.children(el, H("receiver"))
    if not receivers:
        raise MissingElementError("missing receiver", location=x.where(el))
    response = PatientDiscoveryResponse(
        message_id=read_ii(x.one(el, H("id"))),
        creation_time=check_ts(x.attr(x.one(el, H("creationTime")), "value"), el),
        sender=_read_device(x.one(el, H("sender"))),
        receiver=_read_device(receivers[0]),
        target_message_id=read_ii(x.one(x.one(ack, H("targetMessage")), H("id"))),
        query_response_code=response_code,
        query=_read_query(qbp),
        patients=tuple(_read_patient(x.one(s, H("registrationEvent")))
                       for s in x.children(cap, H("subject"))),
        issues=tuple(_read_issue(r) for r in x.children(cap, H("reasonOf"))),
        details=tuple(details),
        acknowledgement=acknowledgement,
    )
    try:
        response.check()
    except InvalidValueError as exc:
        raise InvalidValueError(exc.detail, location=x.where(cap)) from None
    return response


# --- build -------------------------------------------------------------------------------------

def _write_header(el: etree._Element, *, message_id: II, creation_time: str, interaction: str,
                  processing_code: str, accept_ack: str) -> None:
    write_ii(el, "id", message_id)
    x.sub(el, "hl7", "creationTime", {"value": creation_time})
    write_ii(el, "interactionId", II(root=oids.HL7_INTERACTION.value, extension=interaction))
    x.sub(el, "hl7", "processingCode", {"code": processing_code})
    x.sub(el, "hl7", "processingModeCode", {"code": "T"})
    x.sub(el, "hl7", "acceptAckCode", {"code": accept_ack})


def _write_device(el: etree._Element, local: str, type_code: str, device: Device) -> None:
    holder = x.sub(el, "hl7", local, {"typeCode": type_code})
    dev = x.sub(holder, "hl7", "device", {"classCode": "DEV", "determinerCode": "INSTANCE"})
    write_ii(dev, "id", device.id)
    if device.home_community_id:
        agent = x.sub(dev, "hl7", "asAgent", {"classCode": "AGNT"})
        org = x.sub(agent, "hl7", "representedOrganization",
                    {"classCode": "ORG", "determinerCode": "INSTANCE"})
        write_ii(org, "id", II(root=device.home_community_id))


def _write_query(parent: etree._Element, query: PatientDiscoveryQuery, *, echo: bool) -> None:
    qbp = x.sub(parent, "hl7", "queryByParameter")
    write_ii(qbp, "queryId", query.query_id)
    x.sub(qbp, "hl7", "statusCode", {"code": "new"})
    if not echo:
        x.sub(qbp, "hl7", "responseModalityCode", {"code": "R"})
        x.sub(qbp, "hl7", "responsePriorityCode", {"code": "I"})
    plist = x.sub(qbp, "hl7", "parameterList")
    if query.gender is not None:
        p = x.sub(plist, "hl7", "livingSubjectAdministrativeGender")
        x.sub(p, "hl7", "value", {"code": check_gender(query.gender)})
        x.sub(p, "hl7", "semanticsText", text_value="LivingSubject.administrativeGender")
    if query.birth_time is not None:
        p = x.sub(plist, "hl7", "livingSubjectBirthTime")
        x.sub(p, "hl7", "value", {"value": check_ts(query.birth_time)})
        x.sub(p, "hl7", "semanticsText", text_value="LivingSubject.birthTime")
    for pid in query.patient_ids:
        p = x.sub(plist, "hl7", "livingSubjectId")
        write_ii(p, "value", pid)
        x.sub(p, "hl7", "semanticsText", text_value="LivingSubject.id")
    for name in query.names:
        p = x.sub(plist, "hl7", "livingSubjectName")
        name.write(p, "value")
        x.sub(p, "hl7", "semanticsText", text_value="LivingSubject.name")


def build_request(request: PatientDiscoveryRequest) -> etree._Element:
    """The PRPA_IN201305UV02 element of ``request`` (to put in a SOAP Body)."""
    el = x.root("hl7", REQUEST_INTERACTION, _NSMAP, {"ITSVersion": "XML_1.0"})
    _write_header(el, message_id=request.message_id, creation_time=request.creation_time,
                  interaction=REQUEST_INTERACTION, processing_code=request.processing_code,
                  accept_ack="AL")
    _write_device(el, "receiver", "RCV", request.receiver)
    _write_device(el, "sender", "SND", request.sender)
    cap = x.sub(el, "hl7", "controlActProcess", {"classCode": "CACT", "moodCode": "EVN"})
    x.sub(cap, "hl7", "code", {"code": "PRPA_TE201305UV02",
                               "codeSystem": oids.HL7_INTERACTION.value})
    _write_query(cap, request.query, echo=False)
    return el


def _write_patient(cap: etree._Element, patient: MatchedPatient) -> None:
    subject = x.sub(cap, "hl7", "subject", {"typeCode": "SUBJ"})
    reg = x.sub(subject, "hl7", "registrationEvent", {"classCode": "REG", "moodCode": "EVN"})
    x.sub(reg, "hl7", "id", {"nullFlavor": "NA"})
    x.sub(reg, "hl7", "statusCode", {"code": "active"})
    s1 = x.sub(reg, "hl7", "subject1", {"typeCode": "SBJ"})
    pat = x.sub(s1, "hl7", "patient", {"classCode": "PAT"})
    for pid in patient.ids:
        write_ii(pat, "id", pid)
    x.sub(pat, "hl7", "statusCode", {"code": "active"})
    person = x.sub(pat, "hl7", "patientPerson", {"classCode": "PSN",
                                                  "determinerCode": "INSTANCE"})
    for name in patient.names:
        name.write(person, "name")
    if patient.gender is not None:
        x.sub(person, "hl7", "administrativeGenderCode",
              {"code": check_gender(patient.gender),
               "codeSystem": oids.HL7_ADMINISTRATIVE_GENDER.value})
    if patient.birth_time is not None:
        x.sub(person, "hl7", "birthTime", {"value": check_ts(patient.birth_time)})
    for addr in patient.addresses:
        addr.write(person)
    subject_of = x.sub(pat, "hl7", "subjectOf1")
    obs = x.sub(subject_of, "hl7", "queryMatchObservation", {"classCode": "COND",
                                                            "moodCode": "EVN"})
    x.sub(obs, "hl7", "code", {"code": "IHE_PDQ", "codeSystem": oids.HL7_QUERY_MATCH.value})
    value = x.sub(obs, "hl7", "value", {"value": "100"})
    value.set(qname("xsi", "type"), "INT")
    custodian = x.sub(reg, "hl7", "custodian", {"typeCode": "CST"})
    entity = x.sub(custodian, "hl7", "assignedEntity", {"classCode": "ASSIGNED"})
    write_ii(entity, "id", II(root=patient.custodian_id))
    x.sub(entity, "hl7", "code", {"code": "NotHealthDataLocator",
                                  "codeSystem": oids.IHE_XCPD_HEALTH_DATA_LOCATOR.value})


def _write_issue(cap: etree._Element, issue: DetectedIssue) -> None:
    reason = x.sub(cap, "hl7", "reasonOf", {"typeCode": "RSON"})
    event = x.sub(reason, "hl7", "detectedIssueEvent", {"classCode": "ALRT", "moodCode": "EVN"})
    if issue.placement == "event":
        x.sub(event, "hl7", "code", {"code": issue.code, "codeSystem": issue.code_system})
        return
    x.sub(event, "hl7", "code", {"code": "ActAdministrativeDetectedIssueCode",
                                 "codeSystem": oids.HL7_ACT_CODE.value})
    if issue.placement == "triggerFor":
        trigger = x.sub(event, "hl7", "triggerFor", {"typeCode": "TRIG"})
        inner = x.sub(trigger, "hl7", "actOrderRequired", {"classCode": "ACT", "moodCode": "RQO"})
    elif issue.placement == "mitigatedBy":
        mitigated = x.sub(event, "hl7", "mitigatedBy", {"typeCode": "MITGT"})
        inner = x.sub(mitigated, "hl7", "detectedIssueManagement",
                      {"classCode": "ACT", "moodCode": "EVN"})
    else:
        raise InvalidValueError(f"unknown detected issue placement {issue.placement!r}")
    x.sub(inner, "hl7", "code", {"code": issue.code, "codeSystem": issue.code_system})


def build_response(response: PatientDiscoveryResponse) -> etree._Element:
    """The PRPA_IN201306UV02 element of ``response``; inconsistent answers are refused."""
    response.check()
    el = x.root("hl7", RESPONSE_INTERACTION, _NSMAP, {"ITSVersion": "XML_1.0"})
    _write_header(el, message_id=response.message_id, creation_time=response.creation_time,
                  interaction=RESPONSE_INTERACTION, processing_code="P", accept_ack="NE")
    _write_device(el, "receiver", "RCV", response.receiver)
    _write_device(el, "sender", "SND", response.sender)
    ack = x.sub(el, "hl7", "acknowledgement")
    x.sub(ack, "hl7", "typeCode", {"code": response.acknowledgement_type.value})
    target = x.sub(ack, "hl7", "targetMessage")
    write_ii(target, "id", response.target_message_id)
    for d in response.details:
        detail = x.sub(ack, "hl7", "acknowledgementDetail", {"typeCode": d.type_code})
        if d.code is not None:
            code = x.sub(detail, "hl7", "code", {"code": d.code})
            if d.code_system is not None:
                code.set("codeSystem", d.code_system)
        if d.text is not None:
            x.sub(detail, "hl7", "text", text_value=d.text)
        if d.location is not None:
            x.sub(detail, "hl7", "location", text_value=d.location)
    cap = x.sub(el, "hl7", "controlActProcess", {"classCode": "CACT", "moodCode": "EVN"})
    x.sub(cap, "hl7", "code", {"code": "PRPA_TE201306UV02",
                               "codeSystem": oids.HL7_INTERACTION.value})
    for patient in response.patients:
        _write_patient(cap, patient)
    for issue in response.issues:
        _write_issue(cap, issue)
    query_ack = x.sub(cap, "hl7", "queryAck")
    write_ii(query_ack, "queryId", response.query.query_id)
    x.sub(query_ack, "hl7", "statusCode", {"code": "deliveredResponse"})
    x.sub(query_ack, "hl7", "queryResponseCode", {"code": response.query_response_code.value})
    if response.patients:
        n = str(len(response.patients))
        x.sub(query_ack, "hl7", "resultTotalQuantity", {"value": n})
        x.sub(query_ack, "hl7", "resultCurrentQuantity", {"value": n})
        x.sub(query_ack, "hl7", "resultRemainingQuantity", {"value": "0"})
    _write_query(cap, response.query, echo=True)
    return el
