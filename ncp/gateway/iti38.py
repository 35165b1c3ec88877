"""ITI-38 Cross Gateway Query (XCA FindDocuments), responding side.

The class codes of the query select the eHDSI service: Patient Summary (60591-5),
ePrescription (57833-6) or original clinical documents (11502-2, 34105-7, 18748-4); one query
asks one service. The patient must be the TRC's (checked with the assertions), ours, and consent
to that service. The answer lists what the policy lets a foreign professional see: the PS (and
its PDF rendition with the XFRM association when rendering is configured), each dispensable
ePrescription with its metadata, the original clinical documents as PDF; "nothing" is the
warning 1102 (PS) / 1104 (OrCD) or the error 1101 (eP); the codes of every refusal are
:class:`ncp.errors.ErrorCode`'s. The query's other parameters (format,
status, times, event codes such as an ATC code...) narrow the answer
(:mod:`ncp.patient_summary.find_documents`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

from ncp.errors import ErrorCode, NcpError
from ncp.gateway.exchange import Exchange
from ncp.gateway.patients import closed_or_no_consent, resolve_patient
from ncp.gateway.pipeline import Subject, actor_of
from ncp.ihe import registry
from ncp.ihe.codes import ClassCode, ReturnType, Service
from ncp.ihe.rim import registry_errors
from ncp.ihe.xca import query
from ncp.patient_summary import find_documents
from ncp.security.permissions import Transaction as SecurityTransaction
from ncp.security.validation import VerifiedIdentity
from ncp.security.wssecurity import VerifiedMessage
from ncp.store.errors import AccessDenied

if TYPE_CHECKING:
    from ncp.gateway.pipeline import Gateway

_SECURITY = {
    Service.PATIENT_SUMMARY: SecurityTransaction.XCA_QUERY_PS,
    Service.EPRESCRIPTION: SecurityTransaction.XCA_QUERY_EP,
    Service.ORCD: SecurityTransaction.XCA_QUERY_ORCD,
}


def is_our_community(home: str | None, ours: str) -> bool:
    """``AdhocQuery/@home`` absent, or our homeCommunityId (``urn:oid:`` form, ITI TF-2 3.38).

    Why refuse another community rather than answer with ours: ITI-38 says a responding
    gateway answers XDSUnknownCommunity (NIST XCA test 15815); answering with our documents
    would hand our patients' metadata to a query meant for someone else."""
    if home is None:
        return True
    value = home.strip()
    if value[:8].lower() == "urn:oid:":
        value = value[8:]
    return value == ours


def service_of(q: query.FindDocumentsQuery) -> Service:
    """The one eHDSI service the query's class codes name (UNSUPPORTED_FEATURE otherwise)."""
    services = set()
    for coded in q.class_codes:
        try:
            services.add(ClassCode(coded.code).service)
        except ValueError:
            raise NcpError(ErrorCode.UNSUPPORTED_FEATURE, f"class code {coded.code}",
                           location="$XDSDocumentEntryClassCode") from None
    if len(services) != 1 or next(iter(services)) not in _SECURITY:
        raise NcpError(ErrorCode.UNSUPPORTED_FEATURE, "one query must ask for one service",
                       location="$XDSDocumentEntryClassCode")
    return services.pop()


class CrossGatewayQuery:
    transaction = registry.ITI_38

    def parse(self, body: etree._Element) -> query.FindDocumentsQuery:
        return query.parse_request(body)

    def subject(self, request: query.FindDocumentsQuery, message: VerifiedMessage) -> Subject:
        service = service_of(request)
        return Subject(security_transaction=_SECURITY[service], service=service,
                       patient=request.patient_id)

    def answer(self, gw: Gateway, ex: Exchange, request: query.FindDocumentsQuery,
               identity: VerifiedIdentity) -> etree._Element:
        if not is_our_community(request.home_community_id, gw.settings.home_community_id):
            raise NcpError(ErrorCode.UNKNOWN_COMMUNITY, "AdhocQuery/@home is not ours",
                           location="AdhocQuery/@home")
        actor = actor_of(identity)
        service = service_of(request)
        ex.objects.append((request.request_id or "FindDocuments", "ITI-38",
                           "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"))
        patient = resolve_patient(gw, request.patient_id, {service})
        try:
            if service is Service.PATIENT_SUMMARY:
                found = gw.summaries.find_summary(actor, patient, request.patient_id)
                entries, associations, errors = found.entries, found.associations, found.errors
            elif service is Service.ORCD:
                found = gw.summaries.find_original(actor, patient, request.patient_id,
                                                   {c.code for c in request.class_codes})
                entries, associations, errors = found.entries, found.associations, found.errors
            else:
                ep = gw.prescriptions.find(actor, patient, request.patient_id)
                entries, associations, errors = ep.entries, [], ep.errors
        except AccessDenied:
            raise closed_or_no_consent() from None
        entries, associations = find_documents.apply(request, list(entries), list(associations))
        ex.partial_errors.extend(errors)
        answered = registry_errors(errors)
        if request.return_type is ReturnType.OBJECT_REF:
            refs = tuple(query.ObjectRef(id=e.entry_uuid, home_community_id=e.home_community_id)
                         for e in entries)
            response = query.QueryResponse.of(object_refs=refs, errors=answered,
                                              request_id=request.request_id)
        else:
            response = query.QueryResponse.of(entries=tuple(entries),
                                              associations=tuple(associations),
                                              errors=answered,
                                              request_id=request.request_id)
        return query.build_response(response)

    def refuse(self, gw: Gateway, ex: Exchange, request: query.FindDocumentsQuery | None,
               error: NcpError) -> etree._Element:
        response = query.QueryResponse.of(
            errors=registry_errors((error,)),
            request_id=request.request_id if request is not None else None)
        return query.build_response(response)
