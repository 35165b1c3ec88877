"""One request through the responding gateway, as data: what is known at each step, and the
ATNA audit record made from it on every exit (success, refusal, fault, crash).

The audit record is written before the answer leaves (durably, in its own transaction, so a
rollback of the work cannot take it along); forwarding to the audit repository happens later
from the stored rows (:mod:`ncp.audit.syslog`).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field, replace

from ncp.audit.message import AuditEvent, Outcome, Participant, build_audit_message
from ncp.errors import NcpError
from ncp.gateway.reasons import check_of
from ncp.ihe import registry
from ncp.ihe.codes import Service
from ncp.ihe.identifiers import PatientId
from ncp.security.validation import VerifiedIdentity
from ncp.store.audit import AuditLog, AuditRecord, Refusal

__all__ = ["TRANSLATION_EVENT", "Exchange", "write_audit"]

log = logging.getLogger("ncp.gateway")
#: One line per refusal: error id, code, check, element, detail (configured at startup by
#: :func:`ncp.observability.configure_logging`, like every ``ncp`` logger).
refusals = logging.getLogger("ncp.gateway.refusals")

#: Default service per transaction, for audit records of requests refused before the service
#: is known (an envelope error, a bad signature).
_DEFAULT_SERVICE = {
    "ITI-55": Service.PATIENT_IDENTIFICATION,
    "ITI-38": Service.PATIENT_SUMMARY,
    "ITI-39": Service.PATIENT_SUMMARY,
    "ITI-41": Service.EDISPENSATION,
}


@dataclass
class Exchange:
    """What the pipeline learnt about one request so far."""

    endpoint: str
    at: dt.datetime
    peer_host: str | None
    provider: str
    transaction: registry.Transaction | None = None
    message_id: str | None = None
    peer_subject: str | None = None
    peer_country: str | None = None
    identity: VerifiedIdentity | None = None
    patient: PatientId | None = None
    service: Service | None = None
    #: (id, id type code, display) of the query or the documents.
    objects: list[tuple[str, str, str]] = field(default_factory=list)
    error: NcpError | None = None
    #: Errors reported per document while the transaction as a whole answered.
    partial_errors: list[NcpError] = field(default_factory=list)
    #: Unique ids of the documents transcoded for this request (national -> pivot for a
    #: retrieve, a received eDispensation pivot -> national for a submit): each such request
    #: also gets an EHDSI-94 (translation) audit record.
    transcoded: list[str] = field(default_factory=list)
    crashed: bool = False

    @property
    def outcome(self) -> Outcome:
        if self.crashed:
            return Outcome.MAJOR_FAILURE
        if self.error is not None:
            return Outcome.SERIOUS_FAILURE
        if any(e.error.severity.name == "ERROR" for e in self.partial_errors):
            return Outcome.MINOR_FAILURE
        return Outcome.SUCCESS


#: eHDSI event of a document transformation (to or from the pivot).
TRANSLATION_EVENT = "EHDSI-94"


def _event(ex: Exchange, transaction: registry.Transaction) -> AuditEvent:
    service = ex.service or _DEFAULT_SERVICE[transaction.iti]
    try:
        ehdsi = transaction.audit.ehdsi_event(service)
    except KeyError:
        ehdsi = transaction.audit.ehdsi_event(_DEFAULT_SERVICE[transaction.iti])
    hcp = ex.identity.hcp if ex.identity is not None else None
    requestor = Participant(
        hcp.subject_id if hcp else "unauthenticated",
        user_name=f"{hcp.name}<{hcp.subject_id}@{hcp.point_of_care}>" if hcp else None,
        requestor=True,
        role=(hcp.role_code, "ISCO-08", hcp.role_display) if hcp else None)
    consumer = Participant(ex.peer_subject or f"country:{ex.peer_country or 'unknown'}",
                           network_access_point=ex.peer_host, requestor=True)
    provider = Participant(ex.provider)
    error = ex.error or next((e for e in ex.partial_errors), None)
    return AuditEvent(
        transaction=transaction, ehdsi_event=ehdsi, outcome=ex.outcome, at=ex.at,
        human_requestor=requestor, service_consumer=consumer, service_provider=provider,
        point_of_care=hcp.point_of_care if hcp else None,
        patient_id=ex.patient.cx if ex.patient else None, objects=tuple(ex.objects),
        error_code=error.error.code if error else None,
        error_text=error.error.wire if error else None,
        extra={"message_id": ex.message_id or ""})


def refusal_of(error: NcpError) -> Refusal:
    """Which check refused, on which element (:func:`ncp.gateway.reasons.check_of`): a
    security check's token (``revoked``, ``own-country``, ``replay``...), else the check the
    rules table names for the error's class or code. The error id is always the one the peer
    was sent; element and detail are those of the refusal the answer re-words, if any."""
    check, source = check_of(error)
    element = getattr(source, "location", "") or error.location or None
    if source is not error and error.location and element and error.location not in element:
        # A per-document refusal: the document asked for, then where inside it.
        element = f"{error.location} {element}"
    detail = str(getattr(source, "detail", "") or source)
    if source is not error and error.detail and error.detail not in detail:
        detail = f"{error.detail}: {detail}"
    while detail.startswith(f"{check}: "):  # a re-raised SecurityError repeats its reason
        detail = detail[len(check) + 2:]
    if check == "internal-error" and type(source).__name__ not in ("NcpError", "StoreError"):
        detail = f"{type(source).__name__}: {detail}"
    return Refusal(error.error_id, check, element, detail)


def write_audit(audit: AuditLog, ex: Exchange) -> list[int]:
    """Write the audit record of ``ex``; requests that never named a known transaction are
    recorded under the endpoint's first transaction. Returns the records' ids (the first is
    the exchange's own, the correlation id of its log line)."""
    transaction = ex.transaction or registry.get(
        {"xcpd": "ITI-55", "xca": "ITI-38", "xdr": "ITI-41"}.get(ex.endpoint, "ITI-38"))
    event = _event(ex, transaction)
    refusal = refusal_of(ex.error) if ex.error is not None else None
    partial = tuple(refusal_of(e) for e in ex.partial_errors
                    if refusal is None or e.error_id != refusal.error_id)
    records = [AuditRecord(ex.at, transaction.iti, event.ehdsi_event, int(event.outcome),
                           event.patient_id, build_audit_message(event), refusal, partial)]
    if ex.transcoded:
        translation = replace(event, ehdsi_event=TRANSLATION_EVENT, outcome=Outcome.SUCCESS,
                              objects=tuple((uid, transaction.iti, "Transformed document")
                                            for uid in ex.transcoded),
                              error_code=None, error_text=None)
        records.append(AuditRecord(ex.at, transaction.iti, TRANSLATION_EVENT,
                                   int(Outcome.SUCCESS), event.patient_id,
                                   build_audit_message(translation)))
    ids = audit.record_all(records)
    if refusal is not None and ex.error is not None:
        refusals.warning("refused %s error_id=%s code=%s check=%s element=%s peer=%s: %s",
                         transaction.iti, refusal.error_id, ex.error.error.code, refusal.check,
                         refusal.element or "-", ex.peer_country or "-", refusal.detail)
    return ids
