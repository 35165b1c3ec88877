"""Our initiating side against a peer that behaves like the reference gateway (OpenNCP 7.1 on
Axis2 1.8; see ``reference_peer``): a real HTTPS server on loopback with mutual TLS from the
test PKI, answering unsigned, faulting as Axis2 does, judging roles by its own list and failing
open on the query. Our client (the one the portal's cross-border pages use) must get through
every transaction, and must show what the peer reports."""

from __future__ import annotations

import dataclasses
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ncp import soap
from ncp.ihe import registry
from ncp.ihe.identifiers import PatientId
from ncp.peers.assertions import AssertionIssuer, Professional
from ncp.peers.client import GatewayClient, default_endpoints
from ncp.peers.error_texts import LANGUAGES, TEXTS, text_for
from ncp.peers.errors import CrossBorderError
from ncp.peers.ism import SearchField, SearchMask
from ncp.security import MessageSecurity
from ncp.security.keys import load_credentials
from ncp.security.pki import init_pki
from ncp.settings import Settings
from ncp.store.peers import ContextInfo, PeerInfo, ProfessionalCard
from tests.clock import NOW
from tests.crossborder.reference_peer import (
    Patient,
    ReferencePeer,
    axis2_soap_action,
    running_reference_peer,
)

OWN_HCI = "1.3.182.2.4.1"
DK_HCI = "2.16.17.710.850.1000.990.1"
DK_PATIENTS = "1.2.208.176.1.2"
ASTRID = Patient("0103681234", "Astrid", "Nielsen", "19680301")
SOREN = Patient("1207551111", "Søren", "Madsen", "19550712", consent=False)
DOCTOR = ProfessionalCard(1, "LU-HP-100001", "Marie", "Muller", "physician", "2211",
                          "LU-PRAC-0001", "Cabinet médical Limpertsberg", "practice")
PHARMACIST = ProfessionalCard(3, "LU-HP-100003", "Sophie", "Weber", "pharmacist", "2262",
                              "LU-PHAR-0001", "Pharmacie du Globe", "pharmacy")
MASK = SearchMask("DK", (SearchField("cpr", "id", "CPR", domain=DK_PATIENTS,
                                     mandatory=True),))

#: Every code of the reference gateway's OpenNCPErrorCode dictionary, as it travels.
_CODES_TEXT = """
ERROR_GENERIC WARNING_GENERIC ERROR_CONNECTION_NOT_POSSIBLE ERROR_GENERIC_DOCUMENT_MISSING
ERROR_GENERIC_SERVICE_SIGNIFIER_UNKNOWN ERROR_HPI_GENERIC WARNING_HPI_GENERIC
ERROR_HPI_NO_INFORMATION ERROR_HPI_INSUFFICIENT_INFORMATION ERROR_HPI_HAI_NO_INFORMATION
ERROR_HPI_POC_NO_INFORMATION ERROR_HPI_AUTHENTICATION_NOT_RECEIVED ERROR_PI_GENERIC
WARNING_PI_GENERIC ERROR_PI_NO_MATCH ERROR_PI_MULTIPLE_MATCHES ERROR_PS_GENERIC
WARNING_PS_GENERIC ERROR_PS_MISSING_BASIC_SECTIONS WARNING_PS_MISSING_BASIC_DATA
ERROR_PS_MISSING_EXPECTED_MAPPING WARNING_PS_MISSING_EXPECTED_MAPPING
EHDSI_WARNING_PS_MISSING_EXPECTED_TRANSLATION ERROR_PS_PDF_FORMAT_NOT_PROVIDED
ERROR_EP_GENERIC WARNING_EP_GENERIC WARNING_EP_MISSING_BASIC_DATA
ERROR_EP_MISSING_EXPECTED_MAPPING WARNING_EP_MISSING_EXPECTED_MAPPING
WARNING_EP_MISSING_EXPECTED_TRANSLATION ERROR_EP_PDF_FORMAT_NOT_PROVIDED ERROR_ED_GENERIC
WARNING_ED_GENERIC ERROR_ED_NOT_DISPENSABLE_EPRESCRIPTION
ERROR_ED_SUBSTITUTION_INFORMATION_NOT_ALLOWED ERROR_ED_EPRESCRIPTION_NOT_IDENTIFIABLE
WARNING_ED_MISSING_BASIC_DATA ERROR_ED_INFORMATION_NOT_STORE
ERROR_ED_MISSING_EXPECTED_MAPPING WARNING_ED_MISSING_EXPECTED_MAPPING
ERROR_ED_EDISPENSATION_ACK_NOT_RECEIVED ERROR_ED_EPRESCRIPTION_NOT_UPDATED
ERROR_ED_EDISPENSATION_NOT_STORED ERROR_ED_DISCARD_SERVICE_NOT_AVAILABLE
ERROR_ED_DISCARD_FAILED WARNING_ED_DISCARD_MISSING_MANDATORY_DATA ERROR_ORCD_GENERIC
WARNING_ORCD_GENERIC ERROR_ORCD_SERVICE_NOT_AVAILABLE WARNING_ORCD_MISSING_MANDATORY_DATA
ERROR_ORCD_INCORRECT_FORMAT WARNING_ORCD_MISSING_MANDATORY_METADATA ERROR_HQI_GENERIC
WARNING_HQI_GENERIC WARNING_HQI_B_INFORMATION_NOT_PROPERLY_STRUCTURED
WARNING_HQI_A_INFORMATION_NOT_PROPERLY_STRUCTURED ERROR_SEC_GENERIC WARNING_SEC_GENERIC
ERROR_SEC_DATA_INTEGRITY_NOT_ENSURED
WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS_FOR_UNIQUE_PATIENT
WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS_FOR_UNIQUE_POINT_OF_CARE
WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS 1001 1002 1101 1102 1103 1104 1100 2201 4101
4102 4103 4104 4105 4106 4107 4108 4201 4203 4204 4205 4206 4207 4701 4702 4703 4704 4705
4706 4202
"""
OPENNCP_CODES = tuple(_CODES_TEXT.split())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ref-pki")
    init_pki(root, ("LU", "DK"), now=NOW)
    return root


@pytest.fixture(scope="module")
def denmark(pki: Path) -> Iterator[ReferencePeer]:
    peer = ReferencePeer(country="DK", home_community_id=DK_HCI, patient_root=DK_PATIENTS,
                         patients=(ASTRID, SOREN))
    with running_reference_peer(peer, pki=pki, client_ca_country="LU") as running:
        yield running


@pytest.fixture
def client(pki: Path, tmp_path: Path) -> Iterator[GatewayClient]:
    settings = Settings(var_dir=tmp_path, pki_dir=pki, country_code="LU",
                        home_community_id=OWN_HCI)
    issuer = AssertionIssuer(country="LU", home_community_id=OWN_HCI, credentials=load_credentials(
        settings.signing_key_path, settings.signing_cert_path))
    gateway = GatewayClient(settings, security=MessageSecurity.from_settings(settings),
                            issuer=issuer)
    yield gateway
    gateway.close()


def _entry(pki: Path, peer: ReferencePeer, **options: str) -> PeerInfo:
    return PeerInfo("DK", "NCPeH DK", peer.home_community_id, default_endpoints(peer.url),
                    (pki / "dk" / "ca.pem").read_text(), None, None, "manual", NOW,
                    dict(options))


def _context(patient: Patient) -> ContextInfo:
    cx = PatientId(extension=patient.extension, root=DK_PATIENTS).cx
    return ContextInfo("t" * 32, 1, "DK", cx, f"{patient.given} {patient.family}",
                       None, None, "TREATMENT", NOW, NOW)


def _raw_post(pki: Path, url: str, data: bytes, content_type: str) -> httpx.Response:
    ctx = ssl.create_default_context(cafile=str(pki / "dk" / "ca.pem"))
    ctx.load_cert_chain(pki / "lu" / "tls-client.pem", pki / "lu" / "tls-client.key")
    with httpx.Client(verify=ctx, timeout=30) as http:
        return http.post(url, content=data, headers={"Content-Type": content_type})


# --- the peer behaves as Axis2 does ----------------------------------------------------------

def test_the_peer_applies_axis2s_rules(pki: Path, denmark: ReferencePeer) -> None:
    """What our client sent before: wsse:Security marked mustUnderstand, and the MTOM action
    only inside start-info. The peer refuses both, as the reference gateway does."""
    from lxml import etree

    body = etree.fromstring(b"<x:Ping xmlns:x='urn:x'/>")
    env = soap.build_envelope(body, action=registry.ITI_55.request_action, to=denmark.url,
                              reply_to=soap.ANONYMOUS)
    header = env[0]
    sec = etree.SubElement(header, "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-"
                                   "wss-wssecurity-secext-1.0.xsd}Security")
    sec.set("{http://www.w3.org/2003/05/soap-envelope}mustUnderstand", "true")
    data, ct = soap.serialize(env)
    answer = _raw_post(pki, denmark.url + "/ws/xcpd", data, ct)
    assert answer.status_code == 500 and b"MustUnderstand" in answer.content
    escaped = ('multipart/related; boundary=b; type="application/xop+xml"; start="<r>"; '
               'start-info="application/soap+xml; action=\\"urn:ihe:iti:2007:'
               'ProvideAndRegisterDocumentSet-b\\""')
    assert axis2_soap_action(escaped) != registry.ITI_41.request_action
    sec.attrib.pop("{http://www.w3.org/2003/05/soap-envelope}mustUnderstand")
    root = soap.serialize(env)[0]
    package = (b"--b\r\nContent-Type: application/xop+xml; type=\"application/soap+xml\"\r\n"
               b"Content-ID: <r>\r\n\r\n" + root + b"\r\n--b--\r\n")
    answer = _raw_post(pki, denmark.url + "/ws/xcpd", package, escaped)
    assert answer.status_code == 500 and b"ActionMismatch" in answer.content


# --- our client gets through -----------------------------------------------------------------

def test_a_doctor_discovers_queries_and_retrieves(pki: Path, denmark: ReferencePeer,
                                                   client: GatewayClient) -> None:
    peer = _entry(pki, denmark)
    who = Professional(DOCTOR, "totp")
    start = len(denmark.seen)
    found = client.discover(peer, who, mask=MASK, values={"cpr": ASTRID.extension})
    assert [(p.given_name, p.family_name) for p in found] == [("Astrid", "Nielsen")]
    docs = client.find_documents(peer, who, _context(ASTRID), "ps")
    assert [e.unique_id for e in docs.entries] == [denmark.document_id] and not docs.errors
    doc = client.retrieve(peer, who, _context(ASTRID), docs.entries[0], "ps")
    assert b"Patientresume" in doc.document
    seen = denmark.seen[start:]
    assert len(seen) == 3 and not any("fault" in s or "refused" in s for s in seen), seen
    # the peer's clock runs behind ours, yet NotBefore (backdated) is already valid for it
    assert denmark.clock_lag.total_seconds() >= 1
    for s in seen:
        assert s["hci"] == f"urn:oid:{OWN_HCI}"        # its audit records get our HCI
        assert s["locality"] == "Cabinet médical Limpertsberg, Luxembourg"
        assert s["role"] == "221"                       # on its list, unlike 2211
        assert s["security_signed"]                     # we still sign our messages


def test_a_pharmacist_dispenses_by_mtom_and_inline(pki: Path, denmark: ReferencePeer,
                                                   client: GatewayClient) -> None:
    who = Professional(PHARMACIST, "certificate")
    document = b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>eD</title></ClinicalDocument>"
    for xdr_option, media in (("mtom", "multipart/related"), ("inline", "application/soap+xml")):
        start = len(denmark.seen)
        client.submit_dispensation(_entry(pki, denmark, xdr=xdr_option), who, _context(ASTRID),
                                   document=document,
                                   unique_id=f"{OWN_HCI}.40.{uuid.uuid4().int}",
                                   prescription_id=f"{DK_PATIENTS}.5^EP1")
        seen = denmark.seen[start]
        assert str(seen["content_type"]).startswith(media) and "fault" not in seen, seen
        assert axis2_soap_action(str(seen["content_type"])) == registry.ITI_41.request_action
        assert seen["role"] == "2262" and denmark.received_documents[-1] == document


# --- what the peer reports reaches the professional ----------------------------------------

def test_precise_roles_make_it_fail_open_and_both_are_shown(pki: Path, denmark: ReferencePeer,
                                                            client: GatewayClient) -> None:
    """With role 2211 (off its list) the peer answers XCPD AE, the query Success with the
    documents *and* error 1001, and refuses the retrieve: the client keeps the error beside
    the documents, retrieves nothing by itself, and every code has its text."""
    peer = _entry(pki, denmark, role_codes="precise")
    who = Professional(DOCTOR, "totp")
    with pytest.raises(CrossBorderError) as exc:
        client.discover(peer, who, mask=MASK, values={"cpr": ASTRID.extension})
    assert exc.value.code == "1001" and denmark.seen[-1]["role"] == "2211"
    start = len(denmark.seen)
    docs = client.find_documents(peer, who, _context(ASTRID), "ps")
    assert len(docs.entries) == 1
    assert [e.code for e in docs.errors] == ["1001"] and docs.errors[0].key == "identity"
    assert len(denmark.seen) == start + 1                 # no retrieve followed
    assert text_for("1001", "de") and text_for("1001", "fr") != text_for("1001", "en")
    with pytest.raises(CrossBorderError) as exc:
        client.retrieve(peer, who, _context(ASTRID), docs.entries[0], "ps")
    assert exc.value.code == "1001"


def test_the_peers_error_codes_reach_the_professional(pki: Path, denmark: ReferencePeer,
                                                      client: GatewayClient) -> None:
    peer = _entry(pki, denmark)
    who = Professional(DOCTOR, "totp")
    with pytest.raises(CrossBorderError) as exc:
        client.find_documents(peer, who, _context(SOREN), "ps")
    assert (exc.value.key, exc.value.code) == ("no_consent", "4701")
    docs = client.find_documents(peer, who, _context(ASTRID), "ps")
    missing = dataclasses.replace(docs.entries[0], unique_id=f"{DK_HCI}.1.999")
    with pytest.raises(CrossBorderError) as exc:
        client.retrieve(peer, who, _context(ASTRID), missing, "ps")
    assert exc.value.code == "ERROR_GENERIC_DOCUMENT_MISSING"
    for code in (exc.value.code, "4701"):
        assert all(text_for(code, lang) for lang in LANGUAGES)


def test_every_code_of_the_reference_dictionary_has_its_texts() -> None:
    assert len(OPENNCP_CODES) == len(set(OPENNCP_CODES)) == 91
    assert set(OPENNCP_CODES) <= set(TEXTS)
    for code in OPENNCP_CODES:
        texts = TEXTS[code]
        assert set(texts) == set(LANGUAGES) and all(t.strip() for t in texts.values())
        assert len(set(texts.values())) == 3, code     # really three languages
    assert text_for("5007") is None


# --- what our client refuses ---------------------------------------------------------------

def test_no_request_without_the_peers_own_home_community(pki: Path, denmark: ReferencePeer,
                                                          client: GatewayClient) -> None:
    peer = dataclasses.replace(_entry(pki, denmark), home_community_id="")
    start = len(denmark.seen)
    with pytest.raises(CrossBorderError) as exc:
        client.discover(peer, Professional(DOCTOR, "totp"), mask=MASK,
                        values={"cpr": ASTRID.extension})
    assert exc.value.key == "configuration" and "home community" in exc.value.detail
    with pytest.raises(CrossBorderError):
        client.find_documents(peer, Professional(DOCTOR, "totp"), _context(ASTRID), "ps")
    assert len(denmark.seen) == start                    # nothing was sent


def test_an_unsigned_answer_needs_the_server_the_entry_pins(pki: Path, denmark: ReferencePeer,
                                                            client: GatewayClient) -> None:
    """Without a TLS anchor of its own in the entry (trust-list fallback: the country, not
    this server) an unsigned answer is not trusted."""
    peer = dataclasses.replace(_entry(pki, denmark), tls_anchor_pem=None)
    with pytest.raises(CrossBorderError) as exc:
        client.discover(peer, Professional(DOCTOR, "totp"), mask=MASK,
                        values={"cpr": ASTRID.extension})
    assert exc.value.key == "response_untrusted"


def test_the_entry_may_pin_the_servers_own_certificate(pki: Path, denmark: ReferencePeer,
                                                        client: GatewayClient) -> None:
    """An SMP record publishes the endpoint's certificate: with that certificate alone as the
    entry's TLS anchor the call goes through (unsigned answers included); with another
    certificate of the same CA the handshake is refused."""
    who = Professional(DOCTOR, "totp")
    pinned = dataclasses.replace(_entry(pki, denmark),
                                 tls_anchor_pem=(pki / "dk" / "tls-server.pem").read_text())
    found = client.discover(pinned, who, mask=MASK, values={"cpr": ASTRID.extension})
    assert [p.given_name for p in found] == ["Astrid"]
    other = dataclasses.replace(_entry(pki, denmark),
                                tls_anchor_pem=(pki / "dk" / "signing.pem").read_text())
    with pytest.raises(CrossBorderError) as exc:
        client.discover(other, who, mask=MASK, values={"cpr": ASTRID.extension})
    assert exc.value.key == "tls"
