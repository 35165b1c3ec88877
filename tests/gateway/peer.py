"""A foreign (Belgian) initiating gateway for the tests: builds signed eHDSI requests the way a
country B gateway sends them, and reads our answers as it would (parse, verify our signature).

Everything here uses the public builders of the protocol and security layers; nothing is
hand-written XML, so the requests are as realistic as the layers are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from lxml import etree

from ncp import soap
from ncp.cda.dispensation import Dispensation, build_dispensation
from ncp.cda.model import Address, Coded, Organisation, Person, Professional
from ncp.ihe import oids
from ncp.ihe.codes import ClassCode, FormatCode, StatusType
from ncp.ihe.identifiers import II, PatientId
from ncp.ihe.rim import Coded as XdsCoded
from ncp.ihe.rim import DocumentEntry, SubmissionSet
from ncp.ihe.xca import query, retrieve
from ncp.ihe.xcpd import (
    Device,
    PatientDiscoveryQuery,
    PatientDiscoveryRequest,
    PersonName,
    hl7_now,
)
from ncp.ihe.xcpd import build_request as build_xcpd
from ncp.ihe.xdr import submit
from ncp.security import TrustStore, verify_envelope
from ncp.security.keys import SigningCredentials, load_credentials
from ncp.security.permissions import REQUIRED_PERMISSIONS
from ncp.security.saml import HcpClaims, TrcClaims, build_hcp_assertion, build_trc_assertion
from ncp.security.wssecurity import build_security_header, sign_envelope
from tests.clock import NOW

LU_ROOT = "1.3.182.4.4"
EP_ROOT = "1.3.182.11.5"
HOME = "1.3.182.2.4.1"
REPOSITORY = f"{HOME}.3.1"
ALL_PERMISSIONS = frozenset().union(*REQUIRED_PERMISSIONS.values())

DOCTOR = HcpClaims(
    subject_id="an.peeters@uzleuven.be", name="Dr An Peeters", role_code="221",
    organisation="UZ Leuven", organisation_id="urn:oid:2.999.32.1", facility_type="Hospital",
    purpose_of_use="TREATMENT", locality="Leuven", permissions=ALL_PERMISSIONS)
PHARMACIST = replace(DOCTOR, subject_id="jan.claes@apotheek.be", name="Jan Claes",
                     role_code="2262", organisation="Apotheek Centrum",
                     organisation_id="urn:oid:2.999.32.7", facility_type="Pharmacy")


@dataclass
class Sent:
    body: bytes
    content_type: str
    message_id: str


class Peer:
    """Country ``country``'s gateway, with its signing key and TLS client certificate."""

    def __init__(self, pki: Path, country: str = "BE", *,
                 signer: SigningCredentials | None = None) -> None:
        self.pki = pki
        self.country = country
        folder = pki / country.lower()
        self.creds = signer or load_credentials(folder / "signing.key", folder / "signing.pem")
        self.tls_pem = (folder / "tls-client.pem").read_text()
        self.tls_cert = folder / "tls-client.pem"
        self.tls_key = folder / "tls-client.key"

    # ------------------------------------------------------------------ assertions

    def assertions(self, patient: PatientId | None, *, hcp: HcpClaims = DOCTOR,
                   now: dt.datetime | None = None, with_trc: bool = True,
                   trc_patient: str | None = None,
                   signer: SigningCredentials | None = None) -> list[etree._Element]:
        now = now or dt.datetime.now(dt.UTC)
        creds = signer or self.creds
        hcp_id = f"_{uuid.uuid4()}"
        out = [build_hcp_assertion(hcp, issuer=f"urn:idp:{self.country}:countryB",
                                   credentials=creds, now=now, lifetime=dt.timedelta(hours=1),
                                   assertion_id=hcp_id)]
        if with_trc:
            cx = trc_patient or (patient.cx if patient else "")
            out.append(build_trc_assertion(
                TrcClaims(subject_id=hcp.subject_id, patient_id=cx, hcp_assertion_id=hcp_id),
                issuer=f"urn:initgw:{self.country}:countryB", credentials=creds, now=now,
                lifetime=dt.timedelta(hours=1)))
        return out

    # ------------------------------------------------------------------ envelopes

    def envelope(self, body: etree._Element, action: str, assertions: list[etree._Element], *,
                 sign: bool = True, timestamp: bool = True,
                 now: dt.datetime | None = None) -> etree._Element:
        now = now or dt.datetime.now(dt.UTC)
        env = soap.build_envelope(body, action=action, message_id=soap.new_message_id(),
                                  to="https://ncp.lu/ws", reply_to=soap.ANONYMOUS)
        if timestamp:
            build_security_header(env, assertions=assertions, now=now)
        else:
            header = env.find(f"{{{soap_ns()}}}Header")
            sec = etree.SubElement(header, "{http://docs.oasis-open.org/wss/2004/01/"
                                           "oasis-200401-wss-wssecurity-secext-1.0.xsd}Security")
            for a in assertions:
                sec.append(a)
        if sign:
            sign_envelope(env, self.creds)
        return env

    @staticmethod
    def send(env: etree._Element, *, mtom: bool = False) -> Sent:
        message_id = env.findtext(f"{{{soap_ns()}}}Header/"
                                  "{http://www.w3.org/2005/08/addressing}MessageID")
        attachments: dict[str, bytes] = {}
        if mtom:
            for n, el in enumerate(env.iter("{urn:ihe:iti:xds-b:2007}Document")):
                import base64

                cid = f"part{n}@be.invalid"
                attachments[cid] = base64.b64decode(el.text or "")
                el.text = None
                inc = etree.SubElement(el, "{http://www.w3.org/2004/08/xop/include}Include")
                inc.set("href", f"cid:{cid}")
        data, ct = soap.serialize(env, attachments=attachments, mtom=mtom)
        return Sent(data, ct, message_id or "")

    # ------------------------------------------------------------------ requests

    def xcpd(self, matricule: str | None, *, names: tuple[PersonName, ...] = (),
             birth_time: str | None = None, gender: str | None = None,
             hcp: HcpClaims = DOCTOR, assertions: list[etree._Element] | None = None,
             **kw: object) -> Sent:
        request = PatientDiscoveryRequest(
            message_id=II(root="2.999.32.99", extension=uuid.uuid4().hex),
            creation_time=hl7_now(),
            sender=Device(id=II(root="2.999.32.99.1"), home_community_id="2.999.32.99"),
            receiver=Device(id=II(root=HOME), home_community_id=HOME),
            query=PatientDiscoveryQuery(
                query_id=II(root="2.999.32.99.2", extension=uuid.uuid4().hex),
                patient_ids=(II(root=LU_ROOT, extension=matricule),) if matricule else (),
                names=names, birth_time=birth_time, gender=gender))
        env = self.envelope(build_xcpd(request),
                            "urn:hl7-org:v3:PRPA_IN201305UV02:CrossGatewayPatientDiscovery",
                            assertions or self.assertions(None, hcp=hcp, with_trc=False),
                            **kw)  # type: ignore[arg-type]
        return self.send(env)

    def query(self, patient: PatientId, class_code: ClassCode = ClassCode.PATIENT_SUMMARY, *,
              hcp: HcpClaims = DOCTOR, trc_patient: str | None = None,
              assertions: list[etree._Element] | None = None, **kw: object) -> Sent:
        q = query.FindDocumentsQuery(
            patient_id=patient, statuses=(StatusType.APPROVED,),
            class_codes=(XdsCoded(code=class_code.value, scheme=oids.LOINC.value),))
        env = self.envelope(query.build_request(q), "urn:ihe:iti:2007:CrossGatewayQuery",
                            assertions or self.assertions(patient, hcp=hcp,
                                                          trc_patient=trc_patient), **kw)  # type: ignore[arg-type]
        return self.send(env)

    def retrieve(self, patient: PatientId, unique_ids: list[str], *,
                 hcp: HcpClaims = DOCTOR, repository: str = REPOSITORY,
                 assertions: list[etree._Element] | None = None, **kw: object) -> Sent:
        r = retrieve.RetrieveRequest(documents=tuple(
            retrieve.DocumentRequest(repository_unique_id=repository, document_unique_id=u,
                                     home_community_id=f"urn:oid:{HOME}") for u in unique_ids))
        env = self.envelope(retrieve.build_request(r), "urn:ihe:iti:2007:CrossGatewayRetrieve",
                            assertions or self.assertions(patient, hcp=hcp), **kw)  # type: ignore[arg-type]
        return self.send(env)

    def submit(self, patient: PatientId, content: bytes, *, discard: bool = False,
               hcp: HcpClaims = PHARMACIST, unique_id: str | None = None, mtom: bool = False,
               **kw: object) -> Sent:
        klass = ClassCode.EDISPENSATION_DISCARD if discard else ClassCode.EDISPENSATION
        fmt = FormatCode.EDISPENSATION_DISCARD if discard else FormatCode.EDISPENSATION
        entry = DocumentEntry(
            entry_uuid=f"urn:uuid:{uuid.uuid4()}",
            unique_id=unique_id or f"2.25.{uuid.uuid4().int}", patient_id=patient,
            mime_type="text/xml",
            class_code=XdsCoded(code=klass.value, scheme=oids.LOINC.value, display="eD"),
            format_code=XdsCoded(code=fmt.value, scheme="eHDSI formatCodes", display="eD"),
            confidentiality_codes=(XdsCoded(code="N", scheme="2.16.840.1.113883.5.25",
                                            display="Normal"),),
            type_code=XdsCoded(code=klass.value, scheme=oids.LOINC.value, display="eD"),
            creation_time=NOW.strftime("%Y%m%d%H%M%S"), language_code="fr-BE",
            source_patient_id=patient.cx,
            size=len(content), hash=hashlib.sha1(content).hexdigest())  # noqa: S324
        request = submit.ProvideAndRegisterRequest(
            submission_set=SubmissionSet(
                entry_uuid=f"urn:uuid:{uuid.uuid4()}", unique_id=f"2.25.{uuid.uuid4().int}",
                source_id="2.999.32.99", patient_id=patient,
                submission_time=NOW.strftime("%Y%m%d%H%M%S"),
                content_type_code=XdsCoded(code=klass.value, scheme=oids.LOINC.value,
                                           display="eD")),
            documents=(submit.SubmittedDocument(entry=entry, content=content),))
        env = self.envelope(submit.build_request(request),
                            "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b",
                            self.assertions(patient, hcp=hcp), **kw)  # type: ignore[arg-type]
        return self.send(env, mtom=mtom)


def soap_ns() -> str:
    return "http://www.w3.org/2003/05/soap-envelope"


def read_answer(data: bytes, content_type: str, trust: TrustStore, *,
                now: dt.datetime | None = None) -> soap.SoapMessage:
    """Parse our answer as a peer does, and verify its signature (over the XOP infoset)."""
    msg = soap.parse_response(data, content_type, max_bytes=50_000_000)
    env = soap.reconstitute(msg.envelope, msg.attachments) if msg.attachments else msg.envelope
    verify_envelope(env, trust=trust, peer_country="LU", now=now or dt.datetime.now(dt.UTC))
    return msg


def dispensation(prescription_pivot: bytes, *, packages: int = 1, number: int = 1,
                 substituted: bool = False) -> bytes:
    """A Belgian pharmacy's pivot eDispensation of a pivot ePrescription."""
    pharmacy = Organisation("2.999.32.30", f"APO{number}", "Apotheek Centrum",
                            Address("Grote Markt 1", "Leuven", "3000", "BE"), "tel:+3216000000")
    pharmacist = Professional("2.999.32.20", "PH1", Person("Jan", "Claes"),
                              Coded("2262", "2.16.840.1.113883.2.9.6.2.7", "Pharmacists", "ISCO"),
                              pharmacy, "tel:+3216000001")
    when = NOW
    return build_dispensation(prescription_pivot, Dispensation(
        id_root="2.999.32.40", id_extension=f"ED{uuid.uuid4().hex[:12]}{number}", when=when,
        pharmacist=pharmacist, pharmacy=pharmacy, packages=packages, substituted=substituted))
