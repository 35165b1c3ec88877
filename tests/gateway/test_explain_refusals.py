"""``ncp explain ERROR-ID`` for every refusal kind the gateway has (issue 18 item 1).

Each case provokes one refusal through the gateway (the harness of tests/gateway/conftest.py:
the real pipeline, PKI, database and audit), reads the error id from the answer the peer got
(SOAP fault reason, XCPD AE text, RegistryError), runs the ``ncp explain`` command against the
same database and checks the check, element and rule it prints, in text and ``--json``.

The static tests make the table complete: every check the code can store (the security
checks' tokens, the explicit ``check=`` of the faults, every NcpError class, every ErrorCode,
every refusal reason of the DSP's access policy) has a rule in ncp/gateway/reasons.toml.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

import ncp
from ncp.cli import app
from ncp.errors import ErrorCode, NcpError
from ncp.gateway import build_gateway
from ncp.gateway.reasons import ERROR_CHECKS, POLICY_CHECKS, RULES, check_of
from ncp.ihe import xcpd
from ncp.ihe.codes import ClassCode
from ncp.ihe.identifiers import II, PatientId
from ncp.security.keys import load_credentials
from ncp.security.saml import (
    NokClaims,
    TrcClaims,
    build_hcp_assertion,
    build_nok_assertion,
    build_trc_assertion,
)
from ncp.settings import get_settings
from ncp.store.db import session_factory
from ncp.store.peers import PeerStore
from ncp.store.vocabulary import DocumentType
from tests.gateway.conftest import GatewayEnv, patient
from tests.gateway.peer import DOCTOR, HOME, PHARMACIST, Peer, Sent, dispensation, soap_ns
from tests.gateway.test_xdr import pivot_ep

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
WSA = "http://www.w3.org/2005/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
XCPD_ACTION = "urn:hl7-org:v3:PRPA_IN201305UV02:CrossGatewayPatientDiscovery"
SOAP_CT = "application/soap+xml; charset=UTF-8"
NOBODY = "1999010100000"


@dataclass
class Call:
    """One request of a case: where it goes, as whom, to which gateway."""

    endpoint: str
    sent: Sent
    env: GatewayEnv | None = None
    pem: str | bool | None = True
    peer: Peer | None = None


@dataclass(frozen=True)
class Case:
    check: str
    build: Callable[[GatewayEnv], Call]
    #: What the stored element must contain (None: no element for this check).
    element: str | None = None
    #: What the stored detail must contain.
    detail: str = ""


CASES: dict[str, Case] = {}


def case(name: str, check: str, *, element: str | None = None, detail: str = ""
         ) -> Callable[[Callable[[GatewayEnv], Call]], Callable[[GatewayEnv], Call]]:
    def register(build: Callable[[GatewayEnv], Call]) -> Callable[[GatewayEnv], Call]:
        CASES[name] = Case(check, build, element, detail)
        return build
    return register


# ------------------------------------------------------------------ helpers


def xcpd0(env: GatewayEnv, **kw: object) -> Sent:
    return env.be.xcpd(patient(0).extension, **kw)  # type: ignore[arg-type]


def edited(sent: Sent, edit: Callable[[etree._Element], None], content_type: str | None = None
           ) -> Sent:
    """The request with ``edit`` applied to its envelope after signing (what a proxy or a
    broken peer does to a message)."""
    root = etree.fromstring(sent.body)
    edit(root)
    return Sent(etree.tostring(root), content_type or sent.content_type, sent.message_id)


def header(root: etree._Element) -> etree._Element:
    return root.find(f"{{{soap_ns()}}}Header")


def gateway(env: GatewayEnv, **settings: object) -> GatewayEnv:
    """Another gateway process over the same database, with other settings."""
    s = env.settings.model_copy(update=settings)
    return replace(env, settings=s, gateway=build_gateway(s, env.engine, env.records))


def xcpd_body(matricule: str) -> etree._Element:
    request = xcpd.PatientDiscoveryRequest(
        message_id=II(root="2.999.32.99", extension=uuid.uuid4().hex),
        creation_time=xcpd.hl7_now(),
        sender=xcpd.Device(id=II(root="2.999.32.99.1"), home_community_id="2.999.32.99"),
        receiver=xcpd.Device(id=II(root=HOME), home_community_id=HOME),
        query=xcpd.PatientDiscoveryQuery(query_id=II(root="2.999.32.99.2", extension="q1"),
                                         patient_ids=(II(root=patient(0).root,
                                                         extension=matricule),)))
    return xcpd.build_request(request)


def hcp(env: GatewayEnv, *, claims: object = DOCTOR, lifetime: dt.timedelta | None = None,
        assertion_id: str | None = None, now: dt.datetime | None = None) -> etree._Element:
    kw = {"lifetime": lifetime} if lifetime else {}
    return build_hcp_assertion(claims, issuer="urn:idp:BE:countryB",  # type: ignore[arg-type]
                               credentials=env.be.creds, now=now or dt.datetime.now(dt.UTC),
                               assertion_id=assertion_id or f"_{uuid.uuid4()}", **kw)


def trc(env: GatewayEnv, pid: PatientId, hcp_id: str) -> etree._Element:
    return build_trc_assertion(TrcClaims(subject_id=DOCTOR.subject_id, patient_id=pid.cx,
                                         hcp_assertion_id=hcp_id),
                               issuer="urn:initgw:BE:countryB", credentials=env.be.creds,
                               now=dt.datetime.now(dt.UTC), lifetime=dt.timedelta(hours=1))


def resigned(env: GatewayEnv, assertion: etree._Element,
             edit: Callable[[etree._Element], None]) -> etree._Element:
    """The assertion edited and signed again by its issuer: well signed, but breaking a rule."""
    from ncp.security.xmldsig import sign_enveloped

    sig = assertion.find(f"{{{DS}}}Signature")
    assertion.remove(sig)
    edit(assertion)
    sign_enveloped(assertion, env.be.creds)
    return assertion


def message_signature(root: etree._Element) -> etree._Element:
    return header(root).find(f"{{{WSSE}}}Security/{{{DS}}}Signature")


def strict_pki(env: GatewayEnv) -> GatewayEnv:
    """A gateway whose trust list says Belgium signs and stamps its messages."""
    import shutil

    pki = Path(env.settings.var_dir) / "strict-pki"
    shutil.copytree(env.pki, pki)
    listed = json.loads((pki / "trust-list.json").read_text())
    listed["countries"]["BE"]["require_message_signature"] = True
    listed["countries"]["BE"]["require_timestamp"] = True
    (pki / "trust-list.json").write_text(json.dumps(listed))
    return gateway(env, pki_dir=pki)


def copied_pki(env: GatewayEnv) -> Path:
    """A copy of the PKI this test may change (CRLs, certificates): the session's is shared."""
    import shutil

    pki = Path(env.settings.var_dir) / f"pki-{uuid.uuid4().hex[:8]}"
    shutil.copytree(env.pki, pki)
    return pki


def be_ca(pki: Path):  # type: ignore[no-untyped-def]
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from ncp.security.pki import IssuedCertificate

    folder = pki / "be"
    return IssuedCertificate(x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes()),
                             serialization.load_pem_private_key(  # type: ignore[arg-type]
                                 (folder / "ca.key").read_bytes(), None))


def client_pem(issued) -> str:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import serialization

    return issued.certificate.public_bytes(serialization.Encoding.PEM).decode()


def with_pki(env: GatewayEnv, edit: Callable[[Path], str | None]) -> Call:
    """An XCPD discovery over TLS, to a gateway over an edited copy of the PKI; ``edit``
    returns the client certificate to present (None: Belgium's own)."""
    pki = copied_pki(env)
    pem = edit(pki)
    return Call("xcpd", xcpd0(env), env=gateway(env, pki_dir=pki), pem=pem or True)


def document_id(env: GatewayEnv, n: int, registry_id: str, doc_type: DocumentType) -> str:
    actor = env.records.professional_actor(env.records.professional_id(registry_id))
    return env.records.list_documents(actor, env.patient_db_id(n), doc_type=doc_type)[0].unique_id


def self_signed_pem(country: str) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, country),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"ncp.{country.lower()}.invalid")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


# ------------------------------------------------------------------ transport (TLS client)

@case("tls: no client certificate", "no-client-certificate")
def _(env: GatewayEnv) -> Call:
    return Call("xcpd", xcpd0(env), pem=None)


@case("tls: a client certificate that is not PEM", "unreadable-client-certificate")
def _(env: GatewayEnv) -> Call:
    return Call("xcpd", xcpd0(env), pem="not a certificate")


@case("tls: a PEM block that is not a certificate", "bad-certificate")
def _(env: GatewayEnv) -> Call:
    return Call("xcpd", xcpd0(env), pem="-----BEGIN CERTIFICATE-----\nAAAA\n"
                "-----END CERTIFICATE-----\n")


@case("tls: our own country", "own-country", detail="our own country")
def _(env: GatewayEnv) -> Call:
    return Call("xcpd", xcpd0(env), pem=(env.pki / "lu" / "tls-client.pem").read_text())


@case("tls: a self-signed certificate", "self-signed")
def _(env: GatewayEnv) -> Call:
    return Call("xcpd", xcpd0(env), pem=self_signed_pem("BE"))


def _register(env: GatewayEnv, country: str, anchor_country: str) -> None:
    PeerStore(session_factory(env.engine)).upsert(
        country=country, name=f"NCPeH {country}", home_community_id="2.999.1",
        endpoints={}, source="manual", now=dt.datetime.now(dt.UTC),
        tls_anchor_pem=(env.pki / anchor_country.lower() / "ca.pem").read_text())


@case("tls: not the anchor the peers directory pins", "not-pinned")
def _(env: GatewayEnv) -> Call:
    _register(env, "BE", "FR")
    return Call("xcpd", xcpd0(env), env=gateway(env))


@case("tls: an unregistered peer", "unregistered-peer")
def _(env: GatewayEnv) -> Call:
    _register(env, "BE", "BE")
    fr = Peer(env.pki, "FR")
    return Call("xcpd", fr.xcpd(patient(0).extension), peer=fr,
                env=gateway(env, require_registered_peers=True))


@case("tls: TLS country is not the signer's", "wrong-country")
def _(env: GatewayEnv) -> Call:
    return Call("xca", env.be.query(patient(0)), peer=Peer(env.pki, "FR"))


def _leaf(pki: Path, purpose: str = "tls-client", **kw: object) -> str:
    from ncp.security.pki import issue_leaf

    return client_pem(issue_leaf(be_ca(pki), purpose, **kw))  # type: ignore[arg-type]


@case("certificates: issued by a CA that is not the country's anchor", "untrusted-issuer")
def _(env: GatewayEnv) -> Call:
    from ncp.security.pki import issue_ca, issue_leaf

    return Call("xcpd", xcpd0(env), pem=client_pem(issue_leaf(issue_ca("BE"), "tls-client")))


@case("certificates: of a country the trust list does not know", "country-not-trusted")
def _(env: GatewayEnv) -> Call:
    from ncp.security.pki import issue_ca, issue_leaf

    return Call("xcpd", xcpd0(env), pem=client_pem(issue_leaf(issue_ca("DE"), "tls-client")))


@case("certificates: expired", "certificate-expired")
def _(env: GatewayEnv) -> Call:
    now = dt.datetime.now(dt.UTC)
    return with_pki(env, lambda pki: _leaf(pki, not_before=now - dt.timedelta(days=60),
                                           not_after=now - dt.timedelta(days=1)))


@case("certificates: not valid yet", "certificate-not-yet-valid")
def _(env: GatewayEnv) -> Call:
    now = dt.datetime.now(dt.UTC)
    return with_pki(env, lambda pki: _leaf(pki, not_before=now + dt.timedelta(days=1)))


@case("certificates: a server certificate as TLS client (ExtendedKeyUsage)", "key-usage")
def _(env: GatewayEnv) -> Call:
    return with_pki(env, lambda pki: _leaf(pki, "tls-server"))


@case("certificates: revoked", "revoked")
def _(env: GatewayEnv) -> Call:
    from cryptography import x509

    from ncp.security.pki import revoke

    def revoked(pki: Path) -> str | None:
        revoke(pki, "BE", x509.load_pem_x509_certificate(env.be.tls_pem.encode()))
        return None
    return with_pki(env, revoked)


@case("certificates: an assertion signer the peers directory does not register",
      "signer-not-pinned", element="hcp", detail="not registered for BE's gateway")
def _(env: GatewayEnv) -> Call:
    from cryptography.hazmat.primitives import serialization

    from ncp.security.keys import SigningCredentials
    from ncp.security.pki import issue_leaf

    PeerStore(session_factory(env.engine)).upsert(
        country="BE", name="NCPeH BE", home_community_id="2.999.1", endpoints={},
        source="manual", now=dt.datetime.now(dt.UTC),
        tls_anchor_pem=(env.pki / "be" / "ca.pem").read_text(),
        signing_anchor_pem=(env.pki / "be" / "signing.pem").read_text())
    other = issue_leaf(be_ca(env.pki), "signing")  # under Belgium's CA, not its gateway's
    creds = SigningCredentials(other.key, other.certificate,  # type: ignore[arg-type]
                               other.certificate.public_bytes(serialization.Encoding.DER))
    forged = Peer(env.pki, "BE", signer=creds).assertions(patient(0))
    return Call("xca", env.be.query(patient(0), assertions=forged), env=gateway(env))


@case("certificates: the issuer's CRL is missing", "crl-missing")
def _(env: GatewayEnv) -> Call:
    return with_pki(env, lambda pki: (pki / "be" / "ca.crl").unlink())  # type: ignore[func-returns-value]


@case("certificates: the issuer's CRL is past its nextUpdate", "crl-stale")
def _(env: GatewayEnv) -> Call:
    from ncp.security.pki import write_crl

    def stale(pki: Path) -> None:
        past = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
        write_crl(pki / "be", be_ca(pki), now=past, next_update=past + dt.timedelta(days=1))
    return with_pki(env, stale)  # type: ignore[arg-type]


@case("certificates: a CRL not signed by the issuer", "crl-bad-signature")
def _(env: GatewayEnv) -> Call:
    from ncp.security.pki import IssuedCertificate, generate_key, write_crl

    def forged(pki: Path) -> None:
        ca = be_ca(pki)
        write_crl(pki / "be", IssuedCertificate(ca.certificate, generate_key()))
    return with_pki(env, forged)  # type: ignore[arg-type]


# ------------------------------------------------------------------ the HTTP body, the envelope

@case("envelope: over the size limit", "size-limit")
def _(env: GatewayEnv) -> Call:
    return Call("xcpd", xcpd0(env), env=gateway(env, max_request_bytes=1000))


@case("envelope: a DOCTYPE (hostile XML)", "xml-input", detail="DOCTYPE")
def _(env: GatewayEnv) -> Call:
    return Call("xca", Sent(
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>&x;</e:Body>'
        b"</e:Envelope>", SOAP_CT, ""))


@case("envelope: two elements in the Body", "envelope")
def _(env: GatewayEnv) -> Call:
    return Call("xca", Sent(b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope">'
                            b"<e:Header/><e:Body><q/><r/></e:Body></e:Envelope>", SOAP_CT, ""))


@case("envelope: SOAP 1.1", "soap-version")
def _(env: GatewayEnv) -> Call:
    return Call("xca", Sent(b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
                            b"<s:Body/></s:Envelope>", "text/xml", ""))


@case("envelope: not a SOAP media type", "media-type")
def _(env: GatewayEnv) -> Call:
    return Call("xca", Sent(b"<x/>", "text/plain", ""))


@case("envelope: a broken MTOM package", "mtom-package")
def _(env: GatewayEnv) -> Call:
    return Call("xca", Sent(b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n",
                            'multipart/related; boundary="b"; type="application/xop+xml"', ""))


@case("envelope: a mustUnderstand header we do not know", "must-understand")
def _(env: GatewayEnv) -> Call:
    def add(root: etree._Element) -> None:
        extra = etree.SubElement(header(root), "{urn:example:x}Routing")
        extra.set(f"{{{soap_ns()}}}mustUnderstand", "true")
    return Call("xcpd", edited(xcpd0(env), add))


# ------------------------------------------------------------------ WS-Addressing

@case("addressing: no wsa:MessageID", "addressing-missing")
def _(env: GatewayEnv) -> Call:
    def drop(root: etree._Element) -> None:
        h = header(root)
        h.remove(h.find(f"{{{WSA}}}MessageID"))
    return Call("xcpd", edited(xcpd0(env), drop))


@case("addressing: wsa:To twice", "addressing")
def _(env: GatewayEnv) -> Call:
    def twice(root: etree._Element) -> None:
        h = header(root)
        h.append(etree.fromstring(etree.tostring(h.find(f"{{{WSA}}}To"))))
    return Call("xcpd", edited(xcpd0(env), twice))


@case("addressing: a non-anonymous reply address", "reply-address")
def _(env: GatewayEnv) -> Call:
    def elsewhere(root: etree._Element) -> None:
        header(root).find(f"{{{WSA}}}ReplyTo/{{{WSA}}}Address").text = "https://evil.invalid/"
    return Call("xcpd", edited(xcpd0(env), elsewhere))


@case("addressing: Content-Type action differs", "action-mismatch")
def _(env: GatewayEnv) -> Call:
    sent = env.be.query(patient(0))
    return Call("xca", Sent(sent.body, sent.content_type.replace("CrossGatewayQuery",
                                                                 "CrossGatewayRetrieve"), ""))


@case("addressing: an action this endpoint does not serve", "action-not-supported")
def _(env: GatewayEnv) -> Call:
    def unknown(root: etree._Element) -> None:
        header(root).find(f"{{{WSA}}}Action").text = "urn:unknown"
    return Call("xca", edited(env.be.query(patient(0)), unknown, SOAP_CT))


# ------------------------------------------------------------------ WS-Security

@case("message security: no wsse:Security header", "security-header")
def _(env: GatewayEnv) -> Call:
    def strip(root: etree._Element) -> None:
        h = header(root)
        h.remove(h.find(f"{{{WSSE}}}Security"))
    return Call("xcpd", edited(xcpd0(env, sign=False), strip))


@case("message security: an expired Timestamp", "timestamp-expired")
def _(env: GatewayEnv) -> Call:
    return Call("xcpd", xcpd0(env, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)))


@case("message security: a Timestamp from the future", "timestamp-future")
def _(env: GatewayEnv) -> Call:
    return Call("xcpd", xcpd0(env, now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)))


@case("message security: the Body changed after the message was signed", "bad-signature",
      detail="digest mismatch")
def _(env: GatewayEnv) -> Call:
    def change(root: etree._Element) -> None:
        el = next(e for e in root.iter("{urn:hl7-org:v3}livingSubjectId"))
        el.find("{urn:hl7-org:v3}value").set("extension", patient(1).extension)
    return Call("xcpd", edited(xcpd0(env), change))


@case("message security: the same message again", "message-replay", element="wsa:MessageID")
def _(env: GatewayEnv) -> Call:
    sent = xcpd0(env)
    assert env.post("xcpd", sent).status == 200
    return Call("xcpd", sent)


@case("message security: two Timestamps", "timestamp")
def _(env: GatewayEnv) -> Call:
    def twice(root: etree._Element) -> None:
        sec = header(root).find(f"{{{WSSE}}}Security")
        ts = next(c for c in sec if etree.QName(c).localname == "Timestamp")
        copy = etree.fromstring(etree.tostring(ts))
        copy.attrib.clear()  # not the same wsu:Id (that is duplicate-id)
        sec.append(copy)
    return Call("xcpd", edited(xcpd0(env, sign=False), twice))


@case("message security: unsigned, from a peer whose trust-list entry signs",
      "message-signature-missing")
def _(env: GatewayEnv) -> Call:
    return Call("xcpd", xcpd0(env, sign=False), env=strict_pki(env))


@case("message security: no Timestamp, from a peer whose trust-list entry stamps",
      "timestamp-missing")
def _(env: GatewayEnv) -> Call:
    return Call("xcpd", xcpd0(env, sign=False, timestamp=False), env=strict_pki(env))


@case("message security: two message signatures", "multiple-signatures")
def _(env: GatewayEnv) -> Call:
    def twice(root: etree._Element) -> None:
        sig = message_signature(root)
        sig.getparent().append(etree.fromstring(etree.tostring(sig)))
    return Call("xcpd", edited(xcpd0(env), twice))


@case("signature: a Reference to another document", "external-reference")
def _(env: GatewayEnv) -> Call:
    def outside(root: etree._Element) -> None:
        message_signature(root).find(f".//{{{DS}}}Reference").set("URI", "file:///etc/passwd")
    return Call("xcpd", edited(xcpd0(env), outside))


@case("signature: a SHA-1 digest", "algorithm-not-allowed")
def _(env: GatewayEnv) -> Call:
    def sha1(root: etree._Element) -> None:
        message_signature(root).find(f".//{{{DS}}}DigestMethod").set(
            "Algorithm", "http://www.w3.org/2000/09/xmldsig#sha1")
    return Call("xcpd", edited(xcpd0(env), sha1))


@case("signature: a ds:Object in the signature", "malformed-signature")
def _(env: GatewayEnv) -> Call:
    def obj(root: etree._Element) -> None:
        etree.SubElement(message_signature(root), f"{{{DS}}}Object")
    return Call("xcpd", edited(xcpd0(env), obj))


@case("signature: a second element with a signed element's ID", "duplicate-id")
def _(env: GatewayEnv) -> Call:
    def dup(root: etree._Element) -> None:
        uri = message_signature(root).find(f".//{{{DS}}}Reference").get("URI")
        signed = next(e for e in root.iter() if uri[1:] in e.attrib.values())
        twin = etree.SubElement(header(root), "{urn:example:x}Twin")
        for name, value in signed.attrib.items():
            if value == uri[1:]:
                twin.set(name, value)
    return Call("xcpd", edited(xcpd0(env), dup))


@case("signature: no KeyInfo in the message signature", "no-certificate")
def _(env: GatewayEnv) -> Call:
    def drop(root: etree._Element) -> None:
        sig = message_signature(root)
        sig.remove(sig.find(f"{{{DS}}}KeyInfo"))
    return Call("xcpd", edited(xcpd0(env), drop))


# ------------------------------------------------------------------ the assertions

def _xcpd_with(env: GatewayEnv, assertions: list[etree._Element]) -> Sent:
    return env.be.send(env.be.envelope(xcpd_body(patient(0).extension), XCPD_ACTION,
                                       assertions))


@case("assertion: no HCP assertion", "assertion-missing", element="urn:ehdsi:assertions:hcp")
def _(env: GatewayEnv) -> Call:
    h = hcp(env)
    return Call("xcpd", _xcpd_with(env, [trc(env, patient(0), h.get("ID"))]))


@case("assertion: the HCP assertion changed after signing", "bad-signature",
      element="urn:ehdsi:assertions:hcp", detail="digest mismatch")
def _(env: GatewayEnv) -> Call:
    h = hcp(env)
    for value in h.iter(f"{{{SAML}}}AttributeValue"):
        if value.text == "UZ Leuven":
            value.text = "Another hospital"
    return Call("xcpd", _xcpd_with(env, [h]))


@case("assertion: signed by another country's signer (issuer trust)", "wrong-country",
      element="urn:ehdsi:assertions:hcp")
def _(env: GatewayEnv) -> Call:
    fr = load_credentials(env.pki / "fr" / "signing.key", env.pki / "fr" / "signing.pem")
    return Call("xcpd", xcpd0(env, assertions=env.be.assertions(None, with_trc=False,
                                                                signer=fr)))


@case("assertion: expired", "expired", element="urn:ehdsi:assertions:hcp")
def _(env: GatewayEnv) -> Call:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    return Call("xcpd", _xcpd_with(env, [hcp(env, now=old, lifetime=dt.timedelta(hours=1))]))


@case("assertion: not valid yet", "not-yet-valid", element="urn:ehdsi:assertions:hcp")
def _(env: GatewayEnv) -> Call:
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    return Call("xcpd", _xcpd_with(env, [hcp(env, now=soon)]))


@case("assertion: lives longer than 4 h", "lifetime", element="urn:ehdsi:assertions:hcp")
def _(env: GatewayEnv) -> Call:
    return Call("xcpd", _xcpd_with(env, [hcp(env, lifetime=dt.timedelta(hours=9))]))


@case("assertion: a role outside the eHDSI list", "role", element="urn:ehdsi:assertions:hcp")
def _(env: GatewayEnv) -> Call:
    return Call("xcpd", xcpd0(env, hcp=replace(DOCTOR, role_code="9629")))


@case("assertion: purpose of use", "purpose-of-use", element="urn:ehdsi:assertions:hcp")
def _(env: GatewayEnv) -> Call:
    return Call("xcpd", xcpd0(env, hcp=replace(DOCTOR, purpose_of_use="MARKETING")))


@case("assertion: one-factor authentication", "weak-authentication",
      element="urn:ehdsi:assertions:hcp")
def _(env: GatewayEnv) -> Call:
    weak = "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"
    return Call("xcpd", xcpd0(env, hcp=replace(DOCTOR, authn_context=weak)))


@case("assertion: without the transaction's permission", "permission",
      element="urn:ehdsi:assertions:hcp")
def _(env: GatewayEnv) -> Call:
    return Call("xcpd", xcpd0(env, hcp=replace(DOCTOR, permissions=frozenset({"PRD-004"}))))


@case("assertion: another assertion under a seen ID", "replay",
      element="urn:ehdsi:assertions:hcp")
def _(env: GatewayEnv) -> Call:
    same = f"_{uuid.uuid4()}"
    assert env.post("xcpd", _xcpd_with(env, [hcp(env, assertion_id=same)])).status == 200
    other = replace(DOCTOR, subject_id="someone.else@uzleuven.be")
    return Call("xcpd", _xcpd_with(env, [hcp(env, claims=other, assertion_id=same)]))


@case("assertion: TRC for another patient than the query", "patient-mismatch",
      element="urn:ehdsi:assertions:trc")
def _(env: GatewayEnv) -> Call:
    return Call("xca", env.be.query(patient(0), trc_patient=patient(1).cx))


@case("assertion: TRC not bound to the HCP assertion", "not-bound",
      element="urn:ehdsi:assertions:trc")
def _(env: GatewayEnv) -> Call:
    h = hcp(env)
    return Call("xca", env.be.query(patient(0), assertions=[
        h, trc(env, patient(0), f"_{uuid.uuid4()}")]))


@case("assertion: NoK not bound to the HCP assertion", "not-bound",
      element="urn:ehdsi:assertions:nok")
def _(env: GatewayEnv) -> Call:
    h = hcp(env)
    nok = build_nok_assertion(NokClaims(subject_id="nok@be.invalid",
                                        hcp_assertion_id=f"_{uuid.uuid4()}",
                                        first_name="Anne", family_name="Schmit"),
                              issuer="urn:initgw:BE:countryB", credentials=env.be.creds,
                              now=dt.datetime.now(dt.UTC), lifetime=dt.timedelta(hours=1))
    return Call("xca", env.be.query(patient(0), assertions=[
        nok, h, trc(env, patient(0), h.get("ID"))]))


@case("assertion: for another audience", "audience", element="urn:ehdsi:assertions:hcp")
def _(env: GatewayEnv) -> Call:
    def elsewhere(a: etree._Element) -> None:
        a.find(f".//{{{SAML}}}Audience").text = "urn:example:another-audience"
    return Call("xcpd", _xcpd_with(env, [resigned(env, hcp(env), elsewhere)]))


@case("assertion: SAML 1.1", "version", element="urn:ehdsi:assertions:hcp")
def _(env: GatewayEnv) -> Call:
    return Call("xcpd", _xcpd_with(env, [resigned(env, hcp(env),
                                                  lambda a: a.set("Version", "1.1"))]))


@case("assertion: issued in another country", "issuer-country",
      element="urn:ehdsi:assertions:hcp")
def _(env: GatewayEnv) -> Call:
    def french(a: etree._Element) -> None:
        a.find(f"{{{SAML}}}Issuer").text = "urn:idp:FR:countryB"
    return Call("xcpd", _xcpd_with(env, [resigned(env, hcp(env), french)]))


@case("assertion: no validity window", "conditions-missing",
      element="urn:ehdsi:assertions:hcp")
def _(env: GatewayEnv) -> Call:
    def drop(a: etree._Element) -> None:
        cond = a.find(f"{{{SAML}}}Conditions")
        for name in ("NotBefore", "NotOnOrAfter"):
            del cond.attrib[name]
    return Call("xcpd", _xcpd_with(env, [resigned(env, hcp(env), drop)]))


@case("assertion: another subject confirmation", "subject-confirmation",
      element="urn:ehdsi:assertions:hcp")
def _(env: GatewayEnv) -> Call:
    def holder_of_key(a: etree._Element) -> None:
        a.find(f".//{{{SAML}}}SubjectConfirmation").set(
            "Method", "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key")
    return Call("xcpd", _xcpd_with(env, [resigned(env, hcp(env), holder_of_key)]))


@case("assertion: of no eHDSI kind", "unknown-assertion-kind",
      element="urn:ehdsi:assertions:hcp")
def _(env: GatewayEnv) -> Call:
    def other(a: etree._Element) -> None:
        a.find(f"{{{SAML}}}Issuer").set("NameQualifier", "urn:example:assertions:x")
    return Call("xcpd", _xcpd_with(env, [resigned(env, hcp(env), other)]))


@case("assertion: no NameID", "malformed-assertion", element="urn:ehdsi:assertions:hcp")
def _(env: GatewayEnv) -> Call:
    def drop(a: etree._Element) -> None:
        subject = a.find(f"{{{SAML}}}Subject")
        subject.remove(subject.find(f"{{{SAML}}}NameID"))
    return Call("xcpd", _xcpd_with(env, [resigned(env, hcp(env), drop)]))


@case("assertion: two HCP assertions", "duplicate-assertion",
      element="urn:ehdsi:assertions:hcp")
def _(env: GatewayEnv) -> Call:
    return Call("xcpd", _xcpd_with(env, [hcp(env), hcp(env)]))


@case("assertion: a facility type outside the eHDSI list", "facility-type",
      element="urn:ehdsi:assertions:hcp")
def _(env: GatewayEnv) -> Call:
    return Call("xcpd", xcpd0(env, hcp=replace(DOCTOR, facility_type="Spa")))


@case("assertion: TRC NameID is another professional's", "not-bound",
      element="urn:ehdsi:assertions:trc", detail="another professional")
def _(env: GatewayEnv) -> Call:
    h = hcp(env)
    other = build_trc_assertion(TrcClaims(subject_id="someone.else@uzleuven.be",
                                          patient_id=patient(0).cx,
                                          hcp_assertion_id=h.get("ID")),
                                issuer="urn:initgw:BE:countryB", credentials=env.be.creds,
                                now=dt.datetime.now(dt.UTC), lifetime=dt.timedelta(hours=1))
    return Call("xca", env.be.query(patient(0), assertions=[h, other]))


@case("assertion: not signed", "signature-missing", element="urn:ehdsi:assertions:hcp")
def _(env: GatewayEnv) -> Call:
    h = hcp(env)
    h.remove(h.find(f"{{{DS}}}Signature"))
    return Call("xcpd", _xcpd_with(env, [h]))


@case("assertion: a TRC that is not a PreviousSession authentication", "authn-context",
      element="urn:ehdsi:assertions:trc")
def _(env: GatewayEnv) -> Call:
    h = hcp(env)

    def x509(a: etree._Element) -> None:
        a.find(f".//{{{SAML}}}AuthnContextClassRef").text = DOCTOR.authn_context
    return Call("xca", env.be.query(patient(0), assertions=[
        h, resigned(env, trc(env, patient(0), h.get("ID")), x509)]))


# ------------------------------------------------------------------ the request body

@case("body: XCPD query that does not validate against its schema", "schema", element="line",
      detail="unexpectedElement")
def _(env: GatewayEnv) -> Call:
    body = xcpd_body(patient(0).extension)
    etree.SubElement(body, "{urn:hl7-org:v3}unexpectedElement")
    return Call("xcpd", env.be.send(env.be.envelope(body, XCPD_ACTION,
                                                    env.be.assertions(None, with_trc=False))))


@case("body: a class code of no service we offer", "unsupported-service",
      element="$XDSDocumentEntryClassCode")
def _(env: GatewayEnv) -> Call:
    return Call("xca", env.be.query(patient(0), ClassCode.EDISPENSATION))


def _query_body(env: GatewayEnv, edit: Callable[[etree._Element], None]) -> Sent:
    from ncp.ihe import oids
    from ncp.ihe.codes import StatusType
    from ncp.ihe.rim import Coded as XdsCoded
    from ncp.ihe.xca import query

    pid = patient(0)
    q = query.FindDocumentsQuery(
        patient_id=pid, statuses=(StatusType.APPROVED,),
        class_codes=(XdsCoded(code=ClassCode.PATIENT_SUMMARY.value, scheme=oids.LOINC.value),))
    body = query.build_request(q)
    edit(body)
    return env.be.send(env.be.envelope(body, "urn:ihe:iti:2007:CrossGatewayQuery",
                                       env.be.assertions(pid)))


RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"


@case("body: a query for another community", "unknown-community",
      element="AdhocQuery/@home")
def _(env: GatewayEnv) -> Call:
    return Call("xca", _query_body(env, lambda b: b.find(f"{{{RIM}}}AdhocQuery").set(
        "home", "urn:oid:2.999.77")))


@case("body: an unknown stored query", "stored-query", element="AdhocQuery")
def _(env: GatewayEnv) -> Call:
    return Call("xca", _query_body(env, lambda b: b.find(f"{{{RIM}}}AdhocQuery").set(
        "id", "urn:uuid:00000000-0000-0000-0000-000000000000")))


@case("body: a patient id not in CX form", "patient-id", element="AdhocQuery")
def _(env: GatewayEnv) -> Call:
    def mangle(b: etree._Element) -> None:
        slot = next(s for s in b.iter(f"{{{RIM}}}Slot")
                    if s.get("name") == "$XDSDocumentEntryPatientId")
        slot.find(f"{{{RIM}}}ValueList/{{{RIM}}}Value").text = "'1968051421109'"
    return Call("xca", _query_body(env, mangle))


# ------------------------------------------------------------------ patient, consent, DSP

@case("patient: not one of ours", "unknown-patient", detail="identifier domain")
def _(env: GatewayEnv) -> Call:
    return Call("xca", env.be.query(PatientId(extension="123", root="2.999.1")))


@case("patient: discovery by demographics only", "demographics-only")
def _(env: GatewayEnv) -> Call:
    return Call("xcpd", env.be.xcpd(None, names=(xcpd.PersonName(family=("Schmit",)),)))


@case("patient: no cross-border consent", "no-consent")
def _(env: GatewayEnv) -> Call:
    return Call("xcpd", env.be.xcpd(patient(3).extension))


@case("patient: a closed DSP", "closed-dsp", detail="the DSP is closed")
def _(env: GatewayEnv) -> Call:
    return Call("xcpd", env.be.xcpd(patient(4).extension))


@case("volumes: one professional past the discovery limit", "volume-point-of-care")
def _(env: GatewayEnv) -> Call:
    limited = gateway(env, discovery_limit_per_professional=1)
    limited.post("xcpd", limited.be.xcpd(NOBODY))
    return Call("xcpd", xcpd0(limited), env=limited)


# ------------------------------------------------------------------ documents

@case("document: unknown", "unknown-document", element="2.25.1234567",
      detail="no such document")
def _(env: GatewayEnv) -> Call:
    return Call("xca", env.be.retrieve(patient(0), ["2.25.1234567"]))


@case("document: masked by the patient", "masked", element="2.25.", detail="masked by the patient")
def _(env: GatewayEnv) -> Call:
    masked = document_id(env, 0, "LU-HP-100006", DocumentType.IMAGING_REPORT)
    return Call("xca", env.be.retrieve(patient(0), [masked]))


@case("document: masked, beside one that is returned (PartialSuccess)", "masked",
      element="2.25.", detail="masked by the patient")
def _(env: GatewayEnv) -> Call:
    masked = document_id(env, 0, "LU-HP-100006", DocumentType.IMAGING_REPORT)
    lab = document_id(env, 0, "LU-HP-100005", DocumentType.LABORATORY_REPORT)
    return Call("xca", env.be.retrieve(patient(0), [masked, lab]))


@case("document: a Patient Summary for an eP-only pharmacist, beside their eP", "permission",
      element="2.25.", detail="PRD-")
def _(env: GatewayEnv) -> Call:
    ps = document_id(env, 0, "LU-HP-100001", DocumentType.PATIENT_SUMMARY)
    ep = document_id(env, 0, "LU-HP-100001", DocumentType.PRESCRIPTION)
    pharmacist = replace(PHARMACIST, permissions=frozenset({"PRD-004", "PRD-010"}))
    return Call("xca", env.be.retrieve(patient(0), [ps, ep], hcp=pharmacist))


@case("document: the warning that no document of the kind is shared", "no-original-document")
def _(env: GatewayEnv) -> Call:
    return Call("xca", env.be.query(patient(0), ClassCode.ORCD_IMAGING_REPORT))


def _set_document(env: GatewayEnv, unique_id: str, **values: object) -> None:
    from sqlalchemy import update

    from ncp.store.models import Document

    with env.records._sessions() as s, s.begin():
        s.execute(update(Document).where(Document.unique_id == unique_id).values(**values))


@case("document: restricted (confidentiality R)", "restricted", element="2.25.",
      detail="restricted")
def _(env: GatewayEnv) -> Call:
    lab = document_id(env, 0, "LU-HP-100005", DocumentType.LABORATORY_REPORT)
    _set_document(env, lab, confidentiality="R")
    return Call("xca", env.be.retrieve(patient(0), [lab]))


@case("document: the warning that the patient has no Patient Summary", "no-patient-summary")
def _(env: GatewayEnv) -> Call:
    _set_document(env, document_id(env, 5, "LU-HP-100001", DocumentType.PATIENT_SUMMARY),
                  is_current=False)
    return Call("xca", env.be.query(patient(5)))


@case("document: of a kind never shared across borders", "not-shared", element="2.25.",
      detail="not shared across borders")
def _(env: GatewayEnv) -> Call:
    from tests.gateway.conftest import PDF

    gp = env.records.professional_actor(env.records.professional_id("LU-HP-100001"))
    visit = env.records.add_document(gp, env.patient_db_id(0), doc_type="visit-report",
                                     title="Consultation", media_type="application/pdf",
                                     content=PDF)
    return Call("xca", env.be.retrieve(patient(0), [visit.unique_id]))


@case("document: a Patient Summary that cannot be transcoded", "transcoding",
      element=" /hl7:ClinicalDocument[1]/", detail="S9999")
# element: the document asked for (2.25...), a space, then the XPath of the unmapped code
def _(env: GatewayEnv) -> Call:
    records = env.records
    gp = records.professional_actor(records.professional_id("LU-HP-100001"))
    current = document_id(env, 0, "LU-HP-100001", DocumentType.PATIENT_SUMMARY)
    _, national = records.read_document(gp, current)
    broken, n = re.subn(rb'code="S0\d+"', b'code="S9999"', national, count=1)
    assert n == 1
    fixed = records.add_document(gp, env.patient_db_id(0), doc_type="patient-summary",
                                 title="Résumé patient", media_type="text/xml", content=broken,
                                 supersedes=current)
    return Call("xca", env.be.retrieve(patient(0), [fixed.unique_id]))


@case("document: an eP query where every prescription is cancelled", "no-eprescription")
def _(env: GatewayEnv) -> Call:
    from sqlalchemy import select, update

    from ncp.store.dispensing import PrescriptionStatus
    from ncp.store.models import Document, Prescription

    mine = select(Document.id).where(Document.patient_id == env.patient_db_id(0))
    with env.records._sessions() as s, s.begin():
        done = s.execute(update(Prescription).where(Prescription.document_id.in_(mine))
                         .values(status=PrescriptionStatus.CANCELLED.value))
        assert done.rowcount >= 1  # the demo patient had prescriptions: now none is listed
    return Call("xca", env.be.query(patient(0), ClassCode.EPRESCRIPTION, hcp=PHARMACIST))


@case("document: a stored ciphertext that fails its integrity check", "content-tampered",
      element="2.25.")
def _(env: GatewayEnv) -> Call:
    """A database writer flipped one byte of a sealed document (AES-GCM): the retrieve is
    refused as ours to investigate, and the peer gets no content. A new version is used so
    that no pivot of it is cached yet."""
    from sqlalchemy import select, update

    from ncp.store.models import Document

    records = env.records
    gp = records.professional_actor(records.professional_id("LU-HP-100001"))
    current = document_id(env, 0, "LU-HP-100001", DocumentType.PATIENT_SUMMARY)
    _, national = records.read_document(gp, current)
    fresh = records.add_document(gp, env.patient_db_id(0), doc_type="patient-summary",
                                 title="Résumé patient", media_type="text/xml",
                                 content=national, supersedes=current)
    with records._sessions() as s, s.begin():
        sealed = s.scalar(select(Document.ciphertext)
                          .where(Document.unique_id == fresh.unique_id))
        flipped = bytes([sealed[0] ^ 0x01]) + sealed[1:]
        s.execute(update(Document).where(Document.unique_id == fresh.unique_id)
                  .values(ciphertext=flipped))
    return Call("xca", env.be.retrieve(patient(0), [fresh.unique_id]))


@case("assertion: a retrieve whose TRC names no readable patient", "trc-assertion",
      element="urn:ehdsi:assertions:trc")
def _(env: GatewayEnv) -> Call:
    h = hcp(env)
    unreadable = build_trc_assertion(TrcClaims(subject_id=DOCTOR.subject_id,
                                               patient_id="not a patient id",
                                               hcp_assertion_id=h.get("ID")),
                                     issuer="urn:initgw:BE:countryB", credentials=env.be.creds,
                                     now=dt.datetime.now(dt.UTC), lifetime=dt.timedelta(hours=1))
    return Call("xca", env.be.retrieve(patient(0), ["2.25.1"], assertions=[h, unreadable]))


# ------------------------------------------------------------------ eDispensation

@case("eD: not an eDispensation", "invalid-dispensation", element="ClinicalDocument")
def _(env: GatewayEnv) -> Call:
    return Call("xdr", env.be.submit(patient(0), b"<notacda/>"))


@case("eD: more packages than prescribed", "not-dispensable")
def _(env: GatewayEnv) -> Call:
    _, ep, _ = pivot_ep(env)
    return Call("xdr", env.be.submit(patient(0), dispensation(ep, packages=99)))


@case("eD: a prescription already dispensed", "not-dispensable", detail="fully dispensed")
def _(env: GatewayEnv) -> Call:
    _, ep, rx = pivot_ep(env)
    from tests.gateway.test_xdr import state

    packages = state(env, rx).packages_prescribed
    assert env.post("xdr", env.be.submit(patient(0), dispensation(ep, packages=packages))
                    ).status == 200
    return Call("xdr", env.be.submit(patient(0), dispensation(ep, packages=1, number=2)))


@case("eD: fulfils no prescription of ours", "prescription-not-identifiable")
def _(env: GatewayEnv) -> Call:
    _, ep, _ = pivot_ep(env)
    foreign = ep.replace(b'root="1.3.182.11.5"', b'root="2.999.1"')
    return Call("xdr", env.be.submit(patient(0), dispensation(foreign)))


@case("eD: a discard by another organisation (discard binding)", "discard")
def _(env: GatewayEnv) -> Call:
    _, ep, _ = pivot_ep(env)
    ed = dispensation(ep, packages=1)
    assert env.post("xdr", env.be.submit(patient(0), ed)).status == 200
    other = replace(PHARMACIST, organisation="Apotheek Noord",
                    organisation_id="urn:oid:2.999.32.8")
    return Call("xdr", env.be.submit(patient(0), ed, discard=True, hcp=other))


@case("eD: a substitution the prescriber did not allow", "substitution")
def _(env: GatewayEnv) -> Call:
    _, ep, rx = pivot_ep(env, 1)
    from tests.gateway.test_xdr import state

    assert not state(env, rx).substitution_allowed  # the demo's Maria Da Silva's first eP
    return Call("xdr", env.be.submit(patient(1), dispensation(ep, substituted=True)))


@case("volumes: one patient past the discovery limit", "volume-patient")
def _(env: GatewayEnv) -> Call:
    limited = gateway(env, discovery_limit_per_patient=1)
    limited.post("xcpd", limited.be.xcpd(patient(0).extension))
    other = replace(DOCTOR, subject_id="jo.maes@uzleuven.be")
    return Call("xcpd", limited.be.xcpd(patient(0).extension, hcp=other), env=limited)


@case("volumes: one country past the discovery limit", "volume-peer")
def _(env: GatewayEnv) -> Call:
    limited = gateway(env, discovery_limit_per_peer=1)
    limited.post("xcpd", limited.be.xcpd(NOBODY))
    other = replace(DOCTOR, subject_id="jo.maes@uzleuven.be")
    return Call("xcpd", limited.be.xcpd(patient(0).extension, hcp=other), env=limited)


# ------------------------------------------------------------------ ours

@case("internal: the gateway itself fails", "internal-error", detail="RuntimeError")
def _(env: GatewayEnv) -> Call:
    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("database on fire")

    env.gateway.records.find_patient = broken  # type: ignore[method-assign]
    return Call("xcpd", xcpd0(env))


# ------------------------------------------------------------------ the test

_ID = re.compile(rb"error id ([0-9a-f]{32})")
_HEX = re.compile(r"\b([0-9a-f]{32})\b")


def error_id_of(body: bytes) -> str:
    """The error id as the peer reads it: in the SOAP fault reason or the XCPD AE text
    ("... (error id X)"), or in a RegistryError's attributes or text."""
    found = _ID.search(body)
    if found:
        return found.group(1).decode()
    start = body.find(b"<")
    root = etree.fromstring(body[start:body.rfind(b">") + 1]) if start >= 0 else None
    errors = [] if root is None else list(root.iter(
        "{urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0}RegistryError"))
    assert errors, body[:1500]
    for err in errors:
        for value in [*err.attrib.values(), err.text or ""]:
            hit = _HEX.search(value)
            if hit:
                return hit.group(1)
    pytest.fail("the answer carries no error id the peer could quote")


def explain(env: GatewayEnv, error_id: str, *args: str) -> str:
    runner = CliRunner()
    mp = pytest.MonkeyPatch()
    mp.setenv("NCP_DATABASE_URL", env.engine.url.render_as_string(hide_password=False))
    # and the key ring, as the operator runs it: a partial refusal's detail is sealed at rest
    mp.setenv("NCP_MASTER_KEYS", str(env.settings.master_keys))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["explain", error_id, *args])
    finally:
        mp.undo()
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("name", sorted(CASES), ids=lambda n: n)
def test_every_refusal_kind_is_explained_by_the_error_id_the_peer_got(
        env: GatewayEnv, name: str) -> None:
    provoke_and_explain(env, name)


@pytest.mark.parametrize("name", ["patient: a closed DSP",
                                  "document: masked, beside one that is returned "
                                  "(PartialSuccess)"])
def test_refusals_are_explained_on_both_databases(any_env: GatewayEnv, name: str) -> None:
    """A refusal's reason on its audit record, a per-document one in its own table."""
    provoke_and_explain(any_env, name)


def provoke_and_explain(env: GatewayEnv, name: str) -> None:
    c = CASES[name]
    call = c.build(env)
    target = call.env or env
    r = target.post(call.endpoint, call.sent, peer=call.peer, pem=call.pem)
    error_id = error_id_of(r.body)
    rule = RULES[c.check]
    lang = ("fr", "de", "en")[sorted(CASES).index(name) % 3]
    text = explain(target, error_id, "--lang", lang)
    assert error_id in text
    assert f"{c.check} ({rule.family})" in text, text
    assert rule.text(lang) in text and rule.spec in text, text
    data = json.loads(explain(target, error_id, "--json"))
    assert data["error_id"] == error_id and data["check"] == c.check, data
    assert data["rule"] == rule.en and data["source"] == rule.spec
    assert data["family"] == rule.family and data["transaction"]
    if c.element is None:
        assert data["element"] in (None, ""), data
    else:
        assert c.element in (data["element"] or ""), data
    assert c.detail in data["detail"], data
    assert data["peer"], data  # the requesting gateway, as the ATNA record names it


def test_over_https_with_the_command_as_an_operator_runs_it(env_factory) -> None:  # type: ignore[no-untyped-def]
    """The served gateway (uvicorn, mutual TLS) refuses; the operator runs ``ncp explain`` in
    its own process against the gateway's database."""
    import os
    import subprocess
    import sys

    from ncp.app import create_app
    from ncp.testing.server import free_port, running_server
    from tests.gateway.test_header_policy import Https

    env = env_factory(port=free_port())
    masked = document_id(env, 0, "LU-HP-100006", DocumentType.IMAGING_REPORT)
    lab = document_id(env, 0, "LU-HP-100005", DocumentType.LABORATORY_REPORT)
    with running_server(create_app(env.settings), env.settings) as url:
        peer = Https(url, env)
        try:
            closed = peer.post("xcpd", env.be.xcpd(patient(4).extension))
            partial = peer.post("xca", env.be.retrieve(patient(0), [masked, lab]))
        finally:
            peer.client.close()
    assert closed.status_code == 200 and partial.status_code == 200
    for answer, check in ((closed, "closed-dsp"), (partial, "masked")):
        error_id = error_id_of(answer.content)
        run = subprocess.run(
            [sys.executable, "-c", "from ncp.cli import app; app()", "explain", error_id,
             "--json"], capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT.parent),
                 "NCP_DATABASE_URL": env.engine.url.render_as_string(hide_password=False),
                 "NCP_MASTER_KEYS": str(env.settings.master_keys)})
        assert run.returncode == 0, run.stderr
        data = json.loads(run.stdout)
        assert data["check"] == check and data["rule"] == RULES[check].en, data
        assert "127.0.0.1" in data["peer"] and "C=BE" in data["peer"], data


# ------------------------------------------------------------------ the table is complete

ROOT = Path(ncp.__file__).parent
_SECURITY_ERRORS = {"SecurityError", "XmlSignatureError", "CertificateError", "AssertionInvalid",
                    "ReplayDetected", "MessageSecurityError"}


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text("utf-8"))) for p in sorted(ROOT.rglob("*.py"))]


def _reason_position(tree: ast.Module) -> dict[str, int]:
    """Helpers of a module that build a SecurityError: the index of their ``reason``."""
    helpers = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name.startswith("_"):
            names = [a.arg for a in node.args.args]
            builds = any(isinstance(n, ast.Call) and getattr(n.func, "id", "") in _SECURITY_ERRORS
                         for n in ast.walk(node))
            if "reason" in names and builds:
                helpers[node.name] = names.index("reason")
    return helpers


def security_checks() -> dict[str, list[str]]:
    """Every reason token a security check can raise, with where (found in the source)."""
    found: dict[str, list[str]] = {}
    for path, tree in _modules():
        positions = {name: 0 for name in _SECURITY_ERRORS} | _reason_position(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            at = positions.get(name or "")
            if at is None:
                continue
            arg = node.args[at] if len(node.args) > at else next(
                (k.value for k in node.keywords if k.arg == "reason"), None)
            where = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.setdefault(arg.value, []).append(where)
            else:  # only a pass-through of a reason already raised is allowed
                assert arg is not None and ast.unparse(arg) in ("reason", "exc.reason"), where
    return found


def explicit_checks() -> dict[str, list[str]]:
    """``check="..."`` given to the gateway's faults."""
    found: dict[str, list[str]] = {}
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg == "check" and isinstance(kw.value, ast.Constant) and \
                            isinstance(kw.value.value, str):
                        found.setdefault(kw.value.value, []).append(
                            f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    return found


def test_every_security_check_has_a_rule() -> None:
    checks = security_checks()
    assert len(checks) > 50  # the collector sees them (a broken collector finds nothing)
    missing = {c: w for c, w in checks.items() if c not in RULES}
    assert not missing, f"add these checks to ncp/gateway/reasons.toml: {missing}"


def test_every_explicit_fault_check_has_a_rule() -> None:
    from ncp.gateway.faults import TransportRefused

    checks = explicit_checks() | {TransportRefused().check: ["TransportRefused default"]}
    assert "no-client-certificate" in checks
    missing = {c: w for c, w in checks.items() if c not in RULES}
    assert not missing, f"add these checks to ncp/gateway/reasons.toml: {missing}"


def _all_subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub, *_all_subclasses(sub)}
    return out


def test_every_error_class_and_code_is_stored_under_a_check_with_a_rule() -> None:
    import importlib
    import pkgutil

    for info in pkgutil.walk_packages([str(ROOT)], "ncp."):
        if not info.name.endswith(("__main__", "migrations.env")) and ".migrations." \
                not in info.name:
            importlib.import_module(info.name)
    from ncp.security.errors import SecurityError

    unmapped = []
    for cls in sorted(_all_subclasses(NcpError), key=lambda c: c.__name__):
        if issubclass(cls, SecurityError) or cls.__module__.startswith("tests"):
            continue  # security errors are stored under their reason (above)
        names = [k.__name__ for k in cls.__mro__]
        if not any(n in ERROR_CHECKS for n in names) and not hasattr(cls, "check"):
            unmapped.append(f"{cls.__module__}.{cls.__name__}")
    assert not unmapped, f"add these classes to an entry's errors in reasons.toml: {unmapped}"
    for code in ErrorCode:
        check, _ = check_of(NcpError(code, "x"))
        assert check in RULES
        assert check != "internal-error" or code is ErrorCode.GENERIC, \
            f"add {code.name} to an entry's codes in reasons.toml"
    assert set(ERROR_CHECKS) <= {c.__name__ for c in _all_subclasses(NcpError)} | {
        "XmlInputError"}, "reasons.toml names an error class that does not exist"


def test_every_refusal_of_the_access_policy_has_a_rule() -> None:
    """The DSP's policy reasons (Decision(False, "...")) that reach a peer as 4701 or 4202."""
    tree = ast.parse((ROOT / "store" / "policy.py").read_text("utf-8"))
    reasons = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Decision" and \
                isinstance(node.args[0], ast.Constant) and node.args[0].value is False:
            arg = node.args[1]
            text = arg.value if isinstance(arg, ast.Constant) else "".join(
                v.value for v in getattr(arg, "values", ()) if isinstance(v, ast.Constant))
            reasons.append(text)
    assert len(reasons) > 8
    cross_border = [r for r in reasons if r.startswith(("the DSP is closed", "no consent",
                                                        "masked", "very restricted",
                                                        "restricted", "not shared",
                                                        "blocked"))]
    for reason in cross_border:
        check, _ = check_of(_denied(reason))
        assert check != "access-policy", reason
    assert {c for _p, c in POLICY_CHECKS} <= set(RULES)


def _denied(reason: str) -> NcpError:
    from ncp.store.errors import AccessDenied

    return AccessDenied(reason)


def test_a_reworded_refusal_is_stored_under_the_check_that_refused() -> None:
    """A closed DSP answered as 'no consent', hostile XML answered as an envelope fault: the
    check is the deeper one, the error id the one the peer got."""
    from ncp.soap.errors import EnvelopeError
    from ncp.store.errors import AccessDenied
    from ncp.xmlutil import XmlInputError, parse_xml

    try:
        try:
            raise AccessDenied("the DSP is closed")
        except AccessDenied:
            raise NcpError(ErrorCode.NO_CONSENT, "closed DSP or no consent") from None
    except NcpError as outer:
        assert check_of(outer)[0] == "closed-dsp"
    try:
        try:
            parse_xml(b"<!DOCTYPE x><x/>")
        except XmlInputError as exc:
            raise EnvelopeError(str(exc)) from None
    except EnvelopeError as outer:
        assert check_of(outer)[0] == "xml-input"
    # without a cause, the face's own check
    assert check_of(NcpError(ErrorCode.NO_CONSENT, "x"))[0] == "no-consent"


def test_the_rules_are_complete_in_three_languages() -> None:
    for check, rule in RULES.items():
        assert rule.spec and rule.family, check
        assert len({rule.fr, rule.de, rule.en}) == 3, check  # translated, not copied
        assert all(t.strip().endswith((".", ")", "?")) for t in (rule.fr, rule.de, rule.en)), \
            check


def test_the_operators_guide_lists_every_check() -> None:
    guide = (ROOT.parent / "docs" / "go-live.md").read_text("utf-8")
    missing = [check for check in RULES if f"`{check}`" not in guide]
    assert not missing, f"list these checks in docs/go-live.md: {missing}"
