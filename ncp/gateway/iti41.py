"""ITI-41 Provide and Register Document Set-b (XDR), responding side: eDispensation and its
discard for one of our ePrescriptions.

One submission carries one structured eDispensation (class 60593-1) or one discard
(``DISCARD-60593-1``); a level 1 PDF rendition sent alongside is accepted and not stored (the
structured document is the record). The patient of the submission is the TRC's and ours, with
the ePrescription consent. The DSP stores the eD in its national profile (the received pivot
transformed by :func:`ncp.transform.to_national`, audited as an EHDSI-94 translation) and keeps
the pivot as received, sealed beside it. Dispensing is atomic and idempotent in the store; the
answer is a RegistryResponse, Success or Failure with the dictionary's error
(:class:`ncp.errors.ErrorCode`: 4106 already dispensed, ERROR_ED_NOT_DISPENSABLE_EPRESCRIPTION
expired or more than remains, ERROR_ED_SUBSTITUTION_INFORMATION_NOT_ALLOWED,
ERROR_ED_EPRESCRIPTION_NOT_IDENTIFIABLE, ERROR_ED_DISCARD_FAILED, ERROR_ED_GENERIC for a
malformed eD, ERROR_ED_MISSING_EXPECTED_MAPPING for an identifying code without mapping).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

from ncp.eprescription import SubmittedDispensation
from ncp.errors import ErrorCode, NcpError
from ncp.gateway.exchange import Exchange
from ncp.gateway.patients import closed_or_no_consent, resolve_patient
from ncp.gateway.pipeline import Subject, actor_of
from ncp.ihe import registry
from ncp.ihe.codes import ClassCode, FormatCode, Service
from ncp.ihe.rim import registry_errors
from ncp.ihe.xdr import submit
from ncp.security.permissions import Transaction as SecurityTransaction
from ncp.security.validation import VerifiedIdentity
from ncp.security.wssecurity import VerifiedMessage
from ncp.store.errors import AccessDenied

if TYPE_CHECKING:
    from ncp.gateway.pipeline import Gateway


def _structured(request: submit.ProvideAndRegisterRequest) -> list[submit.SubmittedDocument]:
    return [d for d in request.documents if d.entry.format_code.code != FormatCode.PDF.value]


def service_of(request: submit.ProvideAndRegisterRequest) -> Service:
    services = request.services
    docs = _structured(request)
    if len(services) != 1 or len(docs) != 1:
        raise NcpError(ErrorCode.UNSUPPORTED_FEATURE,
                       "one eDispensation or one discard per submission")
    service = next(iter(services))
    if service not in (Service.EDISPENSATION, Service.EDISPENSATION_DISCARD):
        raise NcpError(ErrorCode.UNSUPPORTED_FEATURE, f"cannot receive {service}")
    return service


class ProvideAndRegister:
    transaction = registry.ITI_41

    def parse(self, body: etree._Element) -> submit.ProvideAndRegisterRequest:
        return submit.parse_request(body)

    def subject(self, request: submit.ProvideAndRegisterRequest,
                message: VerifiedMessage) -> Subject:
        service = service_of(request)
        tx = (SecurityTransaction.XDR_SUBMIT_ED if service is Service.EDISPENSATION
              else SecurityTransaction.XDR_DISCARD_ED)
        return Subject(security_transaction=tx, service=service,
                       patient=request.submission_set.patient_id)

    def answer(self, gw: Gateway, ex: Exchange, request: submit.ProvideAndRegisterRequest,
               identity: VerifiedIdentity) -> etree._Element:
        service = service_of(request)
        actor = actor_of(identity)
        patient_id = request.submission_set.patient_id
        doc = _structured(request)[0]
        ex.objects.append((doc.entry.unique_id, "ITI-41", "Document"))
        patient = resolve_patient(gw, patient_id, {service})
        hcp = identity.hcp
        discard = doc.entry.class_code.code == ClassCode.EDISPENSATION_DISCARD.value
        try:
            result = gw.prescriptions.submit(
                actor,
                SubmittedDispensation(xds_unique_id=doc.entry.unique_id, content=doc.content,
                                      discard=discard),
                patient_db_id=patient, trc_patient=patient_id,
                pharmacist=hcp.name, organisation=hcp.organisation_id or hcp.organisation,
                country=identity.country)
        except AccessDenied:
            raise closed_or_no_consent() from None
        if not discard and not result.duplicate:
            ex.transcoded.append(doc.entry.unique_id)  # stored in its national form: EHDSI-94
        return submit.build_response(submit.RegistryResponse.of())

    def refuse(self, gw: Gateway, ex: Exchange, request: submit.ProvideAndRegisterRequest | None,
               error: NcpError) -> etree._Element:
        return submit.build_response(
            submit.RegistryResponse.of(errors=registry_errors((error,))))
