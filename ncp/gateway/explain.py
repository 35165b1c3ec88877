"""``ncp explain --message FILE``: the responding gateway's inbound checks, offline.

"Your gateway refused our message" is usually answered by exchanging dumps for days. Given the
captured request (SOAP, or the whole MTOM body with its Content-Type), this runs the checks of
:mod:`ncp.gateway.pipeline` in their order and prints each verdict, **with no side effect**: the
replay cache is an in-memory one thrown away afterwards, nothing is stored, nothing is audited,
no answer is built or signed. What the checks say is what the gateway would say; where a
signature's digest does not match, the exclusive-c14n form of the referenced element is shown
with the usual causes, and for an untrusted signer the chain found and the anchors expected.

Steps: ``parse`` (size limit, safe XML, MTOM split), ``addressing`` (action, MessageID,
transaction), ``tls-peer`` (with ``--peer-cert``; otherwise the country is taken from
``--country`` or from the assertions' issuer), ``ws-security`` (Timestamp, message signature),
``body`` (the verified Body holds the request; XSD), ``ihe`` (the transaction's parse), and
``assertions`` (HCP/TRC/NoK rules, signatures, trust, replay within this message).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from dataclasses import dataclass, field

from cryptography import x509
from lxml import etree

from ncp import soap
from ncp.errors import NcpError
from ncp.ihe import registry, schemas
from ncp.security.errors import SecurityError
from ncp.security.replay import InMemoryReplayCache
from ncp.security.service import MessageSecurity
from ncp.security.wssecurity import VerifiedMessage, WsSecurityPolicy
from ncp.settings import Settings

__all__ = ["Check", "Explanation", "explain_message"]

_SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
_DS = "http://www.w3.org/2000/09/xmldsig#"
_REF = re.compile(r"#([A-Za-z_][\w.\-]*)")
_COUNTRY_IN_ISSUER = re.compile(r"^urn:(?:idp|initgw):([A-Za-z]{2}):")

#: What usually breaks a digest between the signer and us.
DIGEST_CAUSES = (
    "the signed element was re-indented or pretty-printed after signing (whitespace is signed)",
    "namespace declarations moved: an ancestor's prefix used inside the signed element is not "
    "declared on it, or was declared differently when it was signed (exclusive c14n only "
    "carries the prefixes used inside, unless InclusiveNamespaces PrefixList names them)",
    "an InclusiveNamespaces PrefixList that differs from the one used when signing",
    "the message was re-serialised by a proxy or a SOAP stack (attributes, encoding, line ends)",
    "an assertion copied into the header by string concatenation with another XML declaration "
    "or encoding",
)


@dataclass(frozen=True, slots=True)
class Check:
    step: str
    ok: bool
    detail: str
    extra: tuple[str, ...] = ()


@dataclass(slots=True)
class Explanation:
    checks: list[Check] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def text(self) -> str:
        lines = []
        for c in self.checks:
            lines.append(f"{'ok  ' if c.ok else 'FAIL'}  {c.step:12} {c.detail}")
            lines.extend(f"      {'':12} {x}" for x in c.extra)
        lines.append("the gateway would accept this message" if self.accepted else
                     "the gateway would refuse this message at the first FAIL above")
        return "\n".join(lines)


def _c14n_of(envelope: etree._Element, ref_id: str) -> tuple[str, ...]:
    for el in envelope.iter():
        if not isinstance(el.tag, str):
            continue
        if ref_id in (el.get("ID"), el.get("Id"), el.get(
                "{http://docs.oasis-open.org/wss/2004/01/"
                "oasis-200401-wss-wssecurity-utility-1.0.xsd}Id")):
            copy = etree.fromstring(etree.tostring(el))
            for sig in copy.findall(f".//{{{_DS}}}Signature"):
                if sig.getparent() is copy:  # the enveloped-signature transform
                    copy.remove(sig)
            form = etree.tostring(copy, method="c14n", exclusive=True).decode()
            shown = form if len(form) <= 4000 else form[:4000] + " …"
            return ("exclusive c14n of #" + ref_id + " as we compute it:", shown,
                    "usual causes:", *(f"- {c}" for c in DIGEST_CAUSES))
    return (f"no element with the id {ref_id} in the message",)


def _signer_chain(envelope: etree._Element) -> tuple[str, ...]:
    certs = []
    for value in envelope.iter(f"{{{_DS}}}X509Certificate"):
        try:
            cert = x509.load_der_x509_certificate(base64.b64decode(value.text or ""))
        except ValueError:
            continue
        certs.append(f"certificate in the message: subject {cert.subject.rfc4514_string()}, "
                     f"issuer {cert.issuer.rfc4514_string()}, valid "
                     f"{cert.not_valid_before_utc:%Y-%m-%d} to "
                     f"{cert.not_valid_after_utc:%Y-%m-%d}")
    return tuple(certs)


def _explain_error(step: str, exc: NcpError, envelope: etree._Element | None) -> Check:
    detail = f"{exc.error.code} {exc.detail}" + (f" (at {exc.location})"
                                                 if getattr(exc, "location", "") else "")
    extra: tuple[str, ...] = ()
    if envelope is not None and "digest mismatch" in exc.detail:
        found = _REF.search(exc.detail)
        if found:
            extra = _c14n_of(envelope, found.group(1))
    elif envelope is not None and any(k in exc.detail for k in (
            "untrusted", "issuer", "anchor", "not-trusted", "chain")):
        extra = _signer_chain(envelope)
        extra += ("expected: a chain to one of the anchors the trust list names for the "
                  "peer's country (ncp pki list)",)
    return Check(step, False, detail, extra)


def _issuer_country(envelope: etree._Element) -> str | None:
    for issuer in envelope.iter(f"{{{_SAML}}}Issuer"):
        found = _COUNTRY_IN_ISSUER.match((issuer.text or "").strip())
        if found:
            return found.group(1).upper()
    return None


def explain_message(settings: Settings, data: bytes, content_type: str, *,
                    now: dt.datetime, peer_certificate_der: bytes | None = None,
                    country: str | None = None) -> Explanation:
    """Run the inbound checks on one captured request; nothing is written anywhere."""
    from ncp.gateway.iti38 import CrossGatewayQuery
    from ncp.gateway.iti39 import CrossGatewayRetrieve
    from ncp.gateway.iti41 import ProvideAndRegister
    from ncp.gateway.iti55 import PatientDiscovery

    handlers = {"ITI-55": PatientDiscovery(), "ITI-38": CrossGatewayQuery(),
                "ITI-39": CrossGatewayRetrieve(), "ITI-41": ProvideAndRegister()}
    out = Explanation()
    add = out.checks.append
    security = MessageSecurity.from_settings(
        settings, None, replay=InMemoryReplayCache(),
        wss_policy=WsSecurityPolicy(require_message_signature=settings.require_message_signature,
                                    require_timestamp=settings.require_timestamp))
    try:
        msg = soap.parse_request(data, content_type, max_bytes=settings.max_request_bytes)
    except soap.SoapFault as fault:
        add(Check("parse", False, f"{type(fault).__name__}: {fault.detail}"))
        return out
    form = f" MTOM with {len(msg.attachments)} part(s)" if msg.mtom else ""
    add(Check("parse", True, f"SOAP 1.2{form}, {len(data):,} bytes"))
    try:
        tx: registry.Transaction = soap.transaction_for(msg)
    except soap.SoapFault as fault:
        add(Check("addressing", False, f"{type(fault).__name__}: {fault.detail}"))
        return out
    add(Check("addressing", True, f"{tx.iti} ({msg.addressing.action}), MessageID "
              f"{msg.message_id}"))
    if peer_certificate_der is not None:
        try:
            country = security.peer_country(peer_certificate_der, now=now)
        except SecurityError as exc:
            add(_explain_error("tls-peer", exc, None))
            return out
        add(Check("tls-peer", True, f"client certificate of {country}"))
    else:
        country = (country or _issuer_country(msg.envelope) or "").upper()
        if not country:
            add(Check("tls-peer", False, "no client certificate and no country: give "
                      "--peer-cert or --country"))
            return out
        add(Check("tls-peer", True, f"not checked offline; assumed country {country}"))
    envelope = msg.envelope
    if msg.mtom and msg.attachments:
        envelope = soap.reconstitute(msg.envelope, msg.attachments)
    try:
        verified: VerifiedMessage = security.verify_request(envelope, peer_country=country,
                                                            now=now)
    except SecurityError as exc:
        add(_explain_error("ws-security", exc, envelope))
        return out
    present = [part for part, there in (("message signature", verified.message_signed),
                                        ("timestamp", verified.created is not None)) if there]
    add(Check("ws-security", True, "header verified: " + ", ".join(
        [*present, f"{len(verified.assertions)} assertion(s)"])))
    children = [c for c in verified.body if isinstance(c.tag, str)]
    if len(children) != 1 or children[0].tag != tx.request_root:
        add(Check("body", False, "the verified Body does not hold the request"))
        return out
    body_el = children[0]
    handler = handlers[tx.iti]
    try:
        schemas.validate_body(body_el, handler.transaction, "request")
        add(Check("body", True, f"{etree.QName(body_el).localname} valid against its XSD"))
        request = handler.parse(body_el)
        subject = handler.subject(request, verified)
        service = subject.service.value if subject.service else "-"
        who = getattr(subject.patient, "cx", subject.patient) or "-"
        add(Check("ihe", True, f"{tx.iti}: service {service}, patient {who}"))
    except NcpError as exc:
        step = "ihe" if any(c.step == "body" for c in out.checks) else "body"
        add(_explain_error(step, exc, envelope))
        return out
    try:
        identity = security.identify(verified, transaction=subject.security_transaction,
                                     patient_id=subject.patient, peer_country=country,
                                     now=now)
    except NcpError as exc:
        add(_explain_error("assertions", exc, envelope))
        return out
    hcp = identity.hcp
    add(Check("assertions", True, f"HCP {hcp.subject_id} (role {hcp.role_code}, "
              f"{hcp.purpose_of_use})" + (f", TRC for {identity.trc.patient_id.cx}"
                                          if identity.trc is not None else "")))
    return out
