"""HL7 v3 data types as XCPD uses them: II, PN, AD, TS and the gender code."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from ncp.ihe import _xml as x
from ncp.ihe.errors import InvalidValueError
from ncp.ihe.identifiers import II
from ncp.xmlutil import qname

#: HL7 TS: YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]
_TS = re.compile(r"^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,4})?)?)?)?)?)?([+-]\d{4})?$")
#: HL7 AdministrativeGender (2.16.840.1.113883.5.1)
GENDERS = frozenset({"M", "F", "UN"})


def H(local: str) -> str:
    """Clark name in the HL7 v3 namespace."""
    return qname("hl7", local)


def read_ii(el: etree._Element, *, extension_required: bool = False) -> II:
    """An ``II`` whose root is an HL7 ``uid`` (OID, UUID or RUID); ``nullFlavor`` identifiers
    are refused. ``@root`` alone is a whole identifier (HL7 V3 II)."""
    root = x.check_uid(x.attr(el, "root"), el)
    ext = x.opt_attr(el, "extension")
    if extension_required and ext is None:
        raise InvalidValueError("identifier without extension", location=x.where(el))
    return II(root=root, extension=ext)


def write_ii(parent: etree._Element, local: str, ii: II) -> etree._Element:
    el = x.sub(parent, "hl7", local, {"root": ii.root})
    if ii.extension is not None:
        el.set("extension", ii.extension)
    return el


def check_ts(value: str, el: etree._Element | None = None) -> str:
    if not _TS.match(value):
        raise InvalidValueError("not an HL7 TS date/time",
                                location=x.where(el) if el is not None else "")
    return value


def check_gender(value: str, el: etree._Element | None = None) -> str:
    if value not in GENDERS:
        raise InvalidValueError("administrative gender is not M, F or UN",
                                location=x.where(el) if el is not None else "")
    return value


@dataclass(frozen=True, kw_only=True, slots=True)
class PersonName:
    """A person name (HL7 PN); parts keep their order within each kind."""

    family: tuple[str, ...] = ()
    given: tuple[str, ...] = ()
    prefix: tuple[str, ...] = ()
    suffix: tuple[str, ...] = ()

    @classmethod
    def read(cls, el: etree._Element) -> PersonName:
        def parts(local: str) -> tuple[str, ...]:
            return tuple(t for c in x.children(el, H(local)) if (t := x.opt_text(c)))

        name = cls(family=parts("family"), given=parts("given"), prefix=parts("prefix"),
                   suffix=parts("suffix"))
        if not name.family and not name.given:
            raise InvalidValueError("name has neither family nor given part",
                                    location=x.where(el))
        return name

    def write(self, parent: etree._Element, local: str) -> etree._Element:
        el = x.sub(parent, "hl7", local)
        for kind in ("prefix", "family", "given", "suffix"):
            for part in getattr(self, kind):
                x.sub(el, "hl7", kind, text_value=part)
        return el


#: Address parts after the street lines, in the order we write them.
_AD_PARTS = {"city": "city", "postal_code": "postalCode", "state": "state", "country": "country"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Address:
    """A postal address (HL7 AD)."""

    street_address_lines: tuple[str, ...] = ()
    city: str | None = None
    postal_code: str | None = None
    state: str | None = None
    country: str | None = None

    @classmethod
    def read(cls, el: etree._Element) -> Address:
        lines = tuple(t for c in x.children(el, H("streetAddressLine")) if (t := x.opt_text(c)))
        values = {k: x.opt_text(x.opt(el, H(local))) for k, local in _AD_PARTS.items()}
        return cls(street_address_lines=lines, **values)

    def write(self, parent: etree._Element, local: str = "addr") -> etree._Element:
        el = x.sub(parent, "hl7", local)
        for line in self.street_address_lines:
            x.sub(el, "hl7", "streetAddressLine", text_value=line)
        for key, local_name in _AD_PARTS.items():
            value = getattr(self, key)
            if value is not None:
                x.sub(el, "hl7", local_name, text_value=value)
        return el
