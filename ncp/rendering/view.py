"""A language-neutral view of a pivot CDA document (PS, eP, eD), for the HTML and PDF renditions.

The view keeps what a reader needs: header facts, and per section its code, original title,
original narrative and one row per entry with labelled fields: the sections eHDSI structures
(medication, allergies in the W7 and older W5 templates, problems, past illness, procedures,
devices, immunisations, prescription, dispensation) by their own readers, every other section
(results, vital signs, social and pregnancy history, functional status, plan of care, advance
directives) by the kind of its clinical statement. Every ``entry`` element gives exactly one row:
one no reader understands keeps its own narrative text, marked ``unstructured``, so nothing is
dropped silently. Codes whose ``originalText`` points into the narrative show the text pointed to. A
coded field keeps the code, its code system and the document's own display name, so the
renderer can show the reader's designation beside the original.

Field labels are eHDSI display labels (eHDSIDisplayLabel, code system
1.3.6.1.4.1.12559.11.10.1.3.1.44.4): their translations come from the terminology like any other
concept.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field

from lxml import etree

from ncp.cda.kinds import DocumentKind, detect_kind
from ncp.rendering.words import WORDS
from ncp.xmlutil import NS, parse_xml

XSI = "http://www.w3.org/2001/XMLSchema-instance"

LABELS = "1.3.6.1.4.1.12559.11.10.1.3.1.44.4"


@dataclass(frozen=True)
class CodedValue:
    code: str
    system: str
    original: str  # the displayName (or original text) the document carries


@dataclass(frozen=True)
class Every:
    """A dosing period (PIVL ``period``), said in natural words: 24 h "once a day", 720 h
    "once a month", 8 h "every 8 hours"."""

    value: str
    unit: str
    institution: bool = False

    @property
    def period(self) -> str:
        return f"{self.value} {self.unit}".strip()


@dataclass(frozen=True)
class Amount:
    """Quantities in UCUM (``25000 [IU] / 1 mL``), said with unit words in the reader's
    language. ``joiner`` is ``/`` for a strength, ``-`` for a range."""

    parts: tuple[tuple[str, str], ...]
    joiner: str = "/"

    def __bool__(self) -> bool:
        return bool(self.parts)

    @property
    def raw(self) -> str:
        return f" {self.joiner} ".join(f"{v} {u}".strip() if u != "1" else v
                                       for v, u in self.parts)


@dataclass(frozen=True)
class Word:
    """One of the renderer's own words (``ncp.rendering.words.WORDS``): statuses, gender."""

    key: str
    original: str = ""


Value = str | CodedValue | Every | Amount | Word


@dataclass(frozen=True)
class Field:
    label: str | CodedValue  # eHDSIDisplayLabel code, a WORDS key, or a coded concept
    value: Value


@dataclass
class Entry:
    fields: list[Field] = field(default_factory=list)
    #: Set when the entry could not be read structurally: its original text, shown marked.
    unstructured: str | None = None


@dataclass
class Section:
    code: str
    title: str
    narrative: etree._Element | None
    entries: list[Entry] = field(default_factory=list)
    source_entries: int = 0  # how many ``entry`` elements the section carries


@dataclass
class DocumentView:
    kind: DocumentKind | None
    title: str
    language: str
    effective_time: str
    header: list[Field] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)


#: Narrative elements by their ``ID``: a coded element's ``originalText/reference`` and an
#: entry's ``text/reference`` point into the section narrative.
_REFS: ContextVar[dict[str, str] | None] = ContextVar("narrative_refs", default=None)


def _refs() -> dict[str, str]:
    return _REFS.get() or {}

ABSENT = "2.16.840.1.113883.5.1150.1"


def _x(node: etree._Element | None, path: str) -> list[etree._Element]:
    return [] if node is None else node.xpath(path, namespaces=NS)


def _first(node: etree._Element | None, path: str) -> etree._Element | None:
    found = _x(node, path)
    return found[0] if found else None


def _text(node: etree._Element | None, path: str = ".") -> str:
    found = _first(node, path)
    return " ".join(found.xpath("string()").split()) if found is not None else ""


def _said(node: etree._Element | None) -> str:
    """The text of an ED (``text``, ``originalText``): inline, or what its ``reference`` points
    to in the narrative."""
    if node is None:
        return ""
    ref = _first(node, "hl7:reference/@value")
    if ref is not None and str(ref).startswith("#"):
        found = _refs().get(str(ref)[1:])
        if found:
            return found
    return " ".join("".join(t for t in node.xpath("text()")).split()) or \
        ("" if ref is not None else _text(node))


def format_ts(value: str) -> str:
    """``20261102093000+0100`` -> ``2026-11-02 09:30``; dates as ``2026-11-02``."""
    digits = value[:14]
    if len(digits) >= 8 and digits[:8].isdigit():
        date = f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}"
        if len(digits) >= 12 and digits[8:12].isdigit():
            return f"{date} {digits[8:10]}:{digits[10:12]}"
        return date
    if len(digits) in (4, 6) and digits.isdigit():
        return digits[:4] if len(digits) == 4 else f"{digits[:4]}-{digits[4:6]}"
    return value


def _coded(node: etree._Element | None) -> CodedValue | None:
    """A coded value; its ``original`` is the source country's own term when the pivot kept it
    as a translation, else the document's display name or original text."""
    if node is None:
        return None
    said = _said(_first(node, "hl7:originalText"))
    if node.get("code"):
        source = _first(node, "hl7:translation[@displayName]")
        original = (source.get("displayName") if source is not None else None) or \
            node.get("displayName") or said or node.get("code")
        return CodedValue(node.get("code", ""), node.get("codeSystem", ""), original)
    if said:
        return CodedValue("", "", said)
    return None


def _add(entry: Entry, label: str | CodedValue, value: Value | None) -> None:
    if value:
        entry.fields.append(Field(label, value))


def _pq(node: etree._Element | None) -> Amount:
    """A PQ or IVL_PQ as an :class:`Amount` (a range as low - high)."""
    if node is None:
        return Amount(())
    if node.get("value"):
        return Amount(((node.get("value"), node.get("unit", "1")),))
    low, high = _pq(_first(node, "hl7:low")), _pq(_first(node, "hl7:high"))
    parts = low.parts + high.parts
    if low.parts and high.parts and low.parts == high.parts:
        parts = low.parts
    return Amount(parts, "-")


def _ratio(node: etree._Element | None) -> Amount:
    numerator = _pq(_first(node, "hl7:numerator|pharm:numerator"))
    denominator = _pq(_first(node, "hl7:denominator|pharm:denominator"))
    if not numerator:
        return Amount(())
    if denominator and denominator.parts != (("1", "1"),):
        return Amount(numerator.parts + denominator.parts, "/")
    return numerator


def _period(node: etree._Element | None) -> tuple[str, str]:
    low, high = _first(node, "hl7:low/@value"), _first(node, "hl7:high/@value")
    return format_ts(str(low)) if low is not None else "", \
        format_ts(str(high)) if high is not None else ""


def _when(node: etree._Element | None) -> str:
    """An effectiveTime as one date, or ``from - to``."""
    if node is None:
        return ""
    if node.get("value"):
        return format_ts(node.get("value"))
    start, end = _period(node)
    return f"{start} - {end}" if start and end else start or end


def _status(entry: Entry, node: etree._Element | None) -> None:
    code = _first(node, "hl7:statusCode/@code")
    if code is not None and f"status.{code}" in WORDS:
        _add(entry, "status", Word(f"status.{code}", str(code)))


def _value(node: etree._Element | None) -> Value | None:
    """An observation value by its type (CD, PQ, IVL_PQ, RTO, TS, ST, INT, BL)."""
    if node is None:
        return None
    kind = (node.get(f"{{{XSI}}}type") or "").split(":")[-1]
    if kind in ("PQ", "IVL_PQ") or (not kind and node.get("unit")):
        return _pq(node)
    if kind in ("RTO", "RTO_PQ_PQ"):
        return _ratio(node)
    if kind in ("TS", "IVL_TS"):
        return _when(node)
    if kind == "BL":
        flag = node.get("value")
        return CodedValue({"true": "81", "false": "42"}.get(str(flag), ""), LABELS,
                          str(flag)) if flag else None
    if kind in ("INT", "REAL"):
        return node.get("value") or None
    if kind in ("ST", "ED"):
        return _said(node) or None
    return _coded(node) or _said(node) or None


#: Codes of qualifier observations, to the label each is shown under.
_QUALIFIERS = {
    "SEV": "severity", "82606-5": "criticality", "CRIT": "criticality",
    "66455-7": "certainty", "33999-4": "status", "11323-3": "outcome",
    "30973-2": "dose_number",
}


def _qualifiers(entry: Entry, node: etree._Element | None, skip: tuple[str, ...] = ()) -> None:
    """Severity, criticality, certainty, status, ... given as nested observations."""
    for obs in _x(node, "hl7:entryRelationship[not(@typeCode='MFST')]/hl7:observation"):
        code = _first(obs, "hl7:code")
        key = _QUALIFIERS.get(code.get("code", "") if code is not None else "")
        if key in skip:
            continue
        value = _value(_first(obs, "hl7:value"))
        if key:
            _add(entry, key, value)
        elif code is not None and value:
            label = _coded(code)
            _add(entry, label if label else "observation", value)


def _substance(ingredient: etree._Element) -> CodedValue | None:
    """An ingredient's substance: its code, else (code with a nullFlavor) its name."""
    # (the epSOS form nests a second ``ingredient`` where wave 7 says ``ingredientSubstance``)
    substance = _first(ingredient, "pharm:ingredientSubstance|pharm:ingredient")
    code = _coded(_first(substance, "pharm:code"))
    if code and code.code:
        name = _text(substance, "pharm:name")
        return CodedValue(code.code, code.system, name or code.original) if name and \
            code.original == code.code else code
    name = _text(substance, "pharm:name")
    if name:
        return CodedValue("", "", name)
    return code


def _ingredients(entry: Entry, material: etree._Element) -> int:
    """Every active ingredient with its strength (a combination product shows them all)."""
    shown = 0
    for ingredient in _x(material, "pharm:ingredient[not(@classCode) or @classCode='ACTI' "
                                   "or @classCode='ACTIB' or @classCode='ACTIM' "
                                   "or @classCode='ACTIR']"):
        substance = _substance(ingredient)
        _add(entry, "1", substance)
        _add(entry, "70", _ratio(_first(ingredient, "pharm:quantity")))
        shown += 1 if substance else 0
    return shown


def _product(entry: Entry, material: etree._Element | None) -> None:
    if material is None:
        return
    _add(entry, "128", _text(material, "pharm:name") or _text(material, "hl7:name"))
    shown = _ingredients(entry, material)
    # A kit (eP "PhPID" case): the product's substances are those of its parts.
    for part in _x(material, "pharm:part/pharm:partProduct"):
        _add(entry, "part", _text(part, "pharm:name") or
             _coded(_first(part, "pharm:formCode")))
        shown += _ingredients(entry, part)
    atc = _coded(_first(material, "pharm:asSpecializedKind/pharm:generalizedMaterialKind"
                                  "/pharm:code"))
    # The ATC class stands in for the substance when no ingredient could be read; beside the
    # substances it is shown only when it says something they don't.
    said = {f.value.original for f in entry.fields if isinstance(f.value, CodedValue)}
    if atc and (not shown or atc.original not in said):
        _add(entry, "1" if not shown else "atc", atc)
    _add(entry, "25", _coded(_first(material, "pharm:formCode")))
    package = _first(material, "pharm:asContent")
    if package is not None:
        _add(entry, "50", _pq(_first(package, "pharm:quantity")))
        _add(entry, "191", _coded(_first(package, "pharm:containerPackagedProduct/"
                                                   "pharm:formCode")))


def _instructions(entry: Entry, sa: etree._Element) -> None:
    """The prescriber's own words: the dosage text, then instructions to the patient and to
    the dispenser (IHE patient / fulfilment instructions)."""
    dosage = _said(_first(sa, "hl7:text"))
    _add(entry, "dosage_text", dosage)
    for act in _x(sa, "hl7:entryRelationship/hl7:act"):
        roots = set(_x(act, "hl7:templateId/@root"))
        text = _said(_first(act, "hl7:text"))
        if "1.3.6.1.4.1.19376.1.5.3.1.4.3.1" in roots:
            _add(entry, "dispenser_instructions", text)
        elif "1.3.6.1.4.1.19376.1.5.3.1.4.3" in roots or text:
            _add(entry, "patient_instructions", text)


def _dosing(entry: Entry, sa: etree._Element) -> None:
    _add(entry, "78", _pq(_first(sa, "hl7:doseQuantity")))
    for timing in _x(sa, "hl7:effectiveTime"):
        period = _first(timing, "hl7:period")
        if period is not None and period.get("value"):
            _add(entry, "32", Every(period.get("value"), period.get("unit", ""),
                                    timing.get("institutionSpecified") == "true"))
        for part in _x(timing, "hl7:comp/hl7:period[@value]"):
            _add(entry, "32", Every(part.get("value"), part.get("unit", "")))
        _add(entry, "32", _coded(_first(timing, "hl7:event")))
        for event in _x(timing, "hl7:comp/hl7:event"):
            _add(entry, "32", _coded(event))
    start, end = _period(_first(sa, "hl7:effectiveTime[hl7:low or hl7:high]"))
    _add(entry, "85", start)
    _add(entry, "18", end)


def _medication(entry_el: etree._Element) -> Entry:
    entry = Entry()
    sa = _first(entry_el, "hl7:substanceAdministration")
    if sa is None:
        return entry
    absent = _coded(_first(sa, "hl7:code"))
    if absent and absent.system == ABSENT:
        _add(entry, "146", absent)
        return entry
    _product(entry, _first(sa, "hl7:consumable/hl7:manufacturedProduct/"
                               "hl7:manufacturedMaterial"))
    _add(entry, "67", _coded(_first(sa, "hl7:routeCode")))
    _dosing(entry, sa)
    _instructions(entry, sa)
    supply = _first(sa, "hl7:entryRelationship/hl7:supply[@moodCode='RQO']/hl7:quantity")
    _add(entry, "43", _pq(supply))
    _add(entry, "71", _coded(_first(sa, "hl7:entryRelationship/hl7:observation"
                                        "[hl7:code/@code='SUBST']/hl7:value")))
    _add(entry, "reason", _coded(_first(sa, "hl7:entryRelationship[@typeCode='RSON']/"
                                            "hl7:observation/hl7:value")))
    return entry


def _immunisation(entry_el: etree._Element) -> Entry:
    entry = Entry()
    sa = _first(entry_el, "hl7:substanceAdministration")
    if sa is None:
        return entry
    code = _coded(_first(sa, "hl7:code"))
    if code and code.system == ABSENT:
        _add(entry, "146", code)
        return entry
    product = _first(sa, "hl7:consumable/hl7:manufacturedProduct")
    material = _first(product, "hl7:manufacturedMaterial")
    _add(entry, "vaccine", _coded(_first(material, "hl7:code")))
    _add(entry, "128", _text(material, "hl7:name"))
    _add(entry, "lot", _text(material, "hl7:lotNumberText"))
    _add(entry, "manufacturer", _text(product, "hl7:manufacturerOrganization/hl7:name"))
    _add(entry, "80", _when(_first(sa, "hl7:effectiveTime")))
    _add(entry, "67", _coded(_first(sa, "hl7:routeCode")))
    _add(entry, "78", _pq(_first(sa, "hl7:doseQuantity")))
    _add(entry, "target_disease", _coded(_first(sa, "hl7:entryRelationship/hl7:observation"
                                                    "[hl7:code/@code='75321-0' or "
                                                    "hl7:code/@code='TARGET']/hl7:value")))
    _qualifiers(entry, sa)
    return entry


def _concern_subject(entry_el: etree._Element) -> etree._Element | None:
    """The observation of a concern act (W7 and the older W5/IHE templates), or the
    observation the entry holds directly."""
    return _first(entry_el, "hl7:act/hl7:entryRelationship[@typeCode='SUBJ']/hl7:observation"
                            "|hl7:observation")


def _allergy(entry_el: etree._Element) -> Entry:
    entry = Entry()
    obs = _concern_subject(entry_el)
    if obs is None:
        return entry
    value = _coded(_first(obs, "hl7:value"))
    if value and value.system == ABSENT:
        _add(entry, "146", value)
        return entry
    _add(entry, "65", _coded(_first(obs, "hl7:code")))
    _add(entry, "observation", value)
    _add(entry, "5", _coded(_first(obs, "hl7:participant/hl7:participantRole/"
                                        "hl7:playingEntity/hl7:code")) or
         _text(obs, "hl7:participant/hl7:participantRole/hl7:playingEntity/hl7:name"))
    for reaction in _x(obs, "hl7:entryRelationship[@typeCode='MFST']/hl7:observation"):
        _add(entry, "10", _coded(_first(reaction, "hl7:value")))
        _add(entry, "123", _coded(_first(reaction, ".//hl7:observation[hl7:code/@code='SEV']/"
                                                   "hl7:value")))
    _qualifiers(entry, obs)
    if not any(f.label == "status" for f in entry.fields):
        _status(entry, _first(entry_el, "hl7:act"))
    start, end = _period(_first(obs, "hl7:effectiveTime"))
    _add(entry, "45", start)
    _add(entry, "26", end)
    return entry


def _problem(entry_el: etree._Element) -> Entry:
    entry = Entry()
    obs = _concern_subject(entry_el)
    if obs is None:
        return entry
    value = _coded(_first(obs, "hl7:value"))
    if value and value.system == ABSENT:
        _add(entry, "146", value)
        return entry
    _add(entry, "2", value or _said(_first(obs, "hl7:text")))
    status = _coded(_first(obs, "hl7:entryRelationship/hl7:observation[hl7:templateId"
                                "/@root='1.3.6.1.4.1.12559.11.10.1.3.1.3.9' or "
                                "hl7:code/@code='33999-4']/hl7:value"))
    _add(entry, "167", status)
    _qualifiers(entry, obs, skip=("status",))
    if status is None:
        _status(entry, _first(entry_el, "hl7:act"))
    start, end = _period(_first(obs, "hl7:effectiveTime"))
    _add(entry, "45", start)
    _add(entry, "resolution", end)
    return entry


def _procedure_of(proc: etree._Element) -> Entry:
    entry = Entry()
    code = _coded(_first(proc, "hl7:code"))
    _add(entry, "146" if code and code.system == ABSENT else "62", code)
    if code and code.system == ABSENT:
        return entry
    for site in _x(proc, "hl7:targetSiteCode"):
        _add(entry, "body_site", _coded(site))
    _add(entry, "63", _when(_first(proc, "hl7:effectiveTime")))
    _add(entry, "reason", _coded(_first(proc, "hl7:entryRelationship[@typeCode='RSON']/"
                                              "hl7:observation/hl7:value")))
    _add(entry, "description", "" if code else _said(_first(proc, "hl7:text")))
    return entry


def _procedure(entry_el: etree._Element) -> Entry:
    proc = _first(entry_el, "hl7:procedure")
    return _procedure_of(proc) if proc is not None else Entry()


def _device(entry_el: etree._Element) -> Entry:
    entry = Entry()
    supply = _first(entry_el, "hl7:supply")
    if supply is None:
        return entry
    device = _first(supply, ".//hl7:participantRole[hl7:playingDevice]")
    code = _coded(_first(device, "hl7:playingDevice/hl7:code"))
    _add(entry, "146" if code and code.system == ABSENT else "21", code)
    ident = _first(device, "hl7:id[@extension]")
    _add(entry, "device_id", ident.get("extension") if ident is not None else "")
    start, end = _period(_first(supply, "hl7:effectiveTime"))
    _add(entry, "36", start or _when(_first(supply, "hl7:effectiveTime")))
    _add(entry, "18", end)
    return entry


def _observation(entry: Entry, obs: etree._Element) -> None:
    code = _coded(_first(obs, "hl7:code"))
    value = _value(_first(obs, "hl7:value"))
    if code and code.system == ABSENT:
        _add(entry, "146", code)
        return
    _add(entry, "observation", code)
    _add(entry, "result", value)
    if not code and not value:
        _add(entry, "description", _said(_first(obs, "hl7:text")))
    for interpretation in _x(obs, "hl7:interpretationCode"):
        _add(entry, "interpretation", _coded(interpretation))
    _add(entry, "reference_range", _pq(_first(obs, "hl7:referenceRange/"
                                                   "hl7:observationRange/hl7:value")))
    _add(entry, "date", _when(_first(obs, "hl7:effectiveTime")))
    for nested in _x(obs, "hl7:entryRelationship/hl7:observation"):
        label = _coded(_first(nested, "hl7:code"))
        nested_value = _value(_first(nested, "hl7:value"))
        _add(entry, label or "observation", nested_value or _when(_first(nested,
                                                                       "hl7:effectiveTime")))


def _statement(entry_el: etree._Element) -> Entry:
    """Any other entry (results, vital signs, social and pregnancy history, functional status,
    plan of care, advance directives): its clinical statement, by kind."""
    entry = Entry()
    statement = next((c for c in entry_el if isinstance(c.tag, str)), None)
    if statement is None:
        return entry
    kind = etree.QName(statement).localname
    if kind == "substanceAdministration":
        return _medication(entry_el)
    if kind == "procedure":
        return _procedure_of(statement)
    if kind == "observation":
        _observation(entry, statement)
    elif kind == "organizer":
        _add(entry, "observation", _coded(_first(statement, "hl7:code")))
        _add(entry, "date", _when(_first(statement, "hl7:effectiveTime")))
        for obs in _x(statement, "hl7:component/hl7:observation"):
            label = _coded(_first(obs, "hl7:code"))
            value = _value(_first(obs, "hl7:value"))
            _add(entry, label or "result", value)
        for proc in _x(statement, "hl7:component/hl7:procedure"):
            entry.fields.extend(_procedure_of(proc).fields)
    else:  # act, encounter, supply, ...
        code = _coded(_first(statement, "hl7:code"))
        if code and code.system == ABSENT:
            _add(entry, "146", code)
            return entry
        _add(entry, "description", code)
        _add(entry, "description", _said(_first(statement, "hl7:text")) if not code else "")
        _add(entry, "date", _when(_first(statement, "hl7:effectiveTime")))
        for obs in _x(statement, "hl7:entryRelationship/hl7:observation"):
            _observation(entry, obs)
    if statement.get("moodCode") in ("INT", "RQO", "PRP", "ARQ", "PRMS", "APT"):
        entry.fields.insert(0, Field("status", Word("status.planned", "")))
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
    _instructions(entry, supply)
    return entry


def _unstructured(entry_el: etree._Element) -> Entry:
    """An entry none of the readers understood: its own narrative text, marked as such (never
    dropped silently)."""
    texts: list[str] = []
    for ref in _x(entry_el, ".//hl7:reference/@value"):
        found = _refs().get(str(ref).lstrip("#"))
        if found and found not in texts:
            texts.append(found)
    if not texts:
        inline = " ".join(" ".join(t.split()) for t in _x(entry_el, ".//hl7:text//text()")
                          if t.strip())
        if inline:
            texts.append(inline)
    return Entry(unstructured=" · ".join(texts))


_ENTRY_READERS = {
    "10160-0": _medication,
    "57828-6": _medication,
    "60590-7": _dispensation,
    "48765-2": _allergy,
    "11450-4": _problem,
    "11348-0": _problem,
    "47519-4": _procedure,
    "46264-8": _device,
    "11369-6": _immunisation,
}


def _read_entry(code: str, entry_el: etree._Element) -> Entry:
    reader = _ENTRY_READERS.get(code, _statement)
    entry = reader(entry_el)
    if not entry.fields and reader is not _statement:
        entry = _statement(entry_el)
    if not entry.fields:
        entry = _unstructured(entry_el)
    return entry


EPSOS_MEDICATION = "urn:epsos-org:ep:medication"


def _epsos_to_pharm(root: etree._Element) -> None:
    """Older (epSOS, wave 5) documents name the medication extension ``urn:epsos-org:ep:
    medication`` where wave 7 says ``urn:hl7-org:pharm``, element for element: read them as
    one (on our own parsed copy; the document itself is not touched)."""
    pharm = NS["pharm"]
    for node in root.iter(f"{{{EPSOS_MEDICATION}}}*"):
        node.tag = f"{{{pharm}}}{etree.QName(node).localname}"


def _references(root: etree._Element) -> dict[str, str]:
    refs: dict[str, str] = {}
    for node in root.xpath("//hl7:section/hl7:text//*[@ID]", namespaces=NS):
        if etree.QName(node).localname == "tr":
            # A whole table row (a medication line): its cells, kept apart.
            cells = (" ".join(c.xpath("string()").split())
                     for c in node.xpath("hl7:td|hl7:th", namespaces=NS))
            text = " · ".join(c for c in cells if c)
        else:
            text = " ".join(" ".join(node.itertext()).split())
        if text:
            refs[node.get("ID")] = text
    return refs


def _person(node: etree._Element | None) -> str:
    return " ".join(p for p in (_text(node, "hl7:name/hl7:given"),
                                _text(node, "hl7:name/hl7:family")) if p)


def document_view(document: bytes) -> DocumentView:
    """Read a pivot CDA (any country's) into a :class:`DocumentView`."""
    root = parse_xml(document)
    _epsos_to_pharm(root)
    token = _REFS.set(_references(root))
    try:
        return _document_view(root)
    finally:
        _REFS.reset(token)


def _document_view(root: etree._Element) -> DocumentView:
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
    gender = _first(patient, "hl7:administrativeGenderCode")
    gender_code = gender.get("code", "") if gender is not None else ""
    if f"gender.{gender_code}" in WORDS:
        # HL7 AdministrativeGender has three codes: said in the reader's language whatever
        # display name the source country wrote ("Žena", "weiblich").
        _add(_header, "33", Word(f"gender.{gender_code}", gender.get("displayName") or ""))
    else:
        _add(_header, "33", _coded(gender))
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
        for entry_el in _x(section_el, "hl7:entry"):
            section.source_entries += 1
            section.entries.append(_read_entry(code, entry_el))
        view.sections.append(section)
    return view
