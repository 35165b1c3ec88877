"""SOAP 1.2 messages in and out: bytes + Content-Type <-> envelope elements.

Reading (:func:`parse_request`, :func:`parse_response`):
size limit -> Content-Type (``application/soap+xml`` or MTOM ``multipart/related`` with an
``application/xop+xml`` root) -> the safe parser :func:`ncp.xmlutil.parse_xml` -> envelope shape
(SOAP 1.2 namespace, optional Header, one Body holding one element, no processing instructions)
-> mustUnderstand -> WS-Addressing -> the Content-Type ``action`` agreeing with ``wsa:Action``
-> every ``xop:Include`` naming a MIME part. Any failure is a :class:`~ncp.soap.errors.SoapFault`.

The parsed tree is never modified or re-serialized: the WS-Security layer verifies the exact
elements exposed here (``envelope``, ``header``, ``body``), and ``raw_envelope`` keeps the bytes.

Writing: :func:`build_envelope` makes the envelope element (so a signer can add ``wsse:Security``
and sign it), :func:`serialize` turns it into bytes and a Content-Type, as inline XML or as MTOM;
:func:`build_response`, :func:`build_request` and :func:`build_fault` do both in one call.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from lxml import etree

from ncp.errors import NcpError
from ncp.soap import mime, xop
from ncp.soap.addressing import (
    ADDRESSING_HEADERS,
    ANONYMOUS,
    FAULT_ACTION,
    Addressing,
    new_message_id,
    read_addressing,
    write_addressing,
)
from ncp.soap.errors import (
    ActionMismatchFault,
    EnvelopeError,
    MediaTypeError,
    MultipartError,
    MustUnderstandFault,
    RequestTooLargeError,
    SoapFault,
    VersionMismatchFault,
)
from ncp.xmlutil import NS, XmlInputError, parse_xml, qname

SOAP12 = NS["soap"]
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_MEDIA = "application/soap+xml"
XOP_MEDIA = "application/xop+xml"
_ROLE_NEXT = "http://www.w3.org/2003/05/soap-envelope/role/next"
_ROLE_ULTIMATE = "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver"

#: Header blocks understood by default: WS-Addressing here, wsse:Security in ncp.security.
DEFAULT_UNDERSTOOD = frozenset({*ADDRESSING_HEADERS, qname("wsse", "Security")})


@dataclass(frozen=True, kw_only=True)
class SoapMessage:
    """A received SOAP 1.2 message, checked and split; nothing in it has been re-serialized."""

    envelope: etree._Element
    header: etree._Element | None
    body: etree._Element
    #: The single child of ``soap:Body`` (the IHE request or response).
    body_element: etree._Element
    addressing: Addressing
    #: MIME parts other than the root, by Content-ID (without ``<>``); empty without MTOM.
    attachments: Mapping[str, bytes] = field(default_factory=lambda: MappingProxyType({}))
    mtom: bool = False
    #: The envelope's bytes exactly as received (the root MIME part with MTOM).
    raw_envelope: bytes = b""
    content_type: str = ""
    #: The ``action`` parameter of the Content-Type, when the sender gave one.
    http_action: str | None = None

    @property
    def action(self) -> str:
        return self.addressing.action

    @property
    def message_id(self) -> str | None:
        return self.addressing.message_id

    @property
    def relates_to(self) -> str | None:
        return self.addressing.relates_to

    def reconstituted_body_element(self) -> etree._Element:
        """A copy of the body element with ``xop:Include`` replaced by base64 (for schema
        validation; the original stays as received)."""
        if not self.attachments:
            return self.body_element
        return xop.reconstitute(self.body_element, self.attachments)


# --- reading -----------------------------------------------------------------------------------

def _action_of(ct: mime.ContentType | None) -> str | None:
    return ct.get("action") if ct is not None else None


def _unpack(body: bytes, content_type: str, max_parts: int
            ) -> tuple[bytes, dict[str, bytes], bool, str | None]:
    """(envelope bytes, attachments, mtom?, Content-Type action) of an HTTP body."""
    try:
        ct = mime.parse_content_type(content_type)
    except MultipartError:
        raise MediaTypeError("unparsable Content-Type") from None
    if ct.media_type == "text/xml":
        raise VersionMismatchFault("text/xml is the SOAP 1.1 binding")
    if ct.media_type == SOAP_MEDIA:
        _check_charset(ct)
        return body, {}, False, _action_of(ct)
    if ct.media_type != "multipart/related":
        raise MediaTypeError(f"media type {ct.media_type}")
    if (ct.get("type") or "").lower() != XOP_MEDIA:
        raise MediaTypeError("multipart/related without type=application/xop+xml")
    boundary = ct.get("boundary")
    if not boundary:
        raise MultipartError("multipart/related without boundary")
    parts = mime.parse_multipart(body, boundary, max_parts=max_parts)
    start = ct.get("start")
    if start is not None:
        start_id = start.strip().removeprefix("<").removesuffix(">")
        roots = [p for p in parts if p.content_id == start_id]
        if len(roots) != 1:
            raise MultipartError("the start part is missing")
        root = roots[0]
    else:
        root = parts[0]
    root_ct = root.content_type
    if root_ct.media_type != XOP_MEDIA:
        raise MultipartError("the root part is not application/xop+xml")
    _check_charset(root_ct)
    inner = root_ct.get("type")
    if inner is None or mime.parse_content_type(inner).media_type != SOAP_MEDIA:
        raise MultipartError("the root part does not carry application/soap+xml")
    attachments: dict[str, bytes] = {}
    for part in parts:
        if part is root:
            continue
        cid = part.content_id
        if cid is None:
            raise MultipartError("a MIME part has no Content-ID")
        if cid in attachments:
            raise MultipartError("Content-ID repeated")
        attachments[cid] = part.content
    actions = {a for a in (_action_of(ct), _action_of(mime.parse_content_type(inner)),
                           _start_info_action(ct)) if a is not None}
    if len(actions) > 1:
        raise ActionMismatchFault("the Content-Type actions disagree")
    return root.content, attachments, True, next(iter(actions), None)


def _start_info_action(ct: mime.ContentType) -> str | None:
    info = ct.get("start-info")
    if not info:
        return None
    try:
        return mime.parse_content_type(info).get("action")
    except MultipartError:
        raise MultipartError("malformed start-info") from None


def _check_charset(ct: mime.ContentType) -> None:
    charset = ct.get("charset")
    if charset is not None and charset.lower() not in ("utf-8", "utf8"):
        raise MediaTypeError("only UTF-8 is accepted")


def _check_envelope(envelope: etree._Element) -> tuple[etree._Element | None, etree._Element,
                                                       etree._Element]:
    tag = etree.QName(envelope)
    if tag.namespace == SOAP11 and tag.localname == "Envelope":
        raise VersionMismatchFault("SOAP 1.1 envelope")
    if tag.localname != "Envelope":
        raise EnvelopeError("the root is not an Envelope")
    if tag.namespace != SOAP12:
        raise VersionMismatchFault("unknown envelope namespace")
    prolog = [*envelope.itersiblings(preceding=True), *envelope.itersiblings()]
    # iter(ProcessingInstruction) filters in C: no Python object per element of the message.
    if any(isinstance(node, etree._ProcessingInstruction) for node in prolog) or \
            next(envelope.iter(etree.ProcessingInstruction), None) is not None:
        raise EnvelopeError("processing instructions are not allowed in SOAP")
    kids = [c for c in envelope if isinstance(c.tag, str)]
    if (envelope.text or "").strip() or any((c.tail or "").strip() for c in envelope):
        raise EnvelopeError("text content in Envelope")
    header = None
    if kids and kids[0].tag == qname("soap", "Header"):
        header = kids.pop(0)
    if len(kids) != 1 or kids[0].tag != qname("soap", "Body"):
        raise EnvelopeError("an Envelope holds an optional Header and exactly one Body")
    body = kids[0]
    content = [c for c in body if isinstance(c.tag, str)]
    if len(content) != 1 or (body.text or "").strip() or any((c.tail or "").strip()
                                                             for c in body):
        raise EnvelopeError("the Body must hold exactly one element")
    return header, body, content[0]


def _check_must_understand(header: etree._Element | None, understood: frozenset[str]) -> None:
    if header is None:
        return
    mu_attr = qname("soap", "mustUnderstand")
    missing = []
    for block in header:
        if not isinstance(block.tag, str):
            continue
        mu = block.get(mu_attr)
        if mu is None:
            continue
        if mu not in ("true", "false", "1", "0"):
            raise EnvelopeError("mustUnderstand is not a boolean")
        role = block.get(qname("soap", "role"))
        targeted = role in (None, _ROLE_NEXT, _ROLE_ULTIMATE)
        if mu in ("true", "1") and targeted and block.tag not in understood:
            missing.append(block.tag)
    if missing:
        raise MustUnderstandFault("headers not understood", not_understood=tuple(missing))


def _parse(body: bytes, content_type: str, *, max_bytes: int, understood: frozenset[str],
           max_parts: int, request: bool) -> SoapMessage:
    if len(body) > max_bytes:
        raise RequestTooLargeError(f"{len(body)} bytes > {max_bytes}")
    raw, attachments, mtom, http_action = _unpack(body, content_type, max_parts)
    try:
        envelope = parse_xml(raw, max_bytes=max_bytes)
    except XmlInputError as exc:
        raise EnvelopeError(str(exc)) from None
    header, soap_body, body_element = _check_envelope(envelope)
    _check_must_understand(header, understood)
    addressing = read_addressing(header, require_message_id=request)
    if not request and addressing.relates_to is None:
        raise EnvelopeError("a response needs wsa:RelatesTo")
    if http_action is not None and http_action != addressing.action:
        raise ActionMismatchFault("Content-Type action differs from wsa:Action")
    if mtom:
        xop.check_includes(envelope, attachments)
    elif any(True for _ in xop.includes(envelope)):
        raise EnvelopeError("xop:Include outside an MTOM package")
    return SoapMessage(envelope=envelope, header=header, body=soap_body,
                       body_element=body_element, addressing=addressing,
                       attachments=MappingProxyType(attachments), mtom=mtom, raw_envelope=raw,
                       content_type=content_type, http_action=http_action)


def parse_request(body: bytes, content_type: str, *, max_bytes: int,
                  understood: frozenset[str] = DEFAULT_UNDERSTOOD,
                  max_parts: int = mime.MAX_PARTS) -> SoapMessage:
    """Read a SOAP 1.2 request (``wsa:Action`` and a ``wsa:MessageID``, an absolute IRI, required).

    ``max_bytes`` is the whole HTTP body's limit (``settings.max_request_bytes``)."""
    return _parse(body, content_type, max_bytes=max_bytes, understood=understood,
                  max_parts=max_parts, request=True)


def parse_response(body: bytes, content_type: str, *, max_bytes: int,
                   understood: frozenset[str] = DEFAULT_UNDERSTOOD,
                   max_parts: int = mime.MAX_PARTS) -> SoapMessage:
    """Read a SOAP 1.2 response (``wsa:Action`` and ``wsa:RelatesTo`` required)."""
    return _parse(body, content_type, max_bytes=max_bytes, understood=understood,
                  max_parts=max_parts, request=False)


# --- writing -----------------------------------------------------------------------------------

def build_envelope(body_element: etree._Element, *, action: str, message_id: str | None = None,
                   relates_to: str | None = None, to: str | None = None,
                   reply_to: str | None = None,
                   headers: Iterable[etree._Element] = ()) -> etree._Element:
    """A SOAP 1.2 envelope around ``body_element`` (which is moved into it), with the
    WS-Addressing headers and any extra ``headers`` after them. A new ``urn:uuid`` MessageID
    is made when none is given."""
    envelope = etree.Element(qname("soap", "Envelope"),
                             nsmap={"soap": NS["soap"], "wsa": NS["wsa"]})
    header = etree.SubElement(envelope, qname("soap", "Header"))
    write_addressing(header, Addressing(action=action,
                                        message_id=message_id or new_message_id(),
                                        relates_to=relates_to, to=to, reply_to=reply_to))
    for h in headers:
        header.append(h)
    body = etree.SubElement(envelope, qname("soap", "Body"))
    body.append(body_element)
    return envelope


def envelope_action(envelope: etree._Element) -> str:
    action = envelope.find(f"{qname('soap', 'Header')}/{qname('wsa', 'Action')}")
    if action is None or not (action.text or "").strip():
        raise ValueError("the envelope has no wsa:Action")
    return action.text.strip()


def serialize(envelope: etree._Element, *, attachments: Mapping[str, bytes] | None = None,
              mtom: bool = False,
              attachment_types: Mapping[str, str] | None = None) -> tuple[bytes, str]:
    """The HTTP body and Content-Type of ``envelope``: inline ``application/soap+xml``, or
    with ``mtom`` a ``multipart/related`` package whose root part is the envelope and whose
    other parts are ``attachments`` (Content-ID -> bytes, as filled by the model builders)."""
    action = envelope_action(envelope)
    xml = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    attachments = attachments or {}
    if not mtom:
        if attachments:
            raise ValueError("attachments need mtom=True")
        ct = mime.format_content_type(SOAP_MEDIA, {"charset": "UTF-8", "action": action})
        return xml, ct
    xop.check_includes(envelope, attachments)
    soap_type = mime.format_content_type(SOAP_MEDIA, {"action": action})
    root_id = f"root.{uuid.uuid4().hex}@ncp.invalid"
    parts: list[tuple[Mapping[str, str], bytes]] = [(
        {"Content-Type": mime.format_content_type(XOP_MEDIA, {"charset": "UTF-8",
                                                              "type": soap_type}),
         "Content-Transfer-Encoding": "binary",
         "Content-ID": f"<{root_id}>"}, xml)]
    types = attachment_types or {}
    for cid, data in attachments.items():
        parts.append(({"Content-Type": types.get(cid, "application/octet-stream"),
                       "Content-Transfer-Encoding": "binary",
                       "Content-ID": f"<{cid}>"}, data))
    boundary = f"MIMEBoundary_{uuid.uuid4().hex}"
    body = mime.build_multipart(parts, boundary)
    # As Axis2 clients write it: the action is a top-level parameter and start-info is bare.
    # Axis2 takes the *first* "action" substring of the raw header as the SOAP action and
    # faults ActionMismatch when it differs from wsa:Action; inside start-info it would read
    # the escaped form (\"urn:...\"), which never matches. Our own reader accepts both forms.
    ct = mime.format_content_type("multipart/related", {
        "boundary": boundary, "type": XOP_MEDIA, "start": f"<{root_id}>",
        "start-info": SOAP_MEDIA, "action": action})
    return body, ct


def build_response(body_element: etree._Element, *, request: SoapMessage, action: str,
                   attachments: Mapping[str, bytes] | None = None,
                   mtom: bool | None = None,
                   headers: Iterable[etree._Element] = ()) -> tuple[bytes, str]:
    """Envelope + serialization of a response to ``request`` (RelatesTo its MessageID).
    MTOM is used when ``mtom`` is true, or by default when there are attachments."""
    envelope = build_envelope(body_element, action=action, relates_to=request.message_id,
                              headers=headers)
    use_mtom = bool(attachments) if mtom is None else mtom
    return serialize(envelope, attachments=attachments, mtom=use_mtom)


def build_request(body_element: etree._Element, *, action: str, to: str,
                  attachments: Mapping[str, bytes] | None = None, mtom: bool | None = None,
                  headers: Iterable[etree._Element] = ()) -> tuple[bytes, str, str]:
    """Envelope + serialization of a request; returns (body, Content-Type, MessageID)."""
    message_id = new_message_id()
    envelope = build_envelope(body_element, action=action, message_id=message_id, to=to,
                              reply_to=ANONYMOUS, headers=headers)
    use_mtom = bool(attachments) if mtom is None else mtom
    data, ct = serialize(envelope, attachments=attachments, mtom=use_mtom)
    return data, ct, message_id


def fault_envelope(error: NcpError, *, relates_to: str | None = None) -> etree._Element:
    """The SOAP 1.2 Fault envelope for ``error``. A :class:`SoapFault` gives its code, subcodes
    and fixed reason; any other error is a Receiver fault with the error code's standard text.
    The reason ends with the error id, the handle to our logs."""
    if isinstance(error, SoapFault):
        code, subcodes, reason = error.code, error.subcodes, error.reason
    else:
        code, subcodes, reason = "Receiver", (), error.error.text
    nsmap = {"soap": NS["soap"], "wsa": NS["wsa"]}
    envelope = etree.Element(qname("soap", "Envelope"), nsmap=nsmap)
    header = etree.SubElement(envelope, qname("soap", "Header"))
    write_addressing(header, Addressing(action=FAULT_ACTION, message_id=new_message_id(),
                                        relates_to=relates_to))
    if isinstance(error, MustUnderstandFault):
        for clark in error.not_understood:
            q = etree.QName(clark)
            nu = etree.SubElement(header, qname("soap", "NotUnderstood"),
                                  nsmap={"nu": q.namespace} if q.namespace else None)
            nu.set("qname", f"nu:{q.localname}" if q.namespace else q.localname)
    body = etree.SubElement(envelope, qname("soap", "Body"))
    fault = etree.SubElement(body, qname("soap", "Fault"))
    code_el = etree.SubElement(fault, qname("soap", "Code"))
    etree.SubElement(code_el, qname("soap", "Value")).text = f"soap:{code}"
    parent = code_el
    in_scope = {uri: prefix for prefix, uri in nsmap.items()}
    for sub in subcodes:
        parent = etree.SubElement(parent, qname("soap", "Subcode"))
        q = etree.QName(sub)
        if q.namespace in in_scope:
            value = etree.SubElement(parent, qname("soap", "Value"))
            value.text = f"{in_scope[q.namespace]}:{q.localname}"
        else:
            value = etree.SubElement(parent, qname("soap", "Value"), nsmap={"sc": q.namespace})
            value.text = f"sc:{q.localname}"
    reason_el = etree.SubElement(fault, qname("soap", "Reason"))
    text = etree.SubElement(reason_el, qname("soap", "Text"))
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = f"{reason} (error id {error.error_id})"
    return envelope


def build_fault(error: NcpError, *, relates_to: str | None = None) -> tuple[bytes, str, int]:
    """(HTTP body, Content-Type, HTTP status) of the fault answering ``error``."""
    status = error.http_status if isinstance(error, SoapFault) else 500
    data, ct = serialize(fault_envelope(error, relates_to=relates_to))
    return data, ct, status
