"""Conformance: the published sample requests (with their assertions re-issued by our test PKI)
get the right answers; a zeep client built from the official WSDLs calls the real server over
HTTPS with a client certificate; request and response bodies validate against the XSDs."""

from __future__ import annotations

import datetime as dt
import os
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import zeep
from lxml import etree
from zeep.plugins import Plugin
from zeep.transports import Transport

from ncp.app import create_app
from ncp.ihe import xcpd
from ncp.ihe.codes import QueryResponseCode, ResponseStatus
from ncp.ihe.registry import ITI_38, ITI_39, ITI_41, ITI_55
from ncp.ihe.schemas import validate_body
from ncp.ihe.xca import query, retrieve
from ncp.ihe.xdr import submit
from ncp.security.wssecurity import build_security_header, sign_envelope
from ncp.testing.server import free_port, running_server
from ncp.xmlutil import parse_xml, qname
from tests.gateway.conftest import GatewayEnv, patient
from tests.gateway.peer import HOME, REPOSITORY, Peer, read_answer

DK_CONTENT_TYPE = "application/soap+xml; charset=utf-8"


# --------------------------------------------------------------------------- published samples


@pytest.fixture
def lenient(env_factory) -> GatewayEnv:  # type: ignore[no-untyped-def]
    """The gateway configured for peers that sign only their assertions and send no timestamp
    (the Danish gateway's layout, the samples' layout)."""
    return env_factory(require_message_signature=False, require_timestamp=False)


def dk_request(specs_dir: Path, name: str, peer: Peer, patient_cx: str,
               replace: dict[bytes, bytes] | None = None) -> bytes:
    raw = (specs_dir / "samples" / "xca" / name).read_bytes()
    hcp, trc = peer.assertions(None, trc_patient=patient_cx)
    raw = raw.replace(b"{{message-id}}", f"urn:uuid:{uuid.uuid4()}".encode())
    raw = raw.replace(b"{{hcp-assertion|safe}}", etree.tostring(hcp))
    raw = raw.replace(b"{{trc-assertion|safe}}", etree.tostring(trc))
    for old, new in (replace or {}).items():
        raw = raw.replace(old, new)
    return raw


class _Raw:
    def __init__(self, body: bytes, content_type: str = DK_CONTENT_TYPE) -> None:
        self.body, self.content_type = body, content_type


def test_dk_query_sample_for_their_patient_is_no_match(lenient: GatewayEnv,
                                                       specs_dir: Path) -> None:
    dk_patient = "0410009234^^^&1.2.208.176.1.2&ISO"
    body = dk_request(specs_dir, "DK-template_xca_query_soap_request-ps.xml", lenient.be,
                      dk_patient)
    r = lenient.post("xca", _Raw(body))
    msg = read_answer(r.body, r.content_type, lenient.trust)
    res = query.parse_response(msg.body_element)
    assert res.status is ResponseStatus.FAILURE and res.errors[0].error_code == "ERROR_PI_NO_MATCH"


def test_dk_query_sample_for_our_patient_lists_the_ps(lenient: GatewayEnv,
                                                      specs_dir: Path) -> None:
    ours = patient(0)
    body = dk_request(specs_dir, "DK-template_xca_query_soap_request-ps.xml", lenient.be,
                      ours.cx, {b"0410009234^^^&amp;1.2.208.176.1.2&amp;ISO":
                                f"{ours.extension}^^^&amp;{ours.root}&amp;ISO".encode()})
    r = lenient.post("xca", _Raw(body))
    msg = read_answer(r.body, r.content_type, lenient.trust)
    validate_body(msg.body_element, ITI_38, "response")
    res = query.parse_response(msg.body_element)
    assert res.status is ResponseStatus.SUCCESS
    assert [e.class_code.code for e in res.entries] == ["60591-5", "60591-5"]  # L3 and L1
    # ... and the retrieve sample, pointed at that document, returns its pivot
    uid = res.entries[0].unique_id
    body = dk_request(specs_dir, "DK-template_xca_retrieve_soap_request-ps.xml", lenient.be,
                      ours.cx, {b"1.2.208.176.7.2.987654321^478299832581102L3": uid.encode(),
                                b"1.2.208.176.7.2.987654321": REPOSITORY.encode()})
    r = lenient.post("xca", _Raw(body))
    msg = read_answer(r.body, r.content_type, lenient.trust)
    got = retrieve.parse_response(msg.body_element, msg.attachments)
    assert got.status is ResponseStatus.SUCCESS
    assert parse_xml(got.documents[0].document).tag == qname("hl7", "ClinicalDocument")


def test_dk_retrieve_sample_as_published_is_unknown_document(lenient: GatewayEnv,
                                                             specs_dir: Path) -> None:
    body = dk_request(specs_dir, "DK-template_xca_retrieve_soap_request-ps.xml", lenient.be,
                      patient(0).cx)
    r = lenient.post("xca", _Raw(body))
    msg = read_answer(r.body, r.content_type, lenient.trust)
    got = retrieve.parse_response(msg.body_element, msg.attachments)
    assert got.status is ResponseStatus.FAILURE and not got.documents
    assert [e.error_code for e in got.errors] == [
        "ERROR_GENERIC_DOCUMENT_MISSING", "XDSUnknownRepositoryId"]


def test_ipf_xcpd_sample(env: GatewayEnv, specs_dir: Path) -> None:
    raw = (specs_dir / "samples" / "xcpd" / "ipf_iti55-sample-request.xml").read_bytes()
    # As published: identifiers of other domains only -> demographic search is not offered.
    body = parse_xml(raw)
    env_ = env.be.envelope(body, ITI_55.request_action, env.be.assertions(None, with_trc=False))
    r = env.post("xcpd", env.be.send(env_))
    res = xcpd.parse_response(read_answer(r.body, r.content_type, env.trust).body_element)
    assert res.query_response_code is QueryResponseCode.AE
    assert res.issues[0].code == "DemographicsQueryNotAllowed"
    # With one of our matricules as its identifier, the same message finds our patient.
    ours = raw.replace(b'root="1.2.840.114350.1.13.99997.2.3412" extension="1234"',
                       f'root="1.3.182.4.4" extension="{patient(0).extension}"'.encode())
    body = parse_xml(ours)
    for value in body.iter(qname("hl7", "value")):  # drop the sample's demographics
        if value.getparent().tag in (qname("hl7", "livingSubjectName"),
                                     qname("hl7", "livingSubjectBirthTime"),
                                     qname("hl7", "livingSubjectAdministrativeGender")):
            value.getparent().getparent().remove(value.getparent())
    env_ = env.be.envelope(body, ITI_55.request_action, env.be.assertions(None, with_trc=False))
    r = env.post("xcpd", env.be.send(env_))
    res = xcpd.parse_response(read_answer(r.body, r.content_type, env.trust).body_element)
    assert res.query_response_code is QueryResponseCode.OK


def test_openncp_xdr_sample_for_a_foreign_patient_is_no_match(env: GatewayEnv,
                                                              specs_dir: Path) -> None:
    body = parse_xml((specs_dir / "samples" / "xdr" / "openncp_testSubmitED.xml").read_bytes())
    validate_body(body, ITI_41, "request")
    req = submit.parse_request(body)
    patient_cx = req.submission_set.patient_id.cx
    env_ = env.be.envelope(body, ITI_41.request_action,
                           env.be.assertions(None, trc_patient=patient_cx))
    before = env.counts()
    r = env.post("xdr", env.be.send(env_))
    res = submit.parse_response(read_answer(r.body, r.content_type, env.trust).body_element)
    assert res.status is ResponseStatus.FAILURE and res.errors[0].error_code == "ERROR_PI_NO_MATCH"
    assert env.counts()["documents"] == before["documents"]


def test_request_bodies_we_answer_validate(env: GatewayEnv) -> None:
    """The requests our peer helper builds are schema-valid (the server validates them too)."""
    for sent, tx in ((env.be.xcpd(patient(0).extension), ITI_55),
                     (env.be.query(patient(0)), ITI_38),
                     (env.be.retrieve(patient(0), ["2.25.1"]), ITI_39)):
        from ncp import soap

        msg = soap.parse_request(sent.body, sent.content_type, max_bytes=10**7)
        validate_body(msg.body_element, tx, "request")


# --------------------------------------------------------------------------- zeep over HTTPS


@pytest.fixture
def https_gateway(env_factory) -> Iterator[tuple[str, GatewayEnv]]:  # type: ignore[no-untyped-def]
    env = env_factory(port=free_port())
    with running_server(create_app(env.settings), env.settings) as url:
        yield url, env


def _wsdl(tmp_path: Path, specs_dir: Path, folder: str, name: str) -> str:
    """The official WSDL beside a ``schema/`` folder (where it expects its XSDs)."""
    target = tmp_path / folder
    target.mkdir(exist_ok=True)
    (target / name).write_bytes((specs_dir / "xsd" / folder / name).read_bytes())
    if not (target / "schema").exists():
        os.symlink(specs_dir / "xsd" / folder, target / "schema")
    return str(target / name)


class EhdsiSecurity(Plugin):
    """Adds the eHDSI WS-Security header (HCP+TRC, timestamp) and signs the message, as a
    country B gateway does, after zeep has written the WS-Addressing headers (zeep adds them
    itself for operations whose WSDL names a ``wsaw:Action``, as the XCA WSDL does)."""

    def __init__(self, peer: Peer, patient_cx: str | None) -> None:
        self.peer = peer
        self.patient_cx = patient_cx

    def egress(self, envelope, http_headers, operation, binding_options):  # type: ignore[no-untyped-def]
        now = dt.datetime.now(dt.UTC)
        assertions = self.peer.assertions(None, trc_patient=self.patient_cx,
                                          with_trc=self.patient_cx is not None)
        build_security_header(envelope, assertions=assertions, now=now)
        sign_envelope(envelope, self.peer.creds)
        return envelope, http_headers


def _client(url: str, wsdl: str, peer: Peer, pki: Path, patient_cx: str | None,
            path: str) -> tuple[zeep.Client, object]:
    session = requests.Session()
    session.cert = (str(peer.tls_cert), str(peer.tls_key))
    session.verify = str(pki / "lu" / "ca.pem")
    session.trust_env = False  # REQUESTS_CA_BUNDLE would replace our CA
    client = zeep.Client(wsdl, transport=Transport(session=session),
                         plugins=[EhdsiSecurity(peer, patient_cx)])
    binding = next(iter(client.wsdl.bindings))
    service = client.create_service(binding, url + path)
    return client, service


def test_zeep_client_from_the_official_wsdls_over_https(https_gateway, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                        specs_dir: Path) -> None:
    url, env = https_gateway
    ours = patient(0)
    # XCPD: zeep cannot render HL7 v3 messages from its object model (its UnionType fails on
    # the list-of-union attributes of the HL7 datatypes), so the message is our signed envelope,
    # sent through zeep's transport (mutual TLS) and decoded by zeep from the official WSDL.
    wsdl = _wsdl(tmp_path, specs_dir, "hl7v3-xcpd-openncp", "XCPD_Service.wsdl")
    client, service = _client(url, wsdl, env.be, env.pki, None, "/ws/xcpd")
    sent = env.be.xcpd(ours.extension)
    response = client.transport.post(url + "/ws/xcpd", sent.body,
                                     {"Content-Type": sent.content_type})
    assert response.status_code == 200
    res = xcpd.parse_response(read_answer(response.content, response.headers["content-type"],
                                          env.trust).body_element)
    assert res.query_response_code is QueryResponseCode.OK
    binding = client.wsdl.bindings[next(iter(client.wsdl.bindings))]
    decoded = binding.process_reply(client, binding.get("RespondingGateway_PRPA_IN201305UV02"),
                                    response)
    assert decoded.controlActProcess.queryAck.queryResponseCode.code == "OK"
    # XCA query with zeep's own object model, answer decoded by zeep
    wsdl = _wsdl(tmp_path, specs_dir, "ebrs30-xdsb-openncp", "XCA_Service.wsdl")
    client, service = _client(url, wsdl, env.be, env.pki, ours.cx, "/ws/xca")
    q = query.build_request(query.parse_request(parse_xml(env.be.query(ours).body)
                                                .find(qname("soap", "Body"))[0]))
    # (zeep builds the request from the WSDL types; it cannot decode the answer's
    # rim:Identifiable substitution group, so the answer is read, verified and validated here)
    with client.settings(raw_response=True):
        raw = service.RespondingGateway_CrossGatewayQuery(**_zeep_args(client, q))
    assert raw.status_code == 200
    msg = read_answer(raw.content, raw.headers["content-type"], env.trust)
    validate_body(msg.body_element, ITI_38, "response")
    answer = query.parse_response(msg.body_element)
    assert answer.status is ResponseStatus.SUCCESS
    uid = answer.entries[0].unique_id
    # XCA retrieve: MTOM answer decoded by zeep
    got = service.RespondingGateway_CrossGatewayRetrieve(DocumentRequest=[{
        "HomeCommunityId": f"urn:oid:{HOME}", "RepositoryUniqueId": REPOSITORY,
        "DocumentUniqueId": uid}])
    assert got.RegistryResponse.status == ResponseStatus.SUCCESS.value
    document = got.DocumentResponse[0].Document
    assert parse_xml(document).tag == qname("hl7", "ClinicalDocument")


def _zeep_args(client: zeep.Client, body: etree._Element) -> dict[str, object]:
    """Turn one of our built request bodies into zeep keyword arguments (via its XSD types)."""
    element = client.get_element(body.tag)
    value = element.parse(body, client.wsdl.types)
    return {name: getattr(value, name) for name in value} if hasattr(value, "__iter__") \
        else {}


def test_over_https_without_client_certificate_or_oversized(https_gateway) -> None:  # type: ignore[no-untyped-def]
    import httpx

    url, env = https_gateway
    sent = env.be.query(patient(0))
    ctx = ssl.create_default_context(cafile=str(env.pki / "lu" / "ca.pem"))
    r = httpx.post(f"{url}/ws/xca", content=sent.body,
                   headers={"content-type": sent.content_type}, verify=ctx)
    assert r.status_code == 400 and b"SecurityTokenUnavailable" in r.content
    assert b"ExtrinsicObject" not in r.content
    ctx.load_cert_chain(str(env.be.tls_cert), str(env.be.tls_key))
    big = b"<x>" + b" " * (env.settings.max_request_bytes + 10) + b"</x>"
    r = httpx.post(f"{url}/ws/xca", content=big,
                   headers={"content-type": "application/soap+xml"}, verify=ctx)
    assert r.status_code == 413
    r = httpx.post(f"{url}/ws/xca", content=sent.body,
                   headers={"content-type": sent.content_type}, verify=ctx)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/soap+xml")
