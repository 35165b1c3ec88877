"""Strict reading and plain building helpers shared by the message models (private).

Readers raise the typed errors of :mod:`ncp.ihe.errors` with a location built from local names,
so a refusal says where the message was wrong without echoing its content.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Mapping
from urllib.parse import quote, unquote

from lxml import etree

from ncp.ihe.errors import InvalidValueError, MissingElementError, UnexpectedMessageError
from ncp.xmlutil import NS, qname

_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
#: HL7 V3 ``uid`` (datatypes-base.xsd): ``oid`` | ``uuid`` | ``ruid``, as the XSD patterns say.
_UID_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))*$")
_UID_UUID = re.compile(r"^[0-9a-zA-Z]{8}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{4}-"
                       r"[0-9a-zA-Z]{12}$")
_UID_RUID = re.compile(r"^[A-Za-z][A-Za-z0-9\-]*$")
#: No schema bounds a uid; a bound keeps hostile input out of logs and audit records.
MAX_UID = 256
_WS = re.compile(rb"\s+")


def where(el: etree._Element) -> str:
    """A short location of ``el``: its local-name path from the message root."""
    parts: list[str] = []
    node: etree._Element | None = el
    while node is not None:
        parts.append(etree.QName(node).localname)
        node = node.getparent()
    return "/" + "/".join(reversed(parts))


def expect_root(el: etree._Element, clark: str) -> None:
    """Refuse a body element that is not ``clark``."""
    if not isinstance(el.tag, str) or el.tag != clark:
        raise UnexpectedMessageError(f"expected {clark}, got {el.tag!r}", location=where(el))


def children(parent: etree._Element, clark: str) -> list[etree._Element]:
    """All element children named ``clark``, in document order."""
    return [c for c in parent.iterchildren(clark)]


def one(parent: etree._Element, clark: str) -> etree._Element:
    """The single child ``clark``: missing or repeated raises."""
    found = children(parent, clark)
    if not found:
        raise MissingElementError(f"missing {etree.QName(clark).localname}",
                                  location=where(parent))
    if len(found) > 1:
        raise InvalidValueError(f"{etree.QName(clark).localname} must occur once",
                                location=where(parent))
    return found[0]


def opt(parent: etree._Element, clark: str) -> etree._Element | None:
    """The child ``clark`` if present; repeated raises."""
    found = children(parent, clark)
    if len(found) > 1:
        raise InvalidValueError(f"{etree.QName(clark).localname} must occur at most once",
                                location=where(parent))
    return found[0] if found else None


def attr(el: etree._Element, name: str) -> str:
    """A required, non-blank attribute value (stripped)."""
    value = el.get(name)
    if value is None or not value.strip():
        raise MissingElementError(f"missing attribute {name}", location=where(el))
    return value.strip()


def opt_attr(el: etree._Element, name: str) -> str | None:
    """An optional attribute; a present but blank value counts as absent."""
    value = el.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def text(el: etree._Element) -> str:
    """The required, non-blank text of a simple element (stripped)."""
    value = el.text
    if value is None or not value.strip():
        raise MissingElementError("empty element", location=where(el))
    return value.strip()


def opt_text(el: etree._Element | None) -> str | None:
    if el is None or el.text is None or not el.text.strip():
        return None
    return el.text.strip()


def check_oid(value: str, el: etree._Element) -> str:
    """Refuse anything that is not a dotted-decimal OID."""
    if not _OID.match(value) or len(value) > 64:
        raise InvalidValueError("not an OID", location=where(el))
    return value


def is_uid(value: str) -> bool:
    """An HL7 V3 ``uid``: what ``II/@root`` may hold (OID, UUID or RUID).

    Why all three: live peers (the reference gateway, German and Danish gateways) write UUID
    message ids; the datatype allows them, so refusing them refuses lawful peers."""
    return len(value) <= MAX_UID and bool(
        _UID_OID.match(value) or _UID_UUID.match(value) or _UID_RUID.match(value))


def check_uid(value: str, el: etree._Element) -> str:
    """Refuse an ``II/@root`` the HL7 V3 ``uid`` datatype refuses."""
    if not is_uid(value):
        raise InvalidValueError("not an HL7 uid (OID, UUID or RUID)", location=where(el))
    return value


def is_oid(value: str) -> bool:
    return bool(_OID.match(value)) and len(value) <= 64


def sub(parent: etree._Element, prefix: str, local: str, attrib: Mapping[str, str] | None = None,
        text_value: str | None = None) -> etree._Element:
    """Append a child element ``prefix:local`` (a prefix of :data:`ncp.xmlutil.NS`)."""
    el = etree.SubElement(parent, qname(prefix, local), attrib=dict(attrib or {}))
    if text_value is not None:
        el.text = text_value
    return el


def root(prefix: str, local: str, nsmap: Mapping[str | None, str],
         attrib: Mapping[str, str] | None = None) -> etree._Element:
    """A new message root ``prefix:local`` declaring ``nsmap`` once."""
    return etree.Element(qname(prefix, local), attrib=dict(attrib or {}), nsmap=dict(nsmap))


def ns(*prefixes: str) -> dict[str | None, str]:
    return {p: NS[p] for p in prefixes}


# --- binary content: inline base64 or an XOP include ------------------------------------------

XOP_INCLUDE = qname("xop", "Include")


def cid_from_href(href: str) -> str:
    """The Content-ID a ``cid:`` URL names (RFC 2392: percent-encoded, no angle brackets)."""
    if not href.lower().startswith("cid:"):
        raise ValueError("not a cid: URL")
    return unquote(href[4:])


def read_binary(el: etree._Element, attachments: Mapping[str, bytes] | None) -> bytes:
    """The bytes of a base64Binary element, inline or via ``xop:Include`` (MTOM)."""
    elements = [c for c in el if isinstance(c.tag, str)]
    if elements:
        if len(elements) != 1 or elements[0].tag != XOP_INCLUDE or (el.text or "").strip():
            raise InvalidValueError("binary content must be base64 text or one xop:Include",
                                    location=where(el))
        include = elements[0]
        href = attr(include, "href")
        try:
            cid = cid_from_href(href)
        except ValueError:
            raise InvalidValueError("xop:Include href is not a cid: URL",
                                    location=where(include)) from None
        if attachments is None or cid not in attachments:
            raise MissingElementError("xop:Include refers to a missing MIME part",
                                      location=where(include))
        return attachments[cid]
    raw = _WS.sub(b"", (el.text or "").encode("ascii", "replace"))
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidValueError("invalid base64 content", location=where(el)) from None


def write_binary(el: etree._Element, data: bytes, attachments: dict[str, bytes] | None,
                 content_id: str | None = None) -> None:
    """Fill a base64Binary element: inline base64, or an ``xop:Include`` whose part is added
    to ``attachments`` (Content-ID -> bytes) when the caller collects attachments (MTOM)."""
    if attachments is None:
        el.text = base64.b64encode(data).decode("ascii")
        return
    cid = content_id or f"{uuid.uuid4().hex}@ncp.invalid"
    if cid in attachments:
        raise ValueError(f"duplicate Content-ID {cid}")
    attachments[cid] = data
    include = etree.SubElement(el, XOP_INCLUDE, nsmap={"xop": NS["xop"]})
    include.set("href", "cid:" + _quote_cid(cid))


def _quote_cid(cid: str) -> str:
    return quote(cid, safe="@.-_!$&'()*+,;=:~")
