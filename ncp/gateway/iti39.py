"""ITI-39 Cross Gateway Retrieve (XCA), responding side.

The patient is the TRC's: each requested document must be that patient's, in our repository and
home community, shared with the professional (policy: consent per service, never masked or
restricted), and of a kind the professional's permissions cover. A document that fails any of
these is answered with its own error (ERROR_GENERIC_DOCUMENT_MISSING for anything "not there for
you", so a masked document cannot be told from a missing one; 4701 for the missing consent of
its service; 4703 for permissions; 4203 and ERROR_*_MISSING_EXPECTED_MAPPING for transcoding;
the table is :class:`ncp.errors.ErrorCode`), the others are returned: PartialSuccess. Documents
travel as MTOM parts of the signed response.

Which permissions to validate the HCP assertion against is known only per document, so the
assertion is validated once (with the retrieve transaction the professional claims rights
for, so the usual checks and the replay cache run exactly once), and each document's service
is then checked against the verified permissions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

from ncp.errors import ErrorCode, NcpError
from ncp.gateway.exchange import Exchange
from ncp.gateway.pipeline import Subject, actor_of
from ncp.ihe import registry
from ncp.ihe.codes import Service
from ncp.ihe.identifiers import PatientId
from ncp.ihe.rim import registry_errors
from ncp.ihe.xca import retrieve
from ncp.security.errors import SecurityError
from ncp.security.permissions import REQUIRED_PERMISSIONS, normalise_permission
from ncp.security.permissions import Transaction as SecurityTransaction
from ncp.security.saml import ATTR, AssertionKind
from ncp.security.validation import VerifiedIdentity
from ncp.security.wssecurity import VerifiedMessage
from ncp.store.documents import DocumentInfo
from ncp.store.vocabulary import DocumentType

if TYPE_CHECKING:
    from ncp.gateway.pipeline import Gateway

_RETRIEVE = {
    Service.PATIENT_SUMMARY: SecurityTransaction.XCA_RETRIEVE_PS,
    Service.ORCD: SecurityTransaction.XCA_RETRIEVE_ORCD,
    Service.EPRESCRIPTION: SecurityTransaction.XCA_RETRIEVE_EP,
}
_SERVICE_OF_TYPE = {
    DocumentType.PATIENT_SUMMARY: Service.PATIENT_SUMMARY,
    DocumentType.PRESCRIPTION: Service.EPRESCRIPTION,
    DocumentType.LABORATORY_REPORT: Service.ORCD,
    DocumentType.IMAGING_REPORT: Service.ORCD,
    DocumentType.DISCHARGE_LETTER: Service.ORCD,
}


def _claims(message: VerifiedMessage) -> tuple[PatientId | None, frozenset[str]]:
    """The TRC patient and the HCP permissions as *claimed* (not yet verified): only used to
    choose what to verify them against; the validator then checks them for real."""
    patient = None
    permissions: frozenset[str] = frozenset()
    for el in message.assertions:
        try:
            parsed = message.read_assertion(el)  # parsed once: the validator reuses it
        except SecurityError:
            continue
        if parsed.kind == AssertionKind.TRC.value:
            subject = parsed.values(ATTR.SUBJECT_ID)
            if len(subject) == 1:
                try:
                    patient = PatientId.from_cx(subject[0].value)
                except NcpError:
                    patient = None
        elif parsed.kind == AssertionKind.HCP.value:
            permissions = frozenset(normalise_permission(v.value)
                                    for v in parsed.values(ATTR.PERMISSION))
    return patient, permissions


class CrossGatewayRetrieve:
    transaction = registry.ITI_39

    def parse(self, body: etree._Element) -> retrieve.RetrieveRequest:
        return retrieve.parse_request(body)

    def subject(self, request: retrieve.RetrieveRequest, message: VerifiedMessage) -> Subject:
        patient, permissions = _claims(message)
        if patient is None:
            raise NcpError(ErrorCode.TRC_ASSERTION_INVALID, "no readable TRC patient",
                           location=AssertionKind.TRC.value)
        ep_only = (REQUIRED_PERMISSIONS[SecurityTransaction.XCA_RETRIEVE_EP] <= permissions
                   and not REQUIRED_PERMISSIONS[SecurityTransaction.XCA_RETRIEVE_PS]
                   <= permissions)
        service = Service.EPRESCRIPTION if ep_only else Service.PATIENT_SUMMARY
        return Subject(security_transaction=_RETRIEVE[service], service=service,
                       patient=patient)

    def answer(self, gw: Gateway, ex: Exchange, request: retrieve.RetrieveRequest,
               identity: VerifiedIdentity) -> etree._Element:
        actor = actor_of(identity)
        assert ex.patient is not None
        if ex.patient.root != gw.settings.patient_id_root:
            raise NcpError(ErrorCode.NO_MATCH, "not our identifier domain")
        # No separate patient lookup: each read checks that the document is this patient's
        # (an unknown patient's documents are simply unknown), through the access policy.
        home = gw.entries.home
        documents: list[retrieve.DocumentResponse] = []
        errors: list[NcpError] = []
        services: list[Service] = []
        for wanted in request.documents:
            ex.objects.append((wanted.document_unique_id, "ITI-39", "Document"))
            try:
                if wanted.home_community_id not in (None, home):
                    raise NcpError(ErrorCode.UNKNOWN_COMMUNITY, "another community",
                                   location=wanted.document_unique_id)
                if wanted.repository_unique_id != gw.entries.repository_unique_id:
                    raise NcpError(ErrorCode.UNKNOWN_REPOSITORY, "another repository",
                                   location=wanted.document_unique_id)
                doc = gw.documents.retrieve(actor, wanted.document_unique_id,
                                            matricule=ex.patient.extension,
                                            precheck=lambda info: _permitted(info, identity))
                services.append(_SERVICE_OF_TYPE[doc.info.doc_type])
                if doc.transcoded:
                    ex.transcoded.append(wanted.document_unique_id)
                documents.append(retrieve.DocumentResponse(
                    repository_unique_id=wanted.repository_unique_id,
                    document_unique_id=wanted.document_unique_id, mime_type=doc.mime_type,
                    document=doc.content, home_community_id=home))
            except NcpError as exc:
                errors.append(_located(exc, wanted.document_unique_id))
        if services:
            ex.service = services[0]
        ex.partial_errors.extend(errors)
        if errors and not documents:
            ex.error = errors[0]
        response = retrieve.RetrieveResponse.of(
            documents=tuple(documents), errors=registry_errors(errors))
        return retrieve.build_response(response)

    def refuse(self, gw: Gateway, ex: Exchange, request: retrieve.RetrieveRequest | None,
               error: NcpError) -> etree._Element:
        return retrieve.build_response(
            retrieve.RetrieveResponse.of(errors=registry_errors((error,))))


def _permitted(info: DocumentInfo, identity: VerifiedIdentity) -> None:
    """The professional's verified permissions must cover the document's service (checked
    before the document is read, so a refusal reads nothing)."""
    service = _SERVICE_OF_TYPE.get(info.doc_type)
    if service is None:
        return  # not shared across borders at all: the policy answers (unknown document)
    missing = REQUIRED_PERMISSIONS[_RETRIEVE[service]] - identity.hcp.permissions
    if missing:
        raise NcpError(ErrorCode.INSUFFICIENT_RIGHTS, f"needs {sorted(missing)}")


def _located(error: NcpError, unique_id: str) -> NcpError:
    """The per-document error, located at the requested id (never anything internal)."""
    located = NcpError(error.error, error.detail, location=unique_id)
    located.error_id = error.error_id
    # The refusal it re-words: explain stores the check that really refused (a tampered
    # ciphertext is content-tampered, not an anonymous internal error), never sent to the peer.
    located.__context__ = error
    return located

