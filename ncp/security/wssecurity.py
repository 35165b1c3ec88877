"""WS-Security 1.1 for SOAP 1.2 messages: the ``wsse:Security`` header, signing and verifying.

Outgoing: :func:`build_security_header` puts the assertions and a ``wsu:Timestamp`` into the
header; :func:`sign_envelope` signs the Body, the Timestamp and every WS-Addressing header with
exclusive c14n, the certificate travelling as a ``wsse:BinarySecurityToken``.

Incoming: :func:`verify_envelope` checks, strictly and in this order, the envelope shape (one
Header, one Body, one ``wsse:Security``), unique IDs, the timestamp, and the message signature:
it must cover the real Body, the Timestamp and every WS-Addressing header, and its signer must
chain to the TLS peer's country. What it returns (:class:`VerifiedMessage`) are those very
elements, never a look-alike elsewhere in the document.

Timestamp and message signature are optional by default: the reference gateway (OpenNCP) and
the Danish samples send a ``wsse:Security`` holding only the signed assertions, IHE XUA requires
only the signed assertion, and WS-Security 1.1 makes the Timestamp optional. When present, each
is verified strictly (expired, badly signed, wrapped: refused). The policy required of a peer is
the global floor (:class:`WsSecurityPolicy`, ``NCP_REQUIRE_*``) or'ed with its country's entry of
the trust list (``require_message_signature``, ``require_timestamp``); the assertions are always
verified one by one by :mod:`ncp.security.validation` (docs/security.md).
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from lxml import etree

from ncp.errors import ErrorCode
from ncp.security.errors import (
    AssertionInvalid,
    CertificateError,
    MessageSecurityError,
    XmlSignatureError,
)
from ncp.security.keys import SigningCredentials
from ncp.security.saml import AssertionReader, format_instant, parse_instant
from ncp.security.truststore import Purpose, TrustStore
from ncp.security.xmldsig import (
    WSU_ID,
    decode_base64,
    index_ids,
    inspect_signature,
    key_info_certificate,
    parse_certificate,
    sign_references,
    verify_signature,
)
from ncp.xmlutil import NS, parse_xml

__all__ = [
    "VerifiedMessage",
    "WsSecurityPolicy",
    "build_security_header",
    "sign_envelope",
    "verify_envelope",
    "verify_message",
]

SOAP = NS["soap"]
WSSE = NS["wsse"]
WSU = NS["wsu"]
WSA = NS["wsa"]
DS = NS["ds"]
X509V3 = ("http://docs.oasis-open.org/wss/2004/01/"
          "oasis-200401-wss-x509-token-profile-1.0#X509v3")
BASE64_BINARY = ("http://docs.oasis-open.org/wss/2004/01/"
                 "oasis-200401-wss-soap-message-security-1.0#Base64Binary")


@dataclass(frozen=True, kw_only=True, slots=True)
class WsSecurityPolicy:
    """What an incoming WS-Security header must satisfy, for every peer (the global floor).

    ``require_message_signature``: refuse messages whose Body/Timestamp/addressing headers are
    not signed. Off by default: peers that sign only their assertions (OpenNCP) are lawful;
    mutual TLS binds the message to the peer in transit. ``require_timestamp``: refuse
    messages without ``wsu:Timestamp``; off by default (the assertion lifetimes and the
    MessageID replay check bound a replay). A peer's trust-list entry can require either.
    """

    require_message_signature: bool = False
    require_timestamp: bool = False

    def for_peer(self, trust: TrustStore, country: str) -> WsSecurityPolicy:
        """This floor, raised by ``country``'s entry of the trust list."""
        entry = trust.trust_list.countries.get(country.upper())
        if entry is None:
            return self
        signature = self.require_message_signature or entry.require_message_signature
        timestamp = self.require_timestamp or entry.require_timestamp
        if (signature, timestamp) == (self.require_message_signature, self.require_timestamp):
            return self
        return WsSecurityPolicy(require_message_signature=signature, require_timestamp=timestamp,
                                max_clock_skew=self.max_clock_skew,
                                max_message_age=self.max_message_age)
    max_clock_skew: dt.timedelta = dt.timedelta(seconds=60)
    max_message_age: dt.timedelta = dt.timedelta(minutes=5)


@dataclass(frozen=True, kw_only=True, slots=True)
class VerifiedMessage:
    """The parts of a verified message a gateway may rely on."""

    envelope: etree._Element
    header: etree._Element
    body: etree._Element
    security: etree._Element
    assertions: tuple[etree._Element, ...]
    message_signed: bool
    signer: x509.Certificate | None
    created: dt.datetime | None
    expires: dt.datetime | None
    message_id: str | None
    action: str | None
    #: The ID index of ``envelope`` (unique IDs, checked), made once for the message signature
    #: and reused for the assertions' (same unmodified tree).
    ids: Mapping[str, etree._Element] = field(default_factory=dict, compare=False)
    #: Reads each assertion of this message at most once (see :class:`AssertionReader`).
    read_assertion: AssertionReader = field(default_factory=AssertionReader, compare=False)


def _q(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}"


def _refuse(reason: str, detail: str = "", *, error: ErrorCode = ErrorCode.GENERIC,
            fault: str = "wsse:InvalidSecurity") -> MessageSecurityError:
    return MessageSecurityError(reason, detail, error=error, fault=fault)


def _parts(envelope: etree._Element) -> tuple[etree._Element, etree._Element]:
    if envelope.tag != _q(SOAP, "Envelope"):
        raise _refuse("not-soap12", "the root is not a SOAP 1.2 Envelope")
    children = [c for c in envelope if isinstance(c.tag, str)]
    if [c.tag for c in children] != [_q(SOAP, "Header"), _q(SOAP, "Body")]:
        raise _refuse("envelope-shape", "expected exactly one Header followed by one Body")
    return children[0], children[1]


def _security(header: etree._Element) -> etree._Element:
    found = header.findall(_q(WSSE, "Security"))
    if len(found) != 1:
        raise _refuse("security-header", f"expected one wsse:Security header, found {len(found)}",
                      error=ErrorCode.NO_SIGNATURE if not found else ErrorCode.GENERIC)
    return found[0]


# --- outgoing -----------------------------------------------------------------------------------

def build_security_header(
    envelope: etree._Element,
    *,
    assertions: Sequence[etree._Element] = (),
    now: dt.datetime,
    ttl: dt.timedelta = dt.timedelta(minutes=5),
) -> etree._Element:
    """Add ``wsse:Security`` (Timestamp, then the assertions, moved as they are) to the header.

    The header is *not* marked ``mustUnderstand``: the reference gateway (OpenNCP on Axis2)
    engages no WS-Security module, so Axis2 answers a MustUnderstand fault to any
    unprocessed header marked so; its own clients and the live peers never mark it. A
    receiver that processes WS-Security reads the header all the same (SOAP 1.2 part 1,
    5.2.3: mustUnderstand only forbids *ignoring* a block)."""
    if envelope.tag != _q(SOAP, "Envelope"):
        raise ValueError("not a SOAP 1.2 envelope")
    header = envelope.find(_q(SOAP, "Header"))
    if header is None:
        header = etree.Element(_q(SOAP, "Header"))
        envelope.insert(0, header)
    if header.find(_q(WSSE, "Security")) is not None:
        raise ValueError("the envelope already has a wsse:Security header")
    sec = etree.SubElement(header, _q(WSSE, "Security"), nsmap={"wsse": WSSE, "wsu": WSU})
    ts = etree.SubElement(sec, _q(WSU, "Timestamp"))
    ts.set(WSU_ID, f"TS-{uuid.uuid4()}")
    etree.SubElement(ts, _q(WSU, "Created")).text = format_instant(now)
    etree.SubElement(ts, _q(WSU, "Expires")).text = format_instant(now + ttl)
    for assertion in assertions:
        sec.append(assertion)
    return sec


def _ensure_id(el: etree._Element, value: str) -> None:
    if el.get(WSU_ID) is None and el.get("ID") is None and el.get("Id") is None:
        el.set(WSU_ID, value)


def sign_envelope(envelope: etree._Element, credentials: SigningCredentials) -> etree._Element:
    """Sign Body, Timestamp and WS-Addressing headers; returns the ``ds:Signature``."""
    header, body = _parts(envelope)
    sec = _security(header)
    targets = [el for el in header if isinstance(el.tag, str) and el.tag.startswith(f"{{{WSA}}}")]
    ts = sec.find(_q(WSU, "Timestamp"))
    if ts is not None:
        targets.append(ts)
    targets.append(body)
    # One random UUID per signature, numbered per element: unique in the document all the same
    # (a UUID per element cost more than the rest of the ID handling).
    unique = uuid.uuid4()
    for n, el in enumerate(targets, start=1):
        _ensure_id(el, f"id-{unique}-{n}")
    bst = etree.Element(_q(WSSE, "BinarySecurityToken"))
    bst_id = f"X509-{unique}"
    bst.set(WSU_ID, bst_id)
    bst.set("EncodingType", BASE64_BINARY)
    bst.set("ValueType", X509V3)
    bst.text = base64.b64encode(credentials.certificate_der).decode("ascii")
    sec.insert(1 if ts is not None else 0, bst)
    key_info = etree.Element(_q(DS, "KeyInfo"), nsmap={"ds": DS})
    str_el = etree.SubElement(key_info, _q(WSSE, "SecurityTokenReference"))
    etree.SubElement(str_el, _q(WSSE, "Reference"), URI="#" + bst_id, ValueType=X509V3)
    return sign_references(sec, targets, credentials, key_info=key_info)


# --- incoming -----------------------------------------------------------------------------------

def _timestamp(sec: etree._Element, policy: WsSecurityPolicy,
               now: dt.datetime) -> tuple[etree._Element | None, dt.datetime | None,
                                          dt.datetime | None]:
    stamps = sec.findall(_q(WSU, "Timestamp"))
    if len(stamps) > 1:
        raise _refuse("timestamp", "more than one wsu:Timestamp")
    if not stamps:
        if policy.require_timestamp:
            raise _refuse("timestamp-missing", "wsu:Timestamp is required")
        return None, None, None
    ts = stamps[0]
    created_el = ts.findall(_q(WSU, "Created"))
    expires_el = ts.findall(_q(WSU, "Expires"))
    if len(created_el) != 1 or len(expires_el) > 1:
        raise _refuse("timestamp", "a Timestamp has one Created and at most one Expires")
    try:
        created = parse_instant(created_el[0].text, "Created")
        expires = parse_instant(expires_el[0].text, "Expires") if expires_el else None
    except AssertionInvalid:  # raised by the shared dateTime parser: re-label for the message
        raise _refuse("timestamp", "malformed Created/Expires") from None
    skew = policy.max_clock_skew
    if created > now + skew:
        raise _refuse("timestamp-future", "the message was created in the future",
                      fault="wsse:MessageExpired")
    if now - created > policy.max_message_age + skew:
        raise _refuse("timestamp-expired", "the message is too old", fault="wsse:MessageExpired")
    if expires is not None and (expires <= created or now - skew >= expires):
        raise _refuse("timestamp-expired", "the message has expired", fault="wsse:MessageExpired")
    return ts, created, expires


def _signer_certificate(key_info: etree._Element | None, sec: etree._Element,
                        ids: dict[str, etree._Element]) -> bytes:
    """The certificate named by KeyInfo: a BinarySecurityToken in this header, or X509Data."""
    if key_info is None:
        raise _refuse("no-certificate", "the message signature has no KeyInfo")
    strs = key_info.findall(_q(WSSE, "SecurityTokenReference"))
    if not strs:
        return key_info_certificate(key_info)
    refs = strs[0].findall(_q(WSSE, "Reference"))
    # Count elements only: a comment inside KeyInfo is lawful XML (issue 12 item 8).
    if len(strs) != 1 or len(refs) != 1 or \
            sum(1 for c in key_info if isinstance(c.tag, str)) != 1:
        raise _refuse("no-certificate", "expected one SecurityTokenReference with one Reference")
    uri = refs[0].get("URI") or ""
    if not uri.startswith("#"):
        raise _refuse("external-reference", f"token reference {uri!r} is not same-document")
    token = ids.get(uri[1:])
    if token is None or token.tag != _q(WSSE, "BinarySecurityToken") \
            or token.getparent() is not sec:
        raise _refuse("no-certificate", "the token reference does not name a token of this header")
    if token.get("ValueType") != X509V3:
        raise _refuse("no-certificate", "the security token is not an X.509 v3 certificate")
    return decode_base64(token.text)


def verify_envelope(
    envelope: etree._Element,
    *,
    trust: TrustStore,
    peer_country: str,
    now: dt.datetime,
    policy: WsSecurityPolicy | None = None,
    signer_pin: Callable[[str, x509.Certificate], None] | None = None,
) -> VerifiedMessage:
    """Verify an incoming SOAP 1.2 envelope's WS-Security header (see the module docstring).

    ``signer_pin(country, signer)``: a further check of the message signer once the trust list
    accepted it (the peers directory's registered gateway); raises CertificateError."""
    policy = (policy or WsSecurityPolicy()).for_peer(trust, peer_country)
    header, body = _parts(envelope)
    sec = _security(header)
    try:
        ids = index_ids(envelope)
    except XmlSignatureError as exc:
        raise _refuse(exc.reason, exc.detail) from None
    ts, created, expires = _timestamp(sec, policy, now)
    wsa_headers = [el for el in header
                   if isinstance(el.tag, str) and el.tag.startswith(f"{{{WSA}}}")]
    signatures = sec.findall(_q(DS, "Signature"))
    signer: x509.Certificate | None = None
    if len(signatures) > 1:
        raise _refuse("multiple-signatures", "more than one message signature")
    if not signatures:
        if policy.require_message_signature:
            raise _refuse("message-signature-missing", "the message is not signed",
                          error=ErrorCode.NO_SIGNATURE)
    else:
        try:
            shape = inspect_signature(signatures[0])
        except XmlSignatureError as exc:
            raise _refuse(exc.reason, exc.detail, error=ErrorCode.NO_SIGNATURE) from None
        if any(shape.enveloped):
            raise _refuse("coverage", "a message signature is not enveloped")
        covered = [ids.get(ref) for ref in shape.reference_ids]
        required = [body, *wsa_headers] + ([ts] if ts is not None else [])
        if any(el is None for el in covered):
            raise _refuse("dangling-reference", "a reference names no element")
        for el in covered:
            if not any(el is r for r in required):
                raise _refuse("coverage", f"the signature covers an unexpected {el.tag}")
        for el in required:
            if not any(el is c for c in covered):
                raise _refuse("coverage", f"{el.tag} is not covered by the message signature",
                              error=ErrorCode.NO_SIGNATURE)
        try:
            der = _signer_certificate(shape.key_info, sec, ids)
            signer = parse_certificate(der)
            trust.validate(signer, country=peer_country, purpose=Purpose.SIGNING, now=now)
            if signer_pin is not None:  # the gateway the peers directory registers
                signer_pin(peer_country.upper(), signer)
            verify_signature(shape, ids=ids, certificate_der=der)
        except CertificateError as exc:
            raise _refuse(exc.reason, exc.detail, fault="wsse:SecurityTokenUnavailable") from None
        except XmlSignatureError as exc:
            raise _refuse(exc.reason, exc.detail, error=ErrorCode.NO_SIGNATURE,
                          fault="wsse:FailedCheck") from None
    assertions = tuple(c for c in sec if c.tag == _q(NS["saml"], "Assertion"))

    def _first_text(local: str) -> str | None:
        found = [el for el in wsa_headers if el.tag == _q(WSA, local)]
        if len(found) > 1:
            raise _refuse("addressing", f"more than one wsa:{local}")
        return (found[0].text or "").strip() if found else None

    return VerifiedMessage(
        envelope=envelope, header=header, body=body, security=sec, assertions=assertions,
        message_signed=bool(signatures), signer=signer, created=created, expires=expires,
        message_id=_first_text("MessageID"), action=_first_text("Action"), ids=ids)


def verify_message(
    data: bytes,
    *,
    trust: TrustStore,
    peer_country: str,
    now: dt.datetime,
    policy: WsSecurityPolicy | None = None,
    max_bytes: int | None = None,
) -> VerifiedMessage:
    """Parse ``data`` with the safe parser, then :func:`verify_envelope`."""
    kwargs = {"max_bytes": max_bytes} if max_bytes is not None else {}
    return verify_envelope(parse_xml(data, **kwargs), trust=trust, peer_country=peer_country,
                           now=now, policy=policy)
