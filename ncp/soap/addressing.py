"""WS-Addressing 1.0 (2005/08) message addressing properties of a SOAP 1.2 header.

Read strictly: each property at most once, Action always, MessageID on requests, ReplyTo/FaultTo
(when present) the anonymous address since every eHDSI exchange is synchronous, and RelatesTo
with the default reply relationship only.

``wsa:MessageID`` is an ``xs:anyURI`` that WS-Addressing 1.0 Core (3.2) asks to be unique, not a
``urn:uuid``: peers send ``urn:uuid:…`` (OpenNCP), ``uuid:…`` (Axis2, CXF) and ``http://…``
forms, all absolute IRIs and all accepted (issue 12 item 5). A relative reference, or one with
whitespace, is not an IRI and is refused. Our own messages always carry a ``urn:uuid``.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from lxml import etree

from ncp.soap.errors import (
    AddressingFault,
    MissingAddressingHeaderFault,
    OnlyAnonymousAddressFault,
)
from ncp.xmlutil import NS, qname

WSA = NS["wsa"]
ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"
NONE_ADDRESS = "http://www.w3.org/2005/08/addressing/none"
REPLY = "http://www.w3.org/2005/08/addressing/reply"
FAULT_ACTION = "http://www.w3.org/2005/08/addressing/soap/fault"
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")
_UUID_URN = re.compile(r"^urn:uuid:[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")

#: Header blocks this layer processes (for the mustUnderstand check).
ADDRESSING_HEADERS = frozenset(
    qname("wsa", n) for n in ("Action", "MessageID", "To", "ReplyTo", "FaultTo", "From",
                              "RelatesTo"))


def new_message_id() -> str:
    """A fresh ``urn:uuid:`` message id."""
    return f"urn:uuid:{uuid.uuid4()}"


def is_uuid_urn(value: str) -> bool:
    return bool(_UUID_URN.match(value))


@dataclass(frozen=True, kw_only=True, slots=True)
class Addressing:
    """The addressing properties of one message."""

    action: str
    message_id: str | None = None
    to: str | None = None
    relates_to: str | None = None
    reply_to: str | None = None
    fault_to: str | None = None
    from_address: str | None = None


def _one(header: etree._Element, local: str) -> etree._Element | None:
    found = header.findall(qname("wsa", local))
    if len(found) > 1:
        raise AddressingFault(f"wsa:{local} repeated")
    return found[0] if found else None


def _uri(el: etree._Element | None, local: str) -> str | None:
    if el is None:
        return None
    value = (el.text or "").strip()
    if not _URI.match(value) or len(value) > 2048:
        raise AddressingFault(f"wsa:{local} is not an absolute URI")
    return value


def _address(el: etree._Element | None, local: str) -> str | None:
    if el is None:
        return None
    addresses = el.findall(qname("wsa", "Address"))
    if len(addresses) != 1:
        raise AddressingFault(f"wsa:{local} needs one wsa:Address")
    return _uri(addresses[0], "Address")


def read_addressing(header: etree._Element | None, *, require_message_id: bool) -> Addressing:
    """Read the addressing properties; raise an :class:`AddressingFault` when invalid."""
    if header is None:
        raise MissingAddressingHeaderFault("no SOAP header")
    action = _uri(_one(header, "Action"), "Action")
    if action is None:
        raise MissingAddressingHeaderFault("wsa:Action missing")
    message_id = _uri(_one(header, "MessageID"), "MessageID")
    if require_message_id and message_id is None:
        raise MissingAddressingHeaderFault("wsa:MessageID missing")
    relates = _one(header, "RelatesTo")
    if relates is not None and relates.get("RelationshipType", REPLY) != REPLY:
        raise AddressingFault("only the reply relationship is supported")
    reply_to = _address(_one(header, "ReplyTo"), "ReplyTo")
    fault_to = _address(_one(header, "FaultTo"), "FaultTo")
    for value in (reply_to, fault_to):
        if value is not None and value not in (ANONYMOUS, NONE_ADDRESS):
            raise OnlyAnonymousAddressFault("non-anonymous reply address")
    return Addressing(action=action, message_id=message_id, to=_uri(_one(header, "To"), "To"),
                      relates_to=_uri(relates, "RelatesTo"), reply_to=reply_to,
                      fault_to=fault_to, from_address=_address(_one(header, "From"), "From"))


def write_addressing(header: etree._Element, a: Addressing) -> None:
    """Append the addressing headers of ``a``; wsa:Action is marked mustUnderstand."""
    soap_mu = qname("soap", "mustUnderstand")
    action = etree.SubElement(header, qname("wsa", "Action"), {soap_mu: "true"})
    action.text = a.action
    if a.message_id is not None:
        etree.SubElement(header, qname("wsa", "MessageID")).text = a.message_id
    if a.relates_to is not None:
        etree.SubElement(header, qname("wsa", "RelatesTo")).text = a.relates_to
    if a.reply_to is not None:
        reply = etree.SubElement(header, qname("wsa", "ReplyTo"))
        etree.SubElement(reply, qname("wsa", "Address")).text = a.reply_to
    if a.to is not None:
        etree.SubElement(header, qname("wsa", "To")).text = a.to
