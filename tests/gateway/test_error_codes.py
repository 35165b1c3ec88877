"""Each refusal condition, through the real HTTPS endpoint, answers the code of the one table
(:class:`ncp.errors.ErrorCode`): the reference gateway's dictionary code first, IHE's after it
where IHE defines one, the severity, our standard text with the error id of the audit record.

Why the dictionary: the reference gateway's client looks ``errorCode`` (XCPD: the
acknowledgement detail's code) up in its ``OpenNCPErrorCode`` enumeration and shows that entry's
text; a code outside it (5007, 4105 for a patient, an ``XDS*`` code alone) reaches the foreign
professional as no message at all (issue 12 item 10; ../shared/design/EHDSI.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from lxml import etree
from sqlalchemy import select, update

from ncp.app import create_app
from ncp.errors import ErrorCode, Severity
from ncp.ihe import oids
from ncp.ihe.codes import ClassCode, QueryResponseCode, ResponseStatus, StatusType
from ncp.ihe.identifiers import PatientId
from ncp.ihe.registry import ITI_55
from ncp.ihe.rim import Coded, RegistryError
from ncp.ihe.schemas import validate_body
from ncp.ihe.xca import query, retrieve
from ncp.ihe.xcpd import parse_response as parse_xcpd
from ncp.ihe.xdr import submit
from ncp.peers.error_texts import TEXTS
from ncp.store.models import AuditMessage, Prescription
from ncp.testing.server import free_port, running_server
from ncp.xmlutil import parse_xml
from tests.gateway.conftest import GatewayEnv, make_env, patient
from tests.gateway.peer import REPOSITORY, Peer, Sent, dispensation, read_answer

#: IHE ITI TF-3 Table 4.2.4.1-2 (and ITI-38/39 XDSUnknownCommunity): the codes IHE defines.
IHE_CODES = frozenset({
    "XDSRegistryError", "XDSRepositoryError", "XDSUnknownPatientId", "XDSMissingDocument",
    "XDSMissingDocumentMetadata", "XDSRegistryMetadataError", "XDSDocumentUniqueIdError",
    "XDSUnknownRepositoryId", "XDSUnknownCommunity", "XDSUnknownStoredQuery",
    "XDSStoredQueryMissingParam", "XDSStoredQueryParamNumber"})
ERROR, WARNING = Severity.ERROR, Severity.WARNING
_ID = re.compile(r"\(error id ([0-9a-f]{32})\)$")
ANY = object()  # a location is given, whatever it is

#: What each condition must answer, written out (the table could be edited wrongly; this pins
#: the wire): the dictionary's code as its client looks it up, then IHE's, and the severity.
WIRE: dict[ErrorCode, tuple[tuple[str, ...], Severity]] = {
    ErrorCode.NO_MATCH: (("ERROR_PI_NO_MATCH", "XDSUnknownPatientId"), ERROR),
    ErrorCode.NO_CONSENT: (("4701",), ERROR),
    ErrorCode.PATIENT_NOT_MATCHING_TRC: (("4206",), ERROR),
    ErrorCode.HCP_ASSERTION_INVALID: (("1001",), ERROR),
    ErrorCode.UNSUPPORTED_FEATURE: (("ERROR_GENERIC_SERVICE_SIGNIFIER_UNKNOWN",), ERROR),
    ErrorCode.UNKNOWN_COMMUNITY: (("ERROR_GENERIC", "XDSUnknownCommunity"), ERROR),
    ErrorCode.STORED_QUERY_UNKNOWN: (("ERROR_GENERIC", "XDSUnknownStoredQuery"), ERROR),
    ErrorCode.STORED_QUERY_PARAM_MISSING: (("4204", "XDSStoredQueryMissingParam"), ERROR),
    ErrorCode.STORED_QUERY_PARAM_NUMBER: (("4204", "XDSStoredQueryParamNumber"), ERROR),
    ErrorCode.ORCD_NOT_FOUND: (("1104",), WARNING),
    ErrorCode.UNKNOWN_SIGNIFIER: (("ERROR_GENERIC_DOCUMENT_MISSING",
                                   "XDSDocumentUniqueIdError"), ERROR),
    ErrorCode.UNKNOWN_REPOSITORY: (("ERROR_GENERIC_DOCUMENT_MISSING", "XDSUnknownRepositoryId"),
                                   ERROR),
    ErrorCode.INVALID_DISPENSATION: (("ERROR_ED_GENERIC",), ERROR),
    ErrorCode.NOT_DISPENSABLE: (("ERROR_ED_NOT_DISPENSABLE_EPRESCRIPTION",), ERROR),
    ErrorCode.EPRESCRIPTION_NOT_IDENTIFIABLE: (("ERROR_ED_EPRESCRIPTION_NOT_IDENTIFIABLE",),
                                               ERROR),
    ErrorCode.SUBSTITUTION_NOT_ALLOWED: (("ERROR_ED_SUBSTITUTION_INFORMATION_NOT_ALLOWED",),
                                         ERROR),
    ErrorCode.DISCARD_FAILED: (("ERROR_ED_DISCARD_FAILED",), ERROR),
    ErrorCode.ALREADY_DISPENSED: (("4106",), ERROR),
}


# --------------------------------------------------------------------------- the table itself


def test_every_code_of_the_table_is_in_the_dictionary_and_every_ihe_code_in_ihes() -> None:
    for condition in ErrorCode:
        assert condition.code in TEXTS, f"{condition.name}: {condition.code} not in the dictionary"
        assert condition.ihe is None or condition.ihe in IHE_CODES, condition.name
        assert condition.text and condition.wire
    # one condition, one member: the only alias is the dictionary's name of the unknown document
    aliases = set(ErrorCode.__members__) - {c.name for c in ErrorCode}
    assert aliases == {"DOCUMENT_MISSING"}
    assert ErrorCode.DOCUMENT_MISSING is ErrorCode.UNKNOWN_SIGNIFIER


def test_no_error_code_literal_outside_the_table() -> None:
    """Everything that builds an error takes its code from ErrorCode: no dictionary or IHE code
    is written as a literal in the gateway, the protocol layers or the store."""
    root = Path(__file__).resolve().parents[2] / "ncp"
    codes = set(TEXTS) | IHE_CODES
    literal = re.compile(r"""["']([0-9A-Za-z_]+)["']""")
    allowed = {root / "errors.py", root / "peers" / "errors.py", root / "peers" / "error_texts.py",
               root / "store" / "volumes.py"}  # volumes: the alert names, not a wire code
    found = []
    for path in (root / "gateway").glob("*.py"), (root / "ihe").rglob("*.py"), \
            (root / "soap").glob("*.py"), (root / "store").glob("*.py"):
        for p in path:
            if p in allowed:
                continue
            for n, line in enumerate(p.read_text("utf-8").splitlines(), 1):
                if any(m in codes for m in literal.findall(line)) and \
                        not line.lstrip().startswith("#"):
                    found.append(f"{p.relative_to(root)}:{n}: {line.strip()}")
    assert not found, found


# --------------------------------------------------------------------------- over HTTPS


@dataclass
class Https:
    url: str
    env: GatewayEnv
    session: requests.Session

    def post(self, endpoint: str, sent: Sent, *, peer: Peer | None = None):  # type: ignore[no-untyped-def]
        peer = peer or self.env.be
        r = self.session.post(f"{self.url}/ws/{endpoint}", data=sent.body,
                              headers={"Content-Type": sent.content_type},
                              cert=(str(peer.tls_cert), str(peer.tls_key)), timeout=60)
        assert r.status_code == 200, r.content[:600]
        return read_answer(r.content, r.headers["content-type"], self.env.trust)

    def errors(self, endpoint: str, sent: Sent, **kw: object) -> tuple[RegistryError, ...]:
        msg = self.post(endpoint, sent, **kw)  # type: ignore[arg-type]
        parse = {"xca": query.parse_response, "xdr": submit.parse_response}[endpoint]
        if msg.body_element.tag.endswith("RetrieveDocumentSetResponse"):
            return retrieve.parse_response(msg.body_element, msg.attachments).errors
        return parse(msg.body_element).errors

    def audited(self) -> set[str]:
        with self.env.records._read() as s:  # the audit as ncp explain reads it
            return {i for i in s.scalars(select(AuditMessage.error_id)) if i}


@pytest.fixture(scope="module")
def https(tmp_path_factory: pytest.TempPathFactory, _gateway_template: tuple[Path, Path],
          gw_pki: Path) -> Iterator[Https]:
    env = make_env(tmp_path_factory.mktemp("error-codes"), _gateway_template, gw_pki,
                   port=free_port())
    session = requests.Session()
    session.verify = str(gw_pki / "lu" / "ca.pem")
    session.trust_env = False
    with running_server(create_app(env.settings), env.settings) as url:
        yield Https(url, env, session)
    session.close()
    env.engine.dispose()


def sent_as(condition: ErrorCode, errors: tuple[RegistryError, ...], *,
            location: object = None) -> str:
    """Assert that ``errors`` is exactly ``condition`` as the table sends it; its error id."""
    codes, severity = WIRE[condition]
    assert [e.error_code for e in errors] == list(codes), (condition.name, errors)
    assert codes == (condition.code, *((condition.ihe,) if condition.ihe else ()))
    assert {e.severity for e in errors} == {severity} and condition.severity is severity
    locations = {e.location for e in errors}
    assert len(locations) == 1 and (location is ANY or locations == {location}), locations
    contexts = {e.code_context for e in errors}
    assert len(contexts) == 1, "both errors of one condition carry the same text and id"
    (context,) = contexts
    found = _ID.search(context)
    assert found and context == f"{condition.text} (error id {found.group(1)})", context
    assert condition.code in TEXTS  # the reference client has a message for it
    return found.group(1)


def _find(pid: PatientId, codes: tuple[str, ...], **kw: object) -> etree._Element:
    return query.build_request(query.FindDocumentsQuery(
        patient_id=pid, statuses=(StatusType.APPROVED,),
        class_codes=tuple(Coded(code=c, scheme=oids.LOINC.value) for c in codes),
        **kw))  # type: ignore[arg-type]


def _signed(peer: Peer, body: etree._Element, pid: PatientId, action: str) -> Sent:
    return peer.send(peer.envelope(body, action, peer.assertions(pid)))


QUERY = "urn:ihe:iti:2007:CrossGatewayQuery"


def test_query_conditions(https: Https) -> None:
    be, ours = https.env.be, patient(0)
    stranger = PatientId(extension="1900010100152", root=ours.root)
    # unknown patient (was 4105 "No matching ePrescription"); another identifier domain
    for pid in (stranger, PatientId(extension="12345", root="2.999.1")):
        error_id = sent_as(ErrorCode.NO_MATCH, https.errors("xca", be.query(pid)))
        assert error_id in https.audited()
    # no consent at all (patient 3); a closed DSP (patient 4) answers the same
    for n in (3, 4):
        sent_as(ErrorCode.NO_CONSENT, https.errors("xca", be.query(patient(n))))
    # the TRC is another patient's
    sent_as(ErrorCode.PATIENT_NOT_MATCHING_TRC, https.errors(
        "xca", be.query(ours, trc_patient=patient(1).cx)), location="urn:ehdsi:assertions:trc")
    # no identity assertion at all
    sent_as(ErrorCode.HCP_ASSERTION_INVALID, https.errors(
        "xca", be.query(ours, assertions=be.assertions(ours)[1:])),
        location="urn:ehdsi:assertions:hcp")
    # two services in one query; a class code no service has
    for codes in (("60591-5", "57833-6"), ("99999-9",)):
        sent_as(ErrorCode.UNSUPPORTED_FEATURE, https.errors("xca", _signed(
            be, _find(ours, codes), ours, QUERY)), location="$XDSDocumentEntryClassCode")
    # another community's query (NIST XCA 15815)
    sent_as(ErrorCode.UNKNOWN_COMMUNITY, https.errors("xca", _signed(
        be, _find(ours, ("60591-5",), home_community_id="urn:oid:2.999.32.99"), ours, QUERY)),
        location="AdhocQuery/@home")
    # the stored query: an unknown id, a required parameter missing, one it does not define
    rim = "{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0}"
    body = _find(ours, ("60591-5",))
    body.find(f".//{rim}AdhocQuery").set("id", "urn:uuid:00000000-0000-0000-0000-000000000000")
    sent_as(ErrorCode.STORED_QUERY_UNKNOWN,
            https.errors("xca", _signed(be, body, ours, QUERY)), location=ANY)
    body = _find(ours, ("60591-5",))
    status = next(s for s in body.iter(f"{rim}Slot")
                  if s.get("name") == "$XDSDocumentEntryStatus")
    status.getparent().remove(status)
    sent_as(ErrorCode.STORED_QUERY_PARAM_MISSING,
            https.errors("xca", _signed(be, body, ours, QUERY)), location=ANY)
    body = _find(ours, ("60591-5",))
    next(body.iter(f"{rim}Slot")).set("name", "$XDSDocumentEntryNoSuchParameter")
    sent_as(ErrorCode.STORED_QUERY_PARAM_NUMBER,
            https.errors("xca", _signed(be, body, ours, QUERY)), location=ANY)
    # the masked imaging report: nothing to list, a warning with Success
    msg = https.post("xca", be.query(ours, ClassCode.ORCD_IMAGING_REPORT))
    answer = query.parse_response(msg.body_element)
    assert answer.status is ResponseStatus.SUCCESS and not answer.entries
    sent_as(ErrorCode.ORCD_NOT_FOUND, answer.errors)


def test_retrieve_conditions(https: Https) -> None:
    be, ours = https.env.be, patient(0)
    unknown = "2.25.1234567"
    errors = https.errors("xca", be.retrieve(ours, [unknown]))
    error_id = sent_as(ErrorCode.UNKNOWN_SIGNIFIER, errors, location=unknown)
    assert error_id in https.audited()
    # a real document of the patient, asked of another repository
    entry = query.parse_response(https.post("xca", be.query(ours)).body_element).entries[0]
    sent_as(ErrorCode.UNKNOWN_REPOSITORY, https.errors(
        "xca", be.retrieve(ours, [entry.unique_id], repository="1.2.3.4")),
        location=entry.unique_id)
    # and of another community
    r = retrieve.RetrieveRequest(documents=(retrieve.DocumentRequest(
        repository_unique_id=REPOSITORY, document_unique_id=entry.unique_id,
        home_community_id="urn:oid:2.999.32.99"),))
    sent_as(ErrorCode.UNKNOWN_COMMUNITY, https.errors("xca", _signed(
        be, retrieve.build_request(r), ours, "urn:ihe:iti:2007:CrossGatewayRetrieve")),
        location=entry.unique_id)


def _pivot_ep(https: Https, n: int) -> tuple[bytes, str]:
    be, pid = https.env.be, patient(n)
    entries = query.parse_response(https.post("xca", be.query(
        pid, ClassCode.EPRESCRIPTION)).body_element).entries
    dispensable = [e for e in entries if e.eprescription and e.eprescription.dispensable]
    assert dispensable, "the demo patient has a dispensable ePrescription"
    msg = https.post("xca", be.retrieve(pid, [dispensable[0].unique_id]))
    doc = retrieve.parse_response(msg.body_element, msg.attachments).documents[0].document
    ext = parse_xml(doc).find("{urn:hl7-org:v3}id").get("extension")
    return doc, ext.removesuffix("-P")


def _packages(https: Https, prescription_id: str) -> tuple[int, int]:
    with https.env.records._read() as s:
        row = s.scalars(select(Prescription).where(
            Prescription.prescription_id == prescription_id)).one()
        return row.packages_prescribed, row.packages_dispensed


def test_dispensation_conditions(https: Https) -> None:
    be, ours = https.env.be, patient(0)
    # malformed eD (was 4106, whose dictionary text is "already dispensed")
    sent_as(ErrorCode.INVALID_DISPENSATION,
            https.errors("xdr", be.submit(ours, b"<not-a-dispensation/>")),
            location="ClinicalDocument")
    ep, rx = _pivot_ep(https, 0)
    prescribed, dispensed = _packages(https, rx)
    # more than what remains (was 5007, not in the dictionary)
    sent_as(ErrorCode.NOT_DISPENSABLE, https.errors(
        "xdr", be.submit(ours, dispensation(ep, packages=prescribed - dispensed + 1, number=7))))
    # an ePrescription that is not ours (was 5009)
    foreign = ep.replace(b'root="1.3.182.11.5"', b'root="2.999.1"')
    sent_as(ErrorCode.EPRESCRIPTION_NOT_IDENTIFIABLE,
            https.errors("xdr", be.submit(ours, dispensation(foreign, number=8))))
    # a substitution where the prescriber allowed none
    with https.env.records._sessions() as s:
        s.execute(update(Prescription).where(Prescription.prescription_id == rx)
                  .values(substitution_allowed=False))
        s.commit()
    try:
        sent_as(ErrorCode.SUBSTITUTION_NOT_ALLOWED, https.errors(
            "xdr", be.submit(ours, dispensation(ep, substituted=True, number=9))))
    finally:
        with https.env.records._sessions() as s:
            s.execute(update(Prescription).where(Prescription.prescription_id == rx)
                      .values(substitution_allowed=True))
            s.commit()
    # the discard of a dispensation that does not exist (was 5017)
    sent_as(ErrorCode.DISCARD_FAILED, https.errors(
        "xdr", be.submit(ours, dispensation(ep, number=10), discard=True)))
    # fully dispensed: the dictionary's own "ePrescription has already been dispensed"
    assert https.errors("xdr", be.submit(ours, dispensation(
        ep, packages=prescribed - dispensed, number=11))) == ()
    error_id = sent_as(ErrorCode.ALREADY_DISPENSED, https.errors(
        "xdr", be.submit(ours, dispensation(ep, packages=1, number=12))))
    assert error_id in https.audited()
    # a patient we do not know
    stranger = PatientId(extension="1900010100152", root=ours.root)
    sent_as(ErrorCode.NO_MATCH, https.errors("xdr", be.submit(stranger, dispensation(ep))))


def test_discovery_conditions(https: Https) -> None:
    be = https.env.be
    # no match: as the reference gateway answers it (AnswerNotAvailable + ERROR_PI_NO_MATCH)
    body = https.post("xcpd", be.xcpd("1900010100152")).body_element
    validate_body(body, ITI_55, "response")  # the added reasonOf and detail are schema-valid
    res = parse_xcpd(body)
    assert res.query_response_code is QueryResponseCode.NF and not res.patients
    assert [(i.code, i.code_system, i.placement) for i in res.issues] == [
        ("AnswerNotAvailable", "1.3.6.1.4.1.19376.1.2.27.3", "mitigatedBy")]
    assert [(d.code, d.text) for d in res.details] == [
        ("ERROR_PI_NO_MATCH", ErrorCode.NO_MATCH.text)]
    # no consent: 4701 (was the string ERROR_NO_CONSENT, which the dictionary has not as a code)
    body = https.post("xcpd", be.xcpd(patient(3).extension)).body_element
    validate_body(body, ITI_55, "response")
    res = parse_xcpd(body)
    assert res.query_response_code is QueryResponseCode.AE
    (detail,) = res.details
    assert detail.code == "4701" and detail.code_system is None
    found = _ID.search(detail.text or "")
    assert found and detail.text == f"{ErrorCode.NO_CONSENT.text} (error id {found.group(1)})"
    assert found.group(1) in https.audited()
    assert res.issues and res.issues[0].code == "PolicyViolation"  # read only with an issue
    # a query without our national identifier
    res = parse_xcpd(https.post("xcpd", be.xcpd(None, birth_time="19800101")).body_element)
    assert res.query_response_code is QueryResponseCode.AE
    assert [d.code for d in res.details] == ["ERROR_PI_GENERIC"]
    assert res.issues[0].code == "DemographicsQueryNotAllowed"


def test_our_client_reads_one_message_per_condition(https: Https) -> None:
    """The two errors of one condition (dictionary's, IHE's) are one message for our users."""
    from ncp.peers.client import _conditions
    from ncp.peers.errors import from_codes

    errors = https.errors("xca", https.env.be.retrieve(patient(0), ["2.25.1", "2.25.2"]))
    groups = _conditions(errors)
    assert len(errors) == 4 and len(groups) == 2
    keys = {from_codes([(e.error_code, e.code_context) for e in g], default="x").key
            for g in groups}
    assert keys == {"unknown_document"}


def test_the_table_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "gateway.md").read_text("utf-8")
    for condition in ErrorCode:
        ihe = f"`{condition.ihe}`" if condition.ihe else "—"
        assert f"| `{condition.name}` | `{condition.code}` | {ihe} |" in doc, condition.name
