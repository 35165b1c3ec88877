"""Which coded element binds which value set, per document kind: the eHDSI coded element list.

Read from ``tm/coded_element_list_ehdsi.xml`` of the specification (XPath, usage R / RNFA / O /
NA per document type, value-set OID). Its XPaths name CDA elements without namespaces; they are
compiled with the right namespace per step (:func:`qualify`) because the pivot mixes the HL7 and
``urn:hl7-org:pharm`` namespaces along one path.

Where the eHDSI v8.0.0 schematron accepts more than the single value set of the list (e.g. a
reaction manifestation from eHDSIReactionAllergy as well as eHDSIIllnessandDisorder), the
accepted alternatives are listed in :data:`ALTERNATIVES`, taken from the schematron's own
"SHALL be one of" assertions. The conformance judge is the schematron; the list is the map.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ncp.cda.kinds import DocumentKind
from ncp.validation.specs import specs_dir
from ncp.xmlutil import NS

_PREFIXES = {"hl7": NS["hl7"], "pharm": NS["pharm"]}

VS = "1.3.6.1.4.1.12559.11.10.1.3.1.42"

#: Usage column of the list per document kind.
USAGE_COLUMN = {
    DocumentKind.PATIENT_SUMMARY: "patientSummaryCDAl3",
    DocumentKind.EPRESCRIPTION: "ePrescriptionCDAl3",
    DocumentKind.EDISPENSATION: "eDispensationCDAl3",
}

#: Value sets the list does not name but the schematron accepts, by the list's value set
#: (applies wherever that value set is bound) or by the exact element path.
ALTERNATIVES: dict[str, tuple[str, ...]] = {
    # eHDSIConfidentiality (42.31) is in neither the MVC 8.1 files nor the release; the v8.0.0
    # schematron binds confidentialityCode to HL7 v3 ConfidentialityClassification.
    f"{VS}.31": ("2.16.840.1.113883.1.11.10228",),
    # Problems: illness and disorder, or "no known problems", or a rare disease.
    f"{VS}.5": (f"{VS}.50", f"{VS}.63", f"{VS}.11"),
    # Allergy agent: a non-drug allergen, an active ingredient, or a substance.
    f"{VS}.24": (f"{VS}.19", f"{VS}.61"),
    # "No known ..." codes of the IPS absent/unknown code system.
    f"{VS}.8": (f"{VS}.48",),
    f"{VS}.10": (f"{VS}.51",),
}

#: Coded elements the v8.0.0 schematron binds but the list omits: (path, usage per kind, set).
EXTRA_BINDINGS: tuple[tuple[str, dict[str, str], str], ...] = (
    # The package of a medication in the Patient Summary (eHDSIPSManufacturedMaterial).
    ("//entry/substanceAdministration[templateId/@root='1.3.6.1.4.1.12559.11.10.1.3.1.3.4']"
     "/consumable/manufacturedProduct/manufacturedMaterial/asContent/containerPackagedProduct"
     "/formCode", {"patientSummaryCDAl3": "RNFA"}, f"{VS}.3"),
)


@dataclass(frozen=True)
class Binding:
    """One coded element of one document kind."""

    path: str  # as written in the list
    usage: str  # R, RNFA, O
    value_sets: tuple[str, ...]  # the list's value set first
    xpath: etree.XPath
    attribute: str | None  # "unit" for .../@unit bindings
    #: Template ids the path requires: a document without one of them has no such element.
    templates: frozenset[str] = frozenset()
    #: For a path starting ``//x``: the HL7 element ``x``. The compiled XPath then starts from
    #: the variable ``$x`` (every ``x`` of the document, found once per document by the caller)
    #: instead of searching the whole tree again for each binding.
    anchor: str | None = None

    def select(self, root: etree._Element,
               anchors: dict[str, list[etree._Element]]) -> list[etree._Element]:
        if self.anchor is None:
            return self.xpath(root)
        return self.xpath(root, **{self.anchor: anchors[self.anchor]})

    @property
    def required(self) -> bool:
        return self.usage in ("R", "RNFA")

    @property
    def null_allowed(self) -> bool:
        return self.usage != "R"


_ANCHOR = re.compile(r"//hl7:([A-Za-z]+)(?=[/\[]|$)")
_TEMPLATE_TEST = re.compile(r"templateId/@root\s*=\s*'([^']+)'")
_NAME = re.compile(r"[A-Za-z_][\w.-]*")
_OPERATORS = {"and", "or", "div", "mod"}


#: Elements of the ``urn:hl7-org:pharm`` extension (CDA_Pharma.xsd). ``formCode`` is always
#: pharm; ``code``, ``name`` and ``quantity`` are pharm when their parent is a pharm element.
PHARM_ELEMENTS = frozenset({"asContent", "containerPackagedProduct", "asSpecializedKind",
                            "generalizedMaterialKind", "ingredient", "ingredientSubstance",
                            "part", "partProduct", "formCode"})
_PHARM_CHILDREN = frozenset({"code", "name", "quantity", "desc"})


def qualify(path: str) -> str:
    """Prefix the list's bare element names with ``hl7:`` or ``pharm:``.

    ``//entry/substanceAdministration[templateId/@root='x']/.../formCode`` ->
    ``//hl7:entry/hl7:substanceAdministration[hl7:templateId/@root='x']/.../pharm:formCode``.
    Qualified names are matched by libxml2 directly, about five times faster than a
    ``local-name()`` test on every element, which matters at dozens of paths per document.
    """
    out = []
    i = 0
    depth = 0
    previous: list[str] = [""]  # last element name per bracket depth
    while i < len(path):
        ch = path[i]
        if ch in "'\"":
            end = path.index(ch, i + 1)
            out.append(path[i:end + 1])
            i = end + 1
            continue
        if ch == "[":
            depth += 1
            previous.append("")
        elif ch == "]":
            depth -= 1
            previous.pop()
        match = _NAME.match(path, i)
        if match and (i == 0 or (path[i - 1] not in "@$:" and not path[i - 1].isalnum())):
            word = match.group()
            after = path[match.end():].lstrip()
            operator = word in _OPERATORS and bool(out) and out[-1].endswith(" ")
            if operator or after.startswith(("(", "::")):
                out.append(word)
            else:
                parent = previous[-1]
                pharm = word in PHARM_ELEMENTS or (word in _PHARM_CHILDREN
                                                   and parent in PHARM_ELEMENTS)
                out.append(f"{'pharm' if pharm else 'hl7'}:{word}")
                previous[-1] = word
            i = match.end()
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _value_sets(path: str, value_set: str) -> tuple[str, ...]:
    # A product's substance must be an active ingredient, never an allergen: no alternatives.
    if "ingredientSubstance" in path or "generalizedMaterialKind" in path:
        return (value_set,)
    return (value_set, *ALTERNATIVES.get(value_set, ()))


@functools.lru_cache(maxsize=4)
def _load(path: str) -> tuple[tuple[str, dict[str, str], str], ...]:
    root = etree.parse(path, etree.XMLParser(no_network=True, resolve_entities=False))
    rows = []
    for element in root.getroot().iter("codedElement"):
        usage = element.find("usage")
        rows.append((element.findtext("elementPath", "").strip(),
                     {child.tag: (child.text or "").strip() for child in usage},
                     element.findtext("valueSet", "").strip()))
    return tuple(rows)


@functools.lru_cache(maxsize=8)
def bindings_for(kind: DocumentKind, list_path: str | None = None) -> tuple[Binding, ...]:
    """The bindings that apply to ``kind`` (usage other than NA), most specific path first.

    Most specific first because the list's paths overlap (a generic ``//observation/.../value``
    and the exact path of an allergy's criticality): an element takes the first binding that
    selects it.
    """
    source = list_path or str(specs_dir() / "tm" / "coded_element_list_ehdsi.xml")
    found: dict[str, Binding] = {}
    for path, usage, value_set in (*_load(source), *EXTRA_BINDINGS):
        use = usage.get(USAGE_COLUMN[kind], "NA")
        if use in ("", "NA") or not path or not value_set:
            continue
        attribute = None
        element_path = path
        if "/@" in path.rsplit("/", 1)[-1] or path.rsplit("/", 1)[-1].startswith("@"):
            element_path, attribute = path.rsplit("/@", 1)
        # The list repeats a few paths; keep the strongest usage.
        previous = found.get(path)
        if previous and previous.required:
            continue
        qualified = qualify(element_path)
        anchor_match = _ANCHOR.match(qualified)
        anchor = anchor_match.group(1) if anchor_match else None
        if anchor:
            qualified = f"${anchor}{qualified[anchor_match.end():]}"
        found[path] = Binding(path, use, _value_sets(path, value_set),
                              etree.XPath(qualified, namespaces=_PREFIXES), attribute,
                              frozenset(_TEMPLATE_TEST.findall(path)), anchor)
    return tuple(sorted(found.values(), key=lambda b: len(b.path), reverse=True))


_TEMPLATE_ROOTS = etree.XPath("//hl7:templateId/@root", namespaces=_PREFIXES)


def coded_elements(root: etree._Element, kind: DocumentKind,
                   ) -> Iterator[tuple[Binding, etree._Element]]:
    """Every coded element of a document with its binding, each element once (the most
    specific binding wins), in binding order."""
    present = set(_TEMPLATE_ROOTS(root))
    bindings = [b for b in bindings_for(kind) if b.templates <= present]
    # Each element a path starts from (``//entry``...) is found once for all bindings.
    anchors: dict[str, list[etree._Element]] = {}
    for binding in bindings:
        if binding.anchor and binding.anchor not in anchors:
            anchors[binding.anchor] = list(root.iter(f"{{{_PREFIXES['hl7']}}}{binding.anchor}"))
    # Holding the elements (not their id()) keeps lxml's proxies alive, so identity holds.
    seen: set[etree._Element] = set()
    for binding in bindings:
        for node in binding.select(root, anchors):
            if isinstance(node, etree._Element) and node not in seen:
                seen.add(node)
                yield binding, node


def list_file(specs: Path | None = None) -> Path:
    return (specs or specs_dir()) / "tm" / "coded_element_list_ehdsi.xml"
