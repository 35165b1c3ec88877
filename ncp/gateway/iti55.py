"""ITI-55 Cross Gateway Patient Discovery (XCPD), responding side.

Discovery is by our national identifier (the matricule, assigning authority ``1.3.182.4.4``);
when the query also carries a name, a birth date or a gender, they must match the patient (a
mismatch is NF, "no such patient", not a hint which field differed). Answers: OK with the
patient, NF, or AE with the reason (the reference gateway answers AE on success; we do not).
A patient without any cross-border consent, or whose DSP is closed, is refused with AE and the
eHDSI consent error, so that discovery never reveals data the patient does not share.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from lxml import etree

from ncp.errors import ErrorCode, NcpError
from ncp.gateway.exchange import Exchange
from ncp.gateway.faults import MalformedRequestFault
from ncp.gateway.pipeline import Subject, actor_of
from ncp.ihe import registry, xcpd
from ncp.ihe.codes import QueryResponseCode, Service, XcpdIssue
from ncp.ihe.identifiers import II, PatientId
from ncp.security.permissions import Transaction as SecurityTransaction
from ncp.security.validation import VerifiedIdentity
from ncp.security.wssecurity import VerifiedMessage
from ncp.store import matricule as matricule_rules
from ncp.store.errors import AccessDenied, NotFound
from ncp.store.identity import PatientInfo

if TYPE_CHECKING:
    from ncp.gateway.pipeline import Gateway

#: eHDSI/IHE issue code reported with each refusal.
_ISSUES = {
    ErrorCode.NO_CONSENT: XcpdIssue.POLICY_VIOLATION,
    ErrorCode.HCP_ASSERTION_INVALID: XcpdIssue.INSUFFICIENT_RIGHTS,
    ErrorCode.TRC_ASSERTION_INVALID: XcpdIssue.INSUFFICIENT_RIGHTS,
    ErrorCode.WEAK_AUTHENTICATION: XcpdIssue.INSUFFICIENT_RIGHTS,
    ErrorCode.INSUFFICIENT_RIGHTS: XcpdIssue.INSUFFICIENT_RIGHTS,
    ErrorCode.NO_SIGNATURE: XcpdIssue.INSUFFICIENT_RIGHTS,
}


_VOLUME_CODES = {"patient": ErrorCode.UNEXPECTED_REQUESTS_FOR_PATIENT,
                 "professional": ErrorCode.UNEXPECTED_REQUESTS_FOR_POINT_OF_CARE,
                 "peer": ErrorCode.UNEXPECTED_REQUESTS}


class DemographicsOnly(NcpError):
    """A query without our national identifier: demographic search is not offered."""

    def __init__(self) -> None:
        super().__init__(ErrorCode.DEMOGRAPHICS_ONLY, "no national identifier in the query")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def _words(text: str) -> set[str]:
    return {w for w in _fold(text).replace("-", " ").split() if w}


def demographics_match(query: xcpd.PatientDiscoveryQuery, patient: PatientInfo) -> bool:
    """Every demographic the query gives must agree with the patient's record."""
    if query.gender is not None and query.gender != patient.gender:
        return False
    if query.birth_time is not None:
        wanted = query.birth_time[:8]
        if wanted != patient.birth_date.strftime("%Y%m%d")[: len(wanted)]:
            return False
    family, given = _words(patient.family_name), _words(patient.given_name)
    for name in query.names:
        if any(not _words(part) <= family for part in name.family):
            return False
        if any(not _words(part) <= given for part in name.given):
            return False
    return True


class PatientDiscovery:
    transaction = registry.ITI_55

    def parse(self, body: etree._Element) -> xcpd.PatientDiscoveryRequest:
        return xcpd.parse_request(body)

    def subject(self, request: xcpd.PatientDiscoveryRequest,
                message: VerifiedMessage) -> Subject:
        return Subject(security_transaction=SecurityTransaction.XCPD_PATIENT_DISCOVERY,
                       service=Service.PATIENT_IDENTIFICATION, patient=None)

    def _response(self, gw: Gateway, request: xcpd.PatientDiscoveryRequest,
                  code: QueryResponseCode, **kw: object) -> etree._Element:
        if code is QueryResponseCode.NF:
            # As the reference gateway answers "no match" (its client otherwise shows an empty
            # error): AnswerNotAvailable, and the dictionary's ERROR_PI_NO_MATCH with its text.
            # NF is an answer, not a refusal: no error id (nothing to explain).
            kw = {"issues": (xcpd.DetectedIssue.of(XcpdIssue.ANSWER_NOT_AVAILABLE),),
                  "details": (xcpd.AcknowledgementDetail(code=ErrorCode.NO_MATCH.code,
                                                         text=ErrorCode.NO_MATCH.text),),
                  **kw}
        home = gw.settings.home_community_id
        answer = xcpd.PatientDiscoveryResponse.answer(
            request, code=code, sender_device=II(root=home), home_community_id=home,
            **kw)  # type: ignore[arg-type]
        return xcpd.build_response(answer)

    def answer(self, gw: Gateway, ex: Exchange, request: xcpd.PatientDiscoveryRequest,
               identity: VerifiedIdentity) -> etree._Element:
        root = gw.settings.patient_id_root
        ids = request.query.ids_with_root(root)
        ex.objects.append((request.query.query_id.extension or request.query.query_id.root,
                           "ITI-55", "Patient discovery query"))
        if len(ids) != 1 or not ids[0].extension:
            raise DemographicsOnly()
        matricule = ids[0].extension
        self._count(gw, ex, identity, matricule)
        try:
            ex.patient = PatientId(extension=matricule, root=root)
        except NcpError:
            return self._response(gw, request, QueryResponseCode.NF)
        if not matricule_rules.is_valid(matricule):
            # Our own identifiers stay strictly checked: a malformed matricule is no patient.
            return self._response(gw, request, QueryResponseCode.NF)
        actor = actor_of(identity)
        try:
            patient = gw.records.find_patient(actor, matricule)
        except NotFound:
            return self._response(gw, request, QueryResponseCode.NF)
        except AccessDenied:
            raise NcpError(ErrorCode.NO_CONSENT, "closed DSP or no cross-border consent") from None
        gw.consent.require(patient.id, Service.PATIENT_IDENTIFICATION)
        if not demographics_match(request.query, patient):
            return self._response(gw, request, QueryResponseCode.NF)
        # What the eHDSI answer needs to confirm the identity: id, name, gender, birth date.
        # No address: the visitor is abroad, and it would only feed an enumeration.
        matched = xcpd.MatchedPatient(
            ids=(II(root=root, extension=patient.matricule),),
            names=(xcpd.PersonName(family=(patient.family_name,),
                                   given=(patient.given_name,)),),
            gender=patient.gender, birth_time=patient.birth_date.strftime("%Y%m%d"),
            custodian_id=gw.settings.home_community_id)
        return self._response(gw, request, QueryResponseCode.OK, patients=(matched,))

    @staticmethod
    def _count(gw: Gateway, ex: Exchange, identity: VerifiedIdentity, matricule: str) -> None:
        """Count the discovery per peer, professional and patient (every attempt, unknown and
        malformed matricules included: they are what an enumeration sends); past a limit,
        refuse with the reference gateway's warning (:mod:`ncp.store.volumes`)."""
        if gw.volumes is None:
            return
        professional = f"{identity.country}:{identity.hcp.subject_id}"
        excess = gw.volumes.count(at=ex.at, peer=identity.country, professional=professional,
                                  patient=matricule)
        if excess is not None:
            raise NcpError(_VOLUME_CODES[excess.scope],
                           f"{excess.warning}: {excess.count} requests of {excess.scope} "
                           f"{excess.key} (limit {excess.limit})")

    def refuse(self, gw: Gateway, ex: Exchange, request: xcpd.PatientDiscoveryRequest | None,
               error: NcpError) -> etree._Element:
        if request is None:
            raise MalformedRequestFault(error.detail, error=error.error)
        if isinstance(error, DemographicsOnly):
            issue = XcpdIssue.DEMOGRAPHICS_QUERY_NOT_ALLOWED
        else:
            issue = _ISSUES.get(error.error, XcpdIssue.ANSWER_NOT_AVAILABLE)
        # The dictionary's code, which the reference client looks up (it reads the detail only
        # when a detected issue is present, which an AE always has here); no codeSystem: the
        # dictionary is not the eHDSI XCPD code system of the detected issues.
        detail = xcpd.AcknowledgementDetail(code=error.error.code, text=error.public,
                                            location=error.location or None)
        return self._response(gw, request, QueryResponseCode.AE,
                              issues=(xcpd.DetectedIssue.of(issue),), details=(detail,))
