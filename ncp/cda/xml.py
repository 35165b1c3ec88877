"""Small helpers to build CDA with lxml: namespaced elements, coded values, times, names.

XML is built element by element (never by string formatting); the helpers only keep the builders
short and the attribute order stable.
"""

from __future__ import annotations

import datetime as dt

from lxml import etree

from ncp.cda.model import Address, Coded, Person
from ncp.xmlutil import NS

HL7 = NS["hl7"]
PHARM = NS["pharm"]
XSI = NS["xsi"]
NSMAP = {None: HL7, "pharm": PHARM, "xsi": XSI}
XSI_TYPE = f"{{{XSI}}}type"


def el(parent: etree._Element | None, tag: str, attrib: dict[str, str] | None = None,
       text: str | None = None, *, ns: str = HL7) -> etree._Element:
    """A child ``tag`` of ``parent`` (or a new root) with the given attributes and text."""
    name = f"{{{ns}}}{tag}"
    node = (etree.Element(name, nsmap=NSMAP) if parent is None
            else etree.SubElement(parent, name))
    for key, value in (attrib or {}).items():
        node.set(key, value)
    if text is not None:
        node.text = text
    return node


def pharm(parent: etree._Element, tag: str, attrib: dict[str, str] | None = None,
          text: str | None = None) -> etree._Element:
    return el(parent, tag, attrib, text, ns=PHARM)


def coded(parent: etree._Element, tag: str, value: Coded, *, ns: str = HL7,
          xsi_type: str | None = None) -> etree._Element:
    attrib = {}
    if xsi_type:
        attrib[XSI_TYPE] = xsi_type
    attrib.update({"code": value.code, "codeSystem": value.system})
    if value.system_name:
        attrib["codeSystemName"] = value.system_name
    attrib["displayName"] = value.display
    return el(parent, tag, attrib, ns=ns)


def ts(value: dt.date | dt.datetime) -> str:
    """An HL7 TS: ``YYYYMMDD`` for a date, ``YYYYMMDDhhmmss+zzzz`` for an aware datetime."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("datetimes in CDA must be timezone-aware")
        return value.strftime("%Y%m%d%H%M%S%z")
    return value.strftime("%Y%m%d")


def ii(parent: etree._Element, root: str, extension: str | None = None,
       tag: str = "id") -> etree._Element:
    attrib = {"root": root}
    if extension:
        attrib["extension"] = extension
    return el(parent, tag, attrib)


def addr(parent: etree._Element, address: Address) -> etree._Element:
    node = el(parent, "addr")
    el(node, "streetAddressLine", text=address.street)
    el(node, "city", text=address.city)
    el(node, "postalCode", text=address.postal_code)
    el(node, "country", text=address.country)
    return node


def name(parent: etree._Element, person: Person) -> etree._Element:
    node = el(parent, "name")
    el(node, "family", text=person.family_name)
    el(node, "given", text=person.given_name)
    return node


def template(parent: etree._Element, *roots: str) -> None:
    for root in roots:
        el(parent, "templateId", {"root": root})
