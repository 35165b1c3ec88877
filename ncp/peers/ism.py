"""International Search Masks: which identifiers and traits a country asks for to find a patient.

Each eHDSI country publishes its mask (as an SMP record,
``urn:ehealth:ISM::InternationalSearchMask``, or as the older stand-alone
``InternationalSearch_<CC>.xml`` form). Two layouts exist:

* the current one, namespace ``http://ec.europa.eu/sante/ehncp/ism``: ``ism:country`` with
  ``ism:patientSearch`` holding ``ism:identifier/ism:id`` (domain = assigning authority OID,
  ``format`` a regular expression, ``mandatory``) and trait fields such as ``ism:birthDate``,
  and ``ism:documentSearch`` (e.g. the ePrescription id domain);
* the legacy one: ``patientSearch/country/searchFields`` with ``id`` (domain, min/max length),
  ``textField`` (``friendlyName`` surname/givenName...), ``birthDate``, ``sex``, and
  ``validation`` groups (each group lists fields that must all be filled; any group suffices).

The portal builds its search form from :class:`SearchMask` and checks the input with
:meth:`SearchMask.check` before any message leaves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from ncp.xmlutil import XmlInputError, parse_xml

__all__ = ["IsmError", "SearchField", "SearchMask", "parse_search_mask"]

ISM = "http://ec.europa.eu/sante/ehncp/ism"

#: Field kinds the portal knows how to ask for and put into an XCPD query.
KINDS = ("id", "family", "given", "birth_date", "gender")
_TEXT_KINDS = {"surname": "family", "familyname": "family", "family": "family",
               "givenname": "given", "given": "given", "firstname": "given"}


class IsmError(ValueError):
    """The mask is unreadable, or the input does not satisfy it (``key``: a message key)."""

    def __init__(self, key: str, detail: str = "", *, field_name: str = "") -> None:
        super().__init__(detail or key)
        self.key = key
        self.detail = detail
        self.field_name = field_name


@dataclass(frozen=True, slots=True)
class SearchField:
    """One input of the search form. ``name`` is unique within the mask (form field name)."""

    name: str
    kind: str
    label: str
    domain: str | None = None
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    mandatory: bool = False
    description: str = ""

    def check(self, value: str) -> None:
        if self.kind == "birth_date":
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise IsmError("xb.error.birth_date", field_name=self.name)
            return
        if self.kind == "gender":
            if value not in ("M", "F", "UN"):
                raise IsmError("xb.error.gender", field_name=self.name)
            return
        if self.pattern and not re.fullmatch(self.pattern, value):
            raise IsmError("xb.error.format", f"{self.label} does not match {self.pattern}",
                           field_name=self.name)
        if self.min_length is not None and self.min_length >= 0 and \
                len(value) < self.min_length:
            raise IsmError("xb.error.too_short", field_name=self.name)
        if self.max_length is not None and self.max_length >= 0 and \
                len(value) > self.max_length:
            raise IsmError("xb.error.too_long", field_name=self.name)


@dataclass(frozen=True, slots=True)
class SearchMask:
    country: str
    fields: tuple[SearchField, ...]
    #: Each group lists field names that must all be filled; one satisfied group suffices.
    #: Empty: every mandatory field, and at least one field.
    required_groups: tuple[frozenset[str], ...] = ()
    prescription_id_domain: str | None = None
    prescription_id_pattern: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def field(self, name: str) -> SearchField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def check(self, values: dict[str, str]) -> dict[str, str]:
        """The cleaned values of the filled fields; raises :class:`IsmError` when the input
        does not satisfy the mask (a mandatory field empty, a wrong format, no group met)."""
        cleaned: dict[str, str] = {}
        for f in self.fields:
            value = (values.get(f.name) or "").strip()
            if f.kind == "id":
                value = value.replace(" ", "")
            if not value:
                if f.mandatory:
                    raise IsmError("xb.error.required", field_name=f.name)
                continue
            if len(value) > 200:
                raise IsmError("xb.error.too_long", field_name=f.name)
            f.check(value)
            cleaned[f.name] = value
        if not cleaned:
            raise IsmError("xb.error.empty")
        if self.required_groups and not any(g <= cleaned.keys() for g in self.required_groups):
            raise IsmError("xb.error.group")
        if not any(self.field(n).kind == "id" for n in cleaned) and \
                any(f.kind == "id" for f in self.fields) and not self.required_groups:
            raise IsmError("xb.error.need_id")
        return cleaned


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _names(fields: list[SearchField], base: str) -> str:
    taken = {f.name for f in fields}
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    return name


def _legacy_field(el: etree._Element, fields: list[SearchField]) -> SearchField | None:
    local = _local(el)
    label = el.get("label") or local
    if local == "id":
        kind = "id"
    elif local == "textField":
        kind = _TEXT_KINDS.get((el.get("friendlyName") or label.rsplit(".", 1)[-1]).lower(), "")
        if not kind:
            return None  # street, city...: not used by the XCPD demographics we send
    elif local == "birthDate":
        kind = "birth_date"
    elif local in ("sex", "gender"):
        kind = "gender"
    else:
        return None
    return SearchField(name=_names(fields, kind), kind=kind, label=label,
                       domain=el.get("domain"), min_length=_int(el.get("min")),
                       max_length=_int(el.get("max")),
                       description=el.get("friendlyName") or "")


def _modern_field(el: etree._Element, fields: list[SearchField]) -> SearchField | None:
    local = _local(el)
    kind = {"id": "id", "birthDate": "birth_date", "sex": "gender", "gender": "gender",
            "surname": "family", "familyName": "family", "givenName": "given"}.get(local)
    if kind is None and local == "textField":
        kind = _TEXT_KINDS.get((el.get("friendlyName") or "").lower())
    if kind is None:
        return None
    pattern = el.get("format") if kind not in ("birth_date", "gender") else None
    if pattern and re.fullmatch(r"[LN]+([-./ ][LN]+)*", pattern):
        # the older "L"etter / "N"umber template, e.g. NNNN-NN-NN
        pattern = "".join({"L": "[A-Za-z]", "N": "[0-9]"}.get(c, re.escape(c)) for c in pattern)
    if pattern:
        try:
            re.compile(pattern)
        except re.error:
            raise IsmError("xb.error.mask", f"bad format {pattern!r}") from None
    return SearchField(name=_names(fields, kind), kind=kind, label=el.get("label") or local,
                       domain=el.get("domain"), pattern=pattern,
                       min_length=_int(el.get("min")), max_length=_int(el.get("max")),
                       mandatory=(el.get("mandatory") or "").lower() == "true",
                       description=el.get("contextualDescription") or "")


def parse_search_mask(data: bytes | etree._Element, country: str | None = None) -> SearchMask:
    """Read either layout of a search mask (bytes, or an element already parsed, e.g. from an
    SMP record's Extension). ``country`` is needed when the mask does not name it."""
    try:
        root = parse_xml(data) if isinstance(data, bytes) else data
    except XmlInputError as exc:
        raise IsmError("xb.error.mask", str(exc)) from None
    fields: list[SearchField] = []
    groups: list[frozenset[str]] = []
    ep_domain = ep_pattern = None
    ns = etree.QName(root).namespace
    if ns == ISM:
        countries = [root] if _local(root) == "country" else \
            [c for c in root.iter(f"{{{ISM}}}country")]
        scope = countries[0] if countries else root
        code = (countries[0].get("code") if countries else None) or country
        for el in scope.iter():
            if not isinstance(el.tag, str) or etree.QName(el).namespace != ISM:
                continue
            if _local(el) == "prescriptionId":
                ep_domain, ep_pattern = el.get("domain"), el.get("format")
                continue
            parent = el.getparent()
            if parent is not None and _local(parent) == "documentSearch":
                continue
            f = _modern_field(el, fields)
            if f is not None:
                fields.append(f)
    else:
        country_el = next(iter(root.iter("country")), None)
        if country_el is None or _local(root) != "patientSearch":
            raise IsmError("xb.error.mask", "not an International Search Mask")
        code = country_el.get("code") or country
        for sf in country_el.iter("searchFields"):
            for el in sf:
                if isinstance(el.tag, str):
                    f = _legacy_field(el, fields)
                    if f is not None:
                        fields.append(f)
        by_label = {f.label: f.name for f in fields}
        for validation in country_el.iter("validation"):
            names = frozenset(by_label[f.get("label", "")] for f in validation.iter("field")
                              if f.get("label") in by_label)
            if names:
                groups.append(names)
        if len(groups) == 1:  # one group: its fields are simply mandatory
            fields = [SearchField(**{**_asdict(f), "mandatory": f.name in groups[0]})
                      for f in fields]
    if not code or len(code) != 2:
        raise IsmError("xb.error.mask", "the mask names no country")
    if not fields:
        raise IsmError("xb.error.mask", "the mask has no search field")
    return SearchMask(country=code.upper(), fields=tuple(fields), required_groups=tuple(groups),
                      prescription_id_domain=ep_domain, prescription_id_pattern=ep_pattern)


def _asdict(f: SearchField) -> dict[str, object]:
    return {k: getattr(f, k) for k in SearchField.__slots__}
