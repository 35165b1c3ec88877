"""RFC 3881 / DICOM PS3.15 ``AuditMessage`` for the eHDSI transactions.

The layout follows what the EU reference gateway (OpenNCP 9) emits and the eHDSI audit profile:
EventID (DCM), an EventTypeCode for the IHE transaction and one for the eHDSI event, the human
requestor, the service consumer and provider (source and destination roles), the point of care,
the patient (as ``id^^^&root&ISO``: never demographics, unlike the reference gateway's patient
discovery record), the query or document ids, and the error when there is one.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
from dataclasses import dataclass, field

from lxml import etree

from ncp.ihe.registry import Transaction


class Outcome(enum.IntEnum):
    """RFC 3881 EventOutcomeIndicator."""

    SUCCESS = 0
    MINOR_FAILURE = 4
    SERIOUS_FAILURE = 8
    MAJOR_FAILURE = 12


@dataclass(frozen=True, slots=True)
class Participant:
    user_id: str
    alternative_user_id: str | None = None
    user_name: str | None = None
    requestor: bool = False
    network_access_point: str | None = None
    #: (code, codeSystemName, displayName) of the role
    role: tuple[str, str, str] | None = None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audited transaction, as data; :func:`build_audit_message` makes the XML."""

    transaction: Transaction
    ehdsi_event: str
    outcome: Outcome
    at: dt.datetime
    human_requestor: Participant
    service_consumer: Participant
    service_provider: Participant
    point_of_care: str | None = None
    patient_id: str | None = None  # "ext^^^&root&ISO"
    #: query or document ids: (id, id type code, display)
    objects: tuple[tuple[str, str, str], ...] = ()
    error_code: str | None = None
    error_text: str | None = None
    audit_source_id: str = "NCPeH-LU"
    extra: dict[str, str] = field(default_factory=dict)


def _code(parent: etree._Element, tag: str, code: str, system: str, display: str,
          original: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, tag)
    el.set("csd-code", code)
    el.set("codeSystemName", system)
    el.set("displayName", display)
    el.set("originalText", original or display)
    return el


def _participant(root: etree._Element, p: Participant, role: tuple[str, str, str]) -> None:
    el = etree.SubElement(root, "ActiveParticipant")
    el.set("UserID", p.user_id)
    if p.alternative_user_id:
        el.set("AlternativeUserID", p.alternative_user_id)
    if p.user_name:
        el.set("UserName", p.user_name)
    el.set("UserIsRequestor", "true" if p.requestor else "false")
    if p.network_access_point:
        el.set("NetworkAccessPointID", p.network_access_point)
        el.set("NetworkAccessPointTypeCode", "2")
    code, system, display = p.role or role
    _code(el, "RoleIDCode", code, system, display)


def build_audit_message(event: AuditEvent) -> bytes:
    """The AuditMessage XML of ``event`` (UTF-8, with declaration)."""
    spec = event.transaction.audit
    root = etree.Element("AuditMessage")
    ident = etree.SubElement(root, "EventIdentification")
    ident.set("EventActionCode", spec.action_code)
    ident.set("EventDateTime", event.at.astimezone(dt.UTC).isoformat(timespec="milliseconds"))
    ident.set("EventOutcomeIndicator", str(int(event.outcome)))
    _code(ident, "EventID", spec.event_id, "DCM", spec.event_id_display)
    _code(ident, "EventTypeCode", spec.event_type_code, "IHE Transactions",
          spec.event_type_display)
    _code(ident, "EventTypeCode", event.ehdsi_event, "eHDSI Events", event.ehdsi_event)
    if event.error_text:
        etree.SubElement(ident, "EventOutcomeDescription").text = event.error_text

    _participant(root, event.human_requestor, ("HCP", "eHDSI Roles", "Health professional"))
    _participant(root, event.service_consumer,
                 ("ServiceConsumer", "eHealth DSI", "eHealth DSI Service Consumer"))
    _participant(root, event.service_provider,
                 ("ServiceProvider", "eHealth DSI", "eHealth DSI Service Provider"))
    source = Participant(event.service_consumer.user_id, requestor=True,
                         network_access_point=event.service_consumer.network_access_point)
    _participant(root, source, ("110153", "DCM", "Source Role ID"))
    destination = Participant(event.service_provider.user_id,
                              network_access_point=event.service_provider.network_access_point)
    _participant(root, destination, ("110152", "DCM", "Destination Role ID"))
    if event.point_of_care:
        _participant(root, Participant(event.point_of_care),
                     ("POC", "eHDSI Roles", "Point of care"))

    src = etree.SubElement(root, "AuditSourceIdentification")
    src.set("AuditSourceID", event.audit_source_id)
    src.set("AuditEnterpriseSiteID", event.audit_source_id)
    etree.SubElement(src, "AuditSourceTypeCode").set("csd-code", "4")

    if event.patient_id:
        obj = etree.SubElement(root, "ParticipantObjectIdentification")
        obj.set("ParticipantObjectID", event.patient_id)
        obj.set("ParticipantObjectTypeCode", "1")
        obj.set("ParticipantObjectTypeCodeRole", "1")
        _code(obj, "ParticipantObjectIDTypeCode", "2", "RFC-3881", "Patient Number")
    for object_id, type_code, display in event.objects:
        obj = etree.SubElement(root, "ParticipantObjectIdentification")
        obj.set("ParticipantObjectID", object_id)
        obj.set("ParticipantObjectTypeCode", "2")
        obj.set("ParticipantObjectTypeCodeRole", "3")
        _code(obj, "ParticipantObjectIDTypeCode", type_code, "IHE Transactions", display)
    if event.error_code:
        obj = etree.SubElement(root, "ParticipantObjectIdentification")
        obj.set("ParticipantObjectID", event.error_code)
        obj.set("ParticipantObjectTypeCode", "2")
        obj.set("ParticipantObjectTypeCodeRole", "3")
        _code(obj, "ParticipantObjectIDTypeCode", "errorcode", "eHDSI Error Codes",
              "eHDSI error code")
        if event.error_text:
            detail = etree.SubElement(obj, "ParticipantObjectDetail")
            detail.set("type", "errormsg")
            detail.set("value", base64.b64encode(event.error_text.encode()).decode())
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
