"""A responding gateway that behaves like the reference gateway (OpenNCP 7.1 on Axis2 1.8), for
our initiating side to be tested against: a small real HTTPS server on loopback, mutual TLS with
the test PKI.

What it does as the reference gateway does (facts read from its public source and from the
headers of a live OpenNCP peer; nothing of its code):

* **Axis2 mustUnderstand**: no WS-Security module is engaged, so any header block marked
  ``mustUnderstand="true"`` other than WS-Addressing's is answered with a SOAP 1.2
  ``MustUnderstand`` fault.
* **Axis2 action rule**: for a Content-Type naming ``application/soap+xml`` the SOAP action is
  the text after the first ``action`` substring of the raw header, up to the next ``;``, outer
  quotes removed; when it is not empty and differs from ``wsa:Action`` the answer is the
  ``wsa:ActionMismatch`` fault.
* **Role list** (``XSPARole``): the HCP role must be one of its ISCO codes *with* its display
  name (compared without case); otherwise the assertion is invalid (1001).
* **NotBefore** is compared with its own clock, which may run behind ours (``clock_lag``).
* **XCPD**: the receiver device must carry its own home community id, else AE "Receiver has
  wrong Home Community ID".
* **Unsigned answers**: no ``wsse:Security`` at all in what it sends.
* **Fail open**: an XCA query with an invalid assertion still returns the documents, with
  status Success and an error entry 1001.
* **Error codes** from its ``OpenNCPErrorCode`` dictionary: 4701 no consent,
  ``ERROR_GENERIC_DOCUMENT_MISSING`` for an unknown document, 1101 no ePrescription.

It records what it saw of each request (``seen``) so tests can check the HCI Identifier and
the locality it would write in its audit trail.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.parser
import email.policy
import ssl
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lxml import etree

from ncp import soap
from ncp.errors import Severity
from ncp.ihe import registry, xcpd
from ncp.ihe.codes import ClassCode, FormatCode, QueryResponseCode
from ncp.ihe.identifiers import II, PatientId
from ncp.ihe.rim import Coded, DocumentEntry, RegistryError
from ncp.ihe.xca import query as xca_query
from ncp.ihe.xca import retrieve as xca_retrieve
from ncp.ihe.xdr import submit as xdr

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
FAULT_ACTION = "http://www.w3.org/2005/08/addressing/soap/fault"

#: The reference gateway's role list: ISCO code -> display name (compared without case).
XSPA_ROLES = {
    "2266": "Audiologists and speech therapists", "2261": "Dentists", "221": "Medical Doctors",
    "3211": "Medical imaging and therapeutic equipment technicians",
    "2222": "Midwifery professionals", "2221": "Nursing professionals",
    "2265": "Dieticians and nutritionists", "2267": "Optometrists and ophthalmic opticians",
    "2269": "Health professionals not elsewhere classified",
    "44": "Other Clerical Support Workers", "2262": "Pharmacists",
    "3213": "Pharmaceutical technicians and assistants", "2264": "Physiotherapists",
}


@dataclass(frozen=True)
class Patient:
    extension: str
    given: str
    family: str
    birth: str
    consent: bool = True
    prescriptions: bool = False


@dataclass
class ReferencePeer:
    """The peer's configuration and what it saw."""

    country: str
    home_community_id: str
    patient_root: str
    patients: tuple[Patient, ...]
    #: How far the peer's clock runs behind the real one.
    clock_lag: dt.timedelta = dt.timedelta(seconds=5)
    seen: list[dict[str, object]] = field(default_factory=list)
    received_documents: list[bytes] = field(default_factory=list)
    url: str = ""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) - self.clock_lag

    def patient(self, extension: str | None) -> Patient | None:
        return next((p for p in self.patients if p.extension == extension), None)

    @property
    def document_id(self) -> str:
        return f"{self.home_community_id}.1.1"

    @property
    def repository_id(self) -> str:
        return f"{self.home_community_id}.3"


# --- Axis2's view of the request -----------------------------------------------------------------

def axis2_soap_action(content_type: str) -> str | None:
    """The SOAP action as Axis2 takes it from the raw Content-Type (see the module doc)."""
    if "application/soap+xml" not in content_type:
        return None
    index = content_type.find("action")
    if index < 0:
        return None
    rest = content_type[index:]
    equal = rest.find("=")
    semi = rest.find(";")
    value = rest[equal + 1: semi] if semi > -1 else rest[equal + 1:]
    if value.startswith('"') and value.endswith('"'):
        value = value[1:-1]
    return value


def _envelope_bytes(body: bytes, content_type: str) -> tuple[bytes, dict[str, bytes]]:
    """The root part and the attachments (by Content-ID) of an MTOM package, or the body."""
    if not content_type.lower().startswith("multipart/related"):
        return body, {}
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    parts = list(message.iter_parts())
    attachments = {str(p["Content-ID"]).strip("<>"): p.get_payload(decode=True)
                   for p in parts[1:]}
    return parts[0].get_payload(decode=True), attachments


def _inline(envelope: etree._Element, attachments: dict[str, bytes]) -> None:
    for include in envelope.iter("{http://www.w3.org/2004/08/xop/include}Include"):
        parent = include.getparent()
        data = attachments[include.get("href", "").removeprefix("cid:")]
        parent.remove(include)
        parent.text = base64.b64encode(data).decode()


def _fault(code: str, reason: str, *, subcode: str | None = None,
           relates_to: str | None = None) -> bytes:
    env = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soapenv": SOAP, "wsa": WSA})
    header = etree.SubElement(env, f"{{{SOAP}}}Header")
    etree.SubElement(header, f"{{{WSA}}}Action").text = FAULT_ACTION
    if relates_to:
        etree.SubElement(header, f"{{{WSA}}}RelatesTo").text = relates_to
    fault = etree.SubElement(etree.SubElement(env, f"{{{SOAP}}}Body"), f"{{{SOAP}}}Fault")
    code_el = etree.SubElement(fault, f"{{{SOAP}}}Code")
    etree.SubElement(code_el, f"{{{SOAP}}}Value").text = code
    if subcode:
        sub = etree.SubElement(code_el, f"{{{SOAP}}}Subcode")
        etree.SubElement(sub, f"{{{SOAP}}}Value").text = subcode
    text = etree.SubElement(etree.SubElement(fault, f"{{{SOAP}}}Reason"), f"{{{SOAP}}}Text")
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
    text.text = reason
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


class _Refused(Exception):
    """An invalid assertion, as the reference gateway's validator would find it."""


def _attributes(assertion: etree._Element) -> dict[str, list[etree._Element]]:
    found: dict[str, list[etree._Element]] = {}
    for attr in assertion.iter(f"{{{SAML}}}Attribute"):
        found.setdefault(attr.get("Name", ""), []).extend(
            attr.findall(f"{{{SAML}}}AttributeValue"))
    return found


def _check_hcp(peer: ReferencePeer, header: etree._Element, seen: dict[str, object]) -> None:
    hcps = [a for a in header.iter(f"{{{SAML}}}Assertion")
            if a.findtext(f"{{{SAML}}}Issuer") and
            (a.find(f"{{{SAML}}}Issuer").get("NameQualifier") or "").endswith(":hcp")]
    if len(hcps) != 1:
        raise _Refused("no HCP assertion")
    hcp = hcps[0]
    attrs = _attributes(hcp)
    hci = attrs.get("urn:ihe:iti:xca:2010:homeCommunityId", [])
    seen["hci"] = hci[0].text if hci else ""
    locality = attrs.get("urn:oasis:names:tc:xspa:1.0:environment:locality", [])
    seen["locality"] = locality[0].text if locality else ""
    roles = [r for v in attrs.get("urn:oasis:names:tc:xacml:2.0:subject:role", []) for r in v]
    role = roles[0] if roles else None
    seen["role"] = role.get("code") if role is not None else None
    if role is None or (role.get("displayName") or "").lower() != \
            XSPA_ROLES.get(role.get("code") or "", "").lower():
        raise _Refused(f"role {seen['role']} is not an XSPA role")
    not_before = hcp.find(f"{{{SAML}}}Conditions").get("NotBefore")
    if dt.datetime.fromisoformat(not_before) > peer.now():
        raise _Refused("the assertion is not yet valid")


# --- the transactions ----------------------------------------------------------------------------

def _entry(peer: ReferencePeer, patient: Patient, klass: ClassCode) -> DocumentEntry:
    pid = PatientId(extension=patient.extension, root=peer.patient_root)
    fmt = FormatCode.PATIENT_SUMMARY if klass is ClassCode.PATIENT_SUMMARY else \
        FormatCode.EPRESCRIPTION
    return DocumentEntry(
        entry_uuid=f"urn:uuid:{uuid.uuid4()}", unique_id=peer.document_id, patient_id=pid,
        mime_type="text/xml", class_code=Coded(code=klass.value, scheme=klass.coding_scheme),
        format_code=Coded(code=fmt.value, scheme="eHDSI formatCodes"),
        confidentiality_codes=(Coded(code="N", scheme="2.16.840.1.113883.5.25"),),
        home_community_id=f"urn:oid:{peer.home_community_id}",
        repository_unique_id=peer.repository_id, creation_time="20261201120000",
        language_code="da-DK", source_patient_id=pid.cx, title="Patient Summary")


def _xcpd(peer: ReferencePeer, body: etree._Element, valid: bool) -> etree._Element:
    request = xcpd.parse_request(body)
    me = xcpd.Device(id=II(root=peer.home_community_id),
                     home_community_id=peer.home_community_id)

    def answer(code: QueryResponseCode, *, patients: tuple[xcpd.MatchedPatient, ...] = (),
               details: tuple[xcpd.AcknowledgementDetail, ...] = ()) -> etree._Element:
        return xcpd.build_response(xcpd.PatientDiscoveryResponse(
            message_id=II(root=peer.home_community_id, extension=uuid.uuid4().hex),
            creation_time=xcpd.hl7_now(), sender=me, receiver=request.sender,
            target_message_id=request.message_id, query_response_code=code,
            query=request.query, patients=patients, details=details))

    if request.receiver.id.root != peer.home_community_id:
        return answer(QueryResponseCode.AE, details=(xcpd.AcknowledgementDetail(
            code="ERROR_PI_GENERIC", text="Receiver has wrong Home Community ID"),))
    if not valid:
        return answer(QueryResponseCode.AE, details=(xcpd.AcknowledgementDetail(
            code="1001", text="Assertion is not valid"),))
    ids = [i.extension for i in request.query.patient_ids if i.root == peer.patient_root]
    patient = peer.patient(ids[0] if ids else None)
    if patient is None:
        return answer(QueryResponseCode.NF)
    return answer(QueryResponseCode.OK, patients=(xcpd.MatchedPatient(
        ids=(II(root=peer.patient_root, extension=patient.extension),),
        names=(xcpd.PersonName(family=(patient.family,), given=(patient.given,)),),
        gender="F", birth_time=patient.birth,
        addresses=(xcpd.Address(city="København", country=peer.country),),
        custodian_id=peer.home_community_id),))


def _query(peer: ReferencePeer, body: etree._Element, valid: bool) -> etree._Element:
    q = xca_query.parse_request(body)
    patient = peer.patient(q.patient_id.extension)
    klass = ClassCode(q.class_codes[0].code)
    if patient is None:
        errors = (RegistryError(error_code="ERROR_PI_NO_MATCH", code_context="no such patient"),)
        return xca_query.build_response(xca_query.QueryResponse.of(errors=errors))
    if not patient.consent:
        errors = (RegistryError(error_code="4701", code_context="no consent"),)
        return xca_query.build_response(xca_query.QueryResponse.of(errors=errors))
    if klass is ClassCode.EPRESCRIPTION and not patient.prescriptions:
        return xca_query.build_response(xca_query.QueryResponse.of(errors=(RegistryError(
            error_code="1101", code_context="no ePrescription",
            severity=Severity.WARNING),)))
    entries = (_entry(peer, patient, klass),)
    if not valid:  # fails open: the documents, status Success, and the error
        return xca_query.build_response(xca_query.QueryResponse(
            status=xca_query.ResponseStatus.SUCCESS, entries=entries, errors=(RegistryError(
                error_code="1001", code_context="Assertion is not valid"),)))
    return xca_query.build_response(xca_query.QueryResponse.of(entries=entries))


def _retrieve(peer: ReferencePeer, body: etree._Element, valid: bool,
              attachments: dict[str, bytes]) -> etree._Element:
    req = xca_retrieve.parse_request(body)
    if not valid:
        return xca_retrieve.build_response(xca_retrieve.RetrieveResponse.of(errors=(
            RegistryError(error_code="1001", code_context="Assertion is not valid"),)))
    doc = req.documents[0]
    if doc.document_unique_id != peer.document_id:
        return xca_retrieve.build_response(xca_retrieve.RetrieveResponse.of(errors=(
            RegistryError(error_code="ERROR_GENERIC_DOCUMENT_MISSING",
                          code_context=doc.document_unique_id),)))
    content = b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>Patientresume</title>" \
              b"</ClinicalDocument>"
    return xca_retrieve.build_response(xca_retrieve.RetrieveResponse.of(documents=(
        xca_retrieve.DocumentResponse(repository_unique_id=peer.repository_id,
                                      document_unique_id=peer.document_id,
                                      mime_type="text/xml", document=content,
                                      home_community_id=f"urn:oid:{peer.home_community_id}"),
    )), attachments)


def _submit(peer: ReferencePeer, body: etree._Element, valid: bool) -> etree._Element:
    if not valid:
        return xdr.build_response(xdr.RegistryResponse.of(errors=(RegistryError(
            error_code="1001", code_context="Assertion is not valid"),)))
    for doc in body.iter("{urn:ihe:iti:xds-b:2007}Document"):
        peer.received_documents.append(base64.b64decode(doc.text or ""))
    return xdr.build_response(xdr.RegistryResponse.of())


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        return

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_fault(self, code: str, reason: str, *, subcode: str | None = None,
                    relates_to: str | None = None) -> None:
        self._send(500, _fault(code, reason, subcode=subcode, relates_to=relates_to),
                   'application/soap+xml; charset=UTF-8; action="' + FAULT_ACTION + '"')

    def do_POST(self) -> None:
        peer = self.server.peer
        content_type = self.headers.get("Content-Type", "")
        data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        seen: dict[str, object] = {"content_type": content_type, "path": self.path}
        peer.seen.append(seen)
        raw, attachments = _envelope_bytes(data, content_type)
        env = etree.fromstring(raw)
        header = env.find(f"{{{SOAP}}}Header")
        body = env.find(f"{{{SOAP}}}Body")
        action = (header.findtext(f"{{{WSA}}}Action") or "").strip()
        message_id = (header.findtext(f"{{{WSA}}}MessageID") or "").strip()
        seen["action"] = action
        seen["security_signed"] = header.find(f"{{{WSSE}}}Security/"
                                              "{http://www.w3.org/2000/09/xmldsig#}Signature") \
            is not None
        for block in header:
            mu = block.get(f"{{{SOAP}}}mustUnderstand")
            if mu in ("true", "1") and not block.tag.startswith(f"{{{WSA}}}"):
                seen["fault"] = "MustUnderstand"
                self._send_fault("soapenv:MustUnderstand",
                                 f"Must Understand check failed for header {block.tag}",
                                 relates_to=message_id)
                return
        http_action = axis2_soap_action(content_type)
        if http_action and http_action != action:
            seen["fault"] = "ActionMismatch"
            self._send_fault("soapenv:Sender", "The [action] cannot be processed at the "
                             "receiver.", subcode="wsa:ActionMismatch", relates_to=message_id)
            return
        try:
            _check_hcp(peer, header, seen)
            valid = True
        except _Refused as exc:
            seen["refused"] = str(exc)
            valid = False
        _inline(env, attachments)
        element = body[0]
        out: dict[str, bytes] = {}
        if action == registry.ITI_55.request_action:
            tx, answer = registry.ITI_55, _xcpd(peer, element, valid)
        elif action == registry.ITI_38.request_action:
            tx, answer = registry.ITI_38, _query(peer, element, valid)
        elif action == registry.ITI_39.request_action:
            tx, answer = registry.ITI_39, _retrieve(peer, element, valid, out)
        elif action == registry.ITI_41.request_action:
            tx, answer = registry.ITI_41, _submit(peer, element, valid)
        else:
            self._send_fault("soapenv:Sender", "action not supported",
                             subcode="wsa:ActionNotSupported", relates_to=message_id)
            return
        envelope = soap.build_envelope(answer, action=tx.response_action, relates_to=message_id)
        payload, ct = soap.serialize(envelope, attachments=out, mtom=bool(out))
        self._send(200, payload, ct)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    peer: ReferencePeer


@contextmanager
def running_reference_peer(peer: ReferencePeer, *, pki: Path, client_ca_country: str = "",
                           client_ca: Path | None = None) -> Iterator[ReferencePeer]:
    """Serve ``peer`` over HTTPS on a free loopback port with its TLS server certificate from
    ``pki``; clients must present a certificate of ``client_ca_country``'s CA in ``pki`` (or
    of the CA in ``client_ca``): mutual TLS."""
    cc = peer.country.lower()
    client_ca = client_ca or pki / client_ca_country.lower() / "ca.pem"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(pki / cc / "tls-server.pem", pki / cc / "tls-server.key")
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(client_ca)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.peer = peer
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    peer.url = f"https://localhost:{server.server_address[1]}"
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
