"""A language-neutral view of a pivot CDA document (PS, eP, eD), for the HTML and PDF renditions.

The view keeps what a reader needs: header facts, and per section its code, original title,
original narrative and, for the sections eHDSI structures (medication, allergies, problems,
procedures, devices, prescription, dispensation), one row per entry with labelled fields. A
coded field keeps the code, its code system and the document's own display name, so the
renderer can show the reader's designation beside the original.

Field labels are eHDSI display labels (eHDSIDisplayLabel, code system
1.3.6.1.4.1.12559.11.10.1.3.1.44.4): their translations come from the terminology like any other
concept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from ncp.cda.kinds import DocumentKind, detect_kind
from ncp.xmlutil import NS, parse_xml

LABELS = "1.3.6.1.4.1.12559.11.10.1.3.1.44.4"


@dataclass(frozen=True)
class CodedValue:
    code: str
    system: str
    original: str  # the displayName (or original text) the document carries


@dataclass(frozen=True)
class Every:
    """A dosing period such as ``8 h``, shown as "every 8 h" in the reader's language."""

    period: str


@dataclass(frozen=True)
class Field:
    label: str  # eHDSIDisplayLabel code
    value: str | CodedValue | Every


@dataclass
class Entry:
    fields: list[Field] = field(default_factory=list)


@dataclass
class Section:
    code: str
    title: str
    narrative: etree._Element | None
    entries: list[Entry] = field(default_factory=list)


@dataclass
class DocumentView:
    kind: DocumentKind | None
    title: str
    language: str
    effective_time: str
    header: list[Field] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)


def _x(node: etree._Element | None, path: str) -> list[etree._Element]:
    return [] if node is None else node.xpath(path, namespaces=NS)


def _first(node: etree._Element | None, path: str) -> etree._Element | None:
    found = _x(node, path)
    return found[0] if found else None


def _text(node: etree._Element | None, path: str = ".") -> str:
    found = _first(node, path)
    return " ".join(found.xpath("string()").split()) if found is not None else ""


def format_ts(value: str) -> str:
    """``20261102093000+0100`` -> ``2026-11-02 09:30``; dates as ``2026-11-02``."""
    digits = value[:14]
    if len(digits) >= 8 and digits[:8].isdigit():
        date = f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}"
        if len(digits) >= 12 and digits[8:12].isdigit():
            return f"{date} {digits[8:10]}:{digits[10:12]}"
        return date
    return value


def _coded(node: etree._Element | None) -> CodedValue | None:
    """A coded value; its ``original`` is the source country's own term when the pivot kept it
    as a translation, else the document's display name."""
    if node is None:
        return None
    if node.get("code"):
        source = _first(node, "hl7:translation[@displayName]")
        original = (source.get("displayName") if source is not None else None) or \
            node.get("displayName") or _text(node, "hl7:originalText") or node.get("code")
        return CodedValue(node.get("code", ""), node.get("codeSystem", ""), original)
    if node.get("nullFlavor"):
        return None
    text = _text(node, "hl7:originalText")
    return CodedValue("", "", text) if text else None


def _add(entry: Entry, label: str, value: str | CodedValue | Every | None) -> None:
    if value:
        entry.fields.append(Field(label, value))


def _pq(node: etree._Element | None) -> str:
    if node is None:
        return ""
    if node.get("value"):
        unit = node.get("unit", "1")
        return node.get("value") + ("" if unit == "1" else f" {unit}")
    low, high = _first(node, "hl7:low"), _first(node, "hl7:high")
    parts = [_pq(low), _pq(high)]
    return " - ".join(p for p in parts if p)


def _period(node: etree._Element | None) -> str:
    low, high = _first(node, "hl7:low/@value"), _first(node, "hl7:high/@value")
    return format_ts(str(low)) if low is not None else "", \
        format_ts(str(high)) if high is not None else ""


def _product(entry: Entry, material: etree._Element | None) -> None:
    if material is None:
        return
    _add(entry, "128", _text(material, "hl7:name"))
    substance = _first(material, "pharm:ingredient/pharm:ingredientSubstance/pharm:code")
    if substance is None:
        substance = _first(material, "pharm:asSpecializedKind/pharm:generalizedMaterialKind"
                                     "/pharm:code")
    _add(entry, "1", _coded(substance))
    numerator = _first(material, "pharm:ingredient/pharm:quantity/hl7:numerator")
    denominator = _first(material, "pharm:ingredient/pharm:quantity/hl7:denominator")
    if numerator is not None:
        strength = _pq(numerator)
        per = _pq(denominator)
        _add(entry, "70", f"{strength} / {per}" if per and per != "1" else strength)
    _add(entry, "25", _coded(_first(material, "pharm:formCode")))
    package = _first(material, "pharm:asContent")
    if package is not None:
        _add(entry, "50", _pq(_first(package, "pharm:quantity")))
        _add(entry, "191", _coded(_first(package, "pharm:containerPackagedProduct/"
                                                   "pharm:formCode")))


def _medication(entry_el: etree._Element) -> Entry:
    entry = Entry()
    sa = _first(entry_el, "hl7:substanceAdministration")
    if sa is None:
        return entry
    absent = _coded(_first(sa, "hl7:code"))
    if absent and absent.system == "2.16.840.1.113883.5.1150.1":
        _add(entry, "146", absent)
        return entry
    _product(entry, _first(sa, "hl7:consumable/hl7:manufacturedProduct/"
                               "hl7:manufacturedMaterial"))
    _add(entry, "67", _coded(_first(sa, "hl7:routeCode")))
    _add(entry, "78", _pq(_first(sa, "hl7:doseQuantity")))
    period = _first(sa, "hl7:effectiveTime[hl7:period]/hl7:period")
    if period is not None:
        _add(entry, "32", Every(_pq(period)))
    event = _first(sa, "hl7:effectiveTime/hl7:event")
    _add(entry, "32", _coded(event))
    start, end = _period(_first(sa, "hl7:effectiveTime[hl7:low or hl7:high]"))
    _add(entry, "85", start)
    _add(entry, "18", end)
    supply = _first(sa, "hl7:entryRelationship/hl7:supply[@moodCode='RQO']/hl7:quantity")
    _add(entry, "43", _pq(supply))
    _add(entry, "71", _coded(_first(sa, "hl7:entryRelationship/hl7:observation"
                                        "[hl7:code/@code='SUBST']/hl7:value")))
    return entry


def _dispensation(entry_el: etree._Element) -> Entry:
    entry = Entry()
    supply = _first(entry_el, "hl7:supply")
    if supply is None:
        return entry
    _product(entry, _first(supply, "hl7:product/hl7:manufacturedProduct/"
                                   "hl7:manufacturedMaterial"))
    _add(entry, "115", _pq(_first(supply, "hl7:quantity")))
    _add(entry, "58", _first(supply, "hl7:entryRelationship[@typeCode='REFR']/"
                                     "hl7:substanceAdministration/hl7:id/@extension"))
    _add(entry, "161", _text(supply, "hl7:performer/hl7:assignedEntity/hl7:assignedPerson"))
    return entry


def _allergy(entry_el: etree._Element) -> Entry:
    entry = Entry()
    obs = _first(entry_el, ".//hl7:observation[hl7:templateId/@root="
                           "'1.3.6.1.4.1.12559.11.10.1.3.1.3.17']")
    if obs is None:
        return entry
    value = _coded(_first(obs, "hl7:value"))
    if value and value.system == "2.16.840.1.113883.5.1150.1":
        _add(entry, "146", value)
        return entry
    _add(entry, "65", _coded(_first(obs, "hl7:code")))
    _add(entry, "5", _coded(_first(obs, "hl7:participant/hl7:participantRole/"
                                        "hl7:playingEntity/hl7:code")))
    reaction = _first(obs, "hl7:entryRelationship[@typeCode='MFST']/hl7:observation")
    _add(entry, "10", _coded(_first(reaction, "hl7:value")))
    _add(entry, "123", _coded(_first(reaction, ".//hl7:observation[hl7:code/@code='SEV']/"
                                               "hl7:value")))
    start, _end = _period(_first(obs, "hl7:effectiveTime"))
    _add(entry, "45", start)
    return entry


def _problem(entry_el: etree._Element) -> Entry:
    entry = Entry()
    obs = _first(entry_el, ".//hl7:observation[hl7:templateId/@root="
                           "'1.3.6.1.4.1.12559.11.10.1.3.1.3.7']")
    if obs is None:
        return entry
    value = _coded(_first(obs, "hl7:value"))
    if value and value.system == "2.16.840.1.113883.5.1150.1":
        _add(entry, "146", value)
        return entry
    _add(entry, "2", value)
    _add(entry, "167", _coded(_first(obs, "hl7:entryRelationship/hl7:observation[hl7:templateId"
                                          "/@root='1.3.6.1.4.1.12559.11.10.1.3.1.3.9']/"
                                          "hl7:value")))
    start, _end = _period(_first(obs, "hl7:effectiveTime"))
    _add(entry, "45", start)
    return entry


def _procedure(entry_el: etree._Element) -> Entry:
    entry = Entry()
    proc = _first(entry_el, "hl7:procedure")
    if proc is None:
        return entry
    code = _coded(_first(proc, "hl7:code"))
    _add(entry, "146" if code and code.system == "2.16.840.1.113883.5.1150.1" else "62", code)
    when = _first(proc, "hl7:effectiveTime/@value")
    _add(entry, "63", format_ts(str(when)) if when is not None else "")
    return entry


def _device(entry_el: etree._Element) -> Entry:
    entry = Entry()
    supply = _first(entry_el, "hl7:supply")
    if supply is None:
        return entry
    code = _coded(_first(supply, ".//hl7:playingDevice/hl7:code"))
    _add(entry, "146" if code and code.system == "2.16.840.1.113883.5.1150.1" else "21", code)
    start, _end = _period(_first(supply, "hl7:effectiveTime"))
    _add(entry, "36", start)
    return entry


_ENTRY_READERS = {
    "10160-0": _medication,
    "57828-6": _medication,
    "60590-7": _dispensation,
    "48765-2": _allergy,
    "11450-4": _problem,
    "47519-4": _procedure,
    "46264-8": _device,
}


def _person(node: etree._Element | None) -> str:
    return " ".join(p for p in (_text(node, "hl7:name/hl7:given"),
                                _text(node, "hl7:name/hl7:family")) if p)


def document_view(document: bytes) -> DocumentView:
    """Read a pivot CDA (any country's) into a :class:`DocumentView`."""
    root = parse_xml(document)
    view = DocumentView(
        kind=detect_kind(root),
        title=_text(root, "hl7:title"),
        language=str(_first(root, "hl7:languageCode/@code") or ""),
        effective_time=format_ts(str(_first(root, "hl7:effectiveTime/@value") or "")),
    )
    patient_role = _first(root, "hl7:recordTarget/hl7:patientRole")
    patient = _first(patient_role, "hl7:patient")
    _header = Entry()
    _add(_header, "51", _person(patient))
    birth = _first(patient, "hl7:birthTime/@value")
    _add(_header, "19", format_ts(str(birth)) if birth is not None else "")
    _add(_header, "33", _coded(_first(patient, "hl7:administrativeGenderCode")))
    ident = _first(patient_role, "hl7:id")
    if ident is not None:
        _add(_header, "125", ident.get("extension", ""))
    _add(_header, "13", _text(patient_role, "hl7:addr/hl7:country"))
    author = _first(root, "hl7:author")
    _add(_header, "7", _person(_first(author, "hl7:assignedAuthor/hl7:assignedPerson")))
    _add(_header, "64", _coded(_first(author, "hl7:functionCode")))
    _add(_header, "47", _text(author, "hl7:assignedAuthor/hl7:representedOrganization/hl7:name"))
    _add(_header, "16", _text(root, "hl7:custodian//hl7:representedCustodianOrganization/"
                                    "hl7:name"))
    _add(_header, "131", view.effective_time)
    if view.kind is DocumentKind.EPRESCRIPTION:
        doc_id = _first(root, "hl7:id")
        _add(_header, "58", doc_id.get("extension", "") if doc_id is not None else "")
        _add(_header, "20", view.effective_time)
    elif view.kind is DocumentKind.EDISPENSATION:
        _add(_header, "58", str(_first(root, "hl7:inFulfillmentOf/hl7:order/hl7:id/@extension")
                                or ""))
    view.header = _header.fields
    for section_el in _x(root, "hl7:component/hl7:structuredBody/hl7:component/hl7:section"):
        code = str(_first(section_el, "hl7:code/@code") or "")
        section = Section(code=code, title=_text(section_el, "hl7:title"),
                          narrative=_first(section_el, "hl7:text"))
        reader = _ENTRY_READERS.get(code)
        if reader:
            for entry_el in _x(section_el, "hl7:entry"):
                entry = reader(entry_el)
                if entry.fields:
                    section.entries.append(entry)
        view.sections.append(section)
    return view
