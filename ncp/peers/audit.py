"""The ATNA record of a treatment relationship our gateway vouches for (eHDSI event EHDSI-92).

When a professional confirms the treatment relationship with a visitor, our gateway becomes the
issuer of the TRC assertions that will travel with every request for that patient: that
decision is audited on its own, like the reference gateway's ``ncp::TrcAssertion`` record
(EventID DCM 110112, EventTypeCode EHDSI-92, the patient, the professional as requestor, our
community as consumer, the visitor's as provider, the context as the assertion object). The
calls themselves are audited by :class:`ncp.peers.client.GatewayClient`.
"""

from __future__ import annotations

import datetime as dt

from lxml import etree

from ncp.audit.message import Outcome
from ncp.store.audit import AuditLog

__all__ = ["record_trc"]

EVENT = "EHDSI-92"


def _code(parent: etree._Element, tag: str, code: str, system: str, display: str) -> None:
    el = etree.SubElement(parent, tag)
    el.set("csd-code", code)
    el.set("codeSystemName", system)
    el.set("displayName", display)
    el.set("originalText", display)


def _participant(root: etree._Element, user: str, requestor: bool,
                 role: tuple[str, str, str], name: str | None = None) -> None:
    el = etree.SubElement(root, "ActiveParticipant")
    el.set("UserID", user)
    if name:
        el.set("UserName", name)
    el.set("UserIsRequestor", "true" if requestor else "false")
    _code(el, "RoleIDCode", *role)


def trc_message(*, at: dt.datetime, outcome: Outcome, professional_id: str,
                professional_name: str, isco: str, organisation: str, consumer: str,
                provider: str, patient_cx: str, context: str, purpose: str,
                source_id: str) -> bytes:
    root = etree.Element("AuditMessage")
    ident = etree.SubElement(root, "EventIdentification")
    ident.set("EventActionCode", "E")
    ident.set("EventDateTime", at.astimezone(dt.UTC).isoformat(timespec="milliseconds"))
    ident.set("EventOutcomeIndicator", str(int(outcome)))
    _code(ident, "EventID", "110112", "DCM", "ncp::TrcAssertion")
    _code(ident, "EventTypeCode", EVENT, "eHDSI Events", "ncp::TrcAssertion")
    _code(ident, "PurposeOfUse", purpose, "eHDSI Purpose of use", purpose.capitalize())
    _participant(root, professional_id, True, (isco, "ISCO-08", "Health professional"),
                 f"{professional_name}<{professional_id}@{organisation}>")
    _participant(root, consumer, True, ("ServiceConsumer", "eHealth DSI",
                                        "eHealth DSI Service Consumer"))
    _participant(root, provider, False, ("ServiceProvider", "eHealth DSI",
                                         "eHealth DSI Service Provider"))
    _participant(root, consumer, True, ("110153", "DCM", "Source Role ID"))
    _participant(root, provider, False, ("110152", "DCM", "Destination Role ID"))
    if organisation:
        _participant(root, organisation, False, ("POC", "eHDSI Roles", "Point of care"))
    src = etree.SubElement(root, "AuditSourceIdentification")
    src.set("AuditSourceID", source_id)
    src.set("AuditEnterpriseSiteID", source_id)
    etree.SubElement(src, "AuditSourceTypeCode").set("csd-code", "4")
    patient = etree.SubElement(root, "ParticipantObjectIdentification")
    patient.set("ParticipantObjectID", patient_cx)
    patient.set("ParticipantObjectTypeCode", "1")
    patient.set("ParticipantObjectTypeCodeRole", "1")
    _code(patient, "ParticipantObjectIDTypeCode", "2", "RFC-3881", "Patient Number")
    assertion = etree.SubElement(root, "ParticipantObjectIdentification")
    assertion.set("ParticipantObjectID", context)
    assertion.set("ParticipantObjectTypeCode", "2")
    _code(assertion, "ParticipantObjectIDTypeCode", "TrcA", "eHealth DSI Security",
          "TRC Assertion")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def record_trc(audit: AuditLog, **kwargs: object) -> int:
    """Write the record durably (its own transaction); returns its id."""
    message = trc_message(**kwargs)  # type: ignore[arg-type]
    outcome: Outcome = kwargs["outcome"]  # type: ignore[assignment]
    return audit.record(at=kwargs["at"], transaction="TRC",  # type: ignore[arg-type]
                        event_code=EVENT, outcome=int(outcome),
                        patient_ref=str(kwargs["patient_cx"]), message=message)
