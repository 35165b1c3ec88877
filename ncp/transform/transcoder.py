"""Transcoding between Luxembourg's national CDA profile and the eHDSI pivot.

``to_pivot`` (Patient Summary, ePrescription) and ``to_national`` (received eDispensation) walk the
coded elements of the eHDSI coded element list (:mod:`ncp.transform.bindings`) and, for each one:

- keeps a code that is already a member of one of the element's value sets;
- otherwise replaces it by its transcoding association (national mapping files loaded into the
  terminology tables), moving the original code into a ``<translation>`` child, and checks that
  the target really is a member of the value set (a mapping cannot smuggle a foreign code in);
- otherwise, for a *required* element (usage R or RNFA), fails the whole document with the
  dictionary's code (ERROR_PS_/ERROR_EP_/ERROR_ED_MISSING_EXPECTED_MAPPING, :mod:`ncp.errors`)
  and the element's XPath; for an *optional* one, keeps the original code and reports a warning.

There is never a fallback to the untranslated document: the caller gets a pivot document or an
exception.

A *received* eDispensation is the exception (``to_national(..., keep_unmapped=True)``, what the
ePrescription service uses): the medicine has already been handed over abroad, so a descriptive
code without a national mapping must not leave our prescription open for a second dispensation.
Such a code is kept exactly as received (code, codeSystem, displayName) and reported in
``warnings`` for follow-up (``ncp terminology unmapped``); codes of the international systems the
national profile carries as they are (ATC, EDQM) pass without any table. The identifying
elements of an eD (document, patient, prescription, quantities) are not coded elements; they
are checked, strictly, by :mod:`ncp.eprescription.dispensation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from ncp.cda.kinds import DocumentKind, detect_kind
from ncp.cda.national import NATIONAL_TEMPLATES
from ncp.errors import ErrorCode, NcpError
from ncp.terminology.codesystems import BY_OID
from ncp.terminology.service import Terminology, default_terminology
from ncp.transform.bindings import Binding, coded_elements
from ncp.xmlutil import NS, XmlInputError, parse_xml

HL7 = NS["hl7"]
_TRANSLATION = f"{{{HL7}}}translation"
UCUM = "2.16.840.1.113883.6.8"
#: International code systems the national profile carries as they are (no mapping needed):
#: WHO ATC (2.16.840.1.113883.6.73) and EDQM Standard Terms (0.4.0.127.0.16.1.1.2.1).
PASS_THROUGH_SYSTEMS = frozenset({"2.16.840.1.113883.6.73", "0.4.0.127.0.16.1.1.2.1"})

_MISSING_MAPPING = {
    DocumentKind.PATIENT_SUMMARY: ErrorCode.PS_MISSING_EXPECTED_MAPPING,
    DocumentKind.EPRESCRIPTION: ErrorCode.EP_MISSING_EXPECTED_MAPPING,
    DocumentKind.EDISPENSATION: ErrorCode.ED_MISSING_EXPECTED_MAPPING,
}


class TranscodingError(NcpError):
    """A document could not be transcoded; ``location`` is the XPath of the failing element.

    ``reason`` says why: ``no-mapping``, ``unknown-code-system``, ``outside-value-set``,
    ``missing-code``, ``wrong-document``.
    """

    def __init__(self, error: ErrorCode, detail: str, *, location: str = "",
                 reason: str = "") -> None:
        super().__init__(error, detail, location=location)
        self.reason = reason


@dataclass(frozen=True)
class TranscodeWarning:
    """An optional element kept with its original code."""

    location: str
    code: str
    code_system: str
    reason: str
    value_sets: tuple[str, ...]
    #: The displayName as received (kept on the element when the code is kept).
    display: str = ""


@dataclass
class TranscodeResult:
    document: bytes
    kind: DocumentKind
    document_id: tuple[str, str]
    warnings: list[TranscodeWarning] = field(default_factory=list)
    #: Number of coded elements looked at, and how many were rewritten.
    coded_elements: int = 0
    transcoded: int = 0


def element_path(node: etree._Element) -> str:
    """``/hl7:ClinicalDocument[1]/hl7:component[1]/...``: the same notation as the validator."""
    prefixes = {NS["hl7"]: "hl7", NS["pharm"]: "pharm"}
    steps = []
    current = node
    while current is not None:
        q = etree.QName(current)
        parent = current.getparent()
        index = 1
        if parent is not None:
            for sibling in parent:
                if sibling is current:
                    break
                if sibling.tag == current.tag:
                    index += 1
        prefix = prefixes.get(q.namespace or "", "")
        steps.append(f"{prefix + ':' if prefix else ''}{q.localname}[{index}]")
        current = parent
    return "/" + "/".join(reversed(steps))


def _text(reason: str, code: str, system: str, binding: Binding) -> str:
    sets = " or ".join(binding.value_sets)
    what = {
        "no-mapping": "has no mapping to",
        "unknown-code-system": "is in an unknown code system, not mappable to",
        "outside-value-set": "is outside",
        "missing-code": "has no code for",
    }[reason]
    return f"code {code or '(none)'} ({system or 'no code system'}) {what} value set {sets}"


class _Transcoder:
    def __init__(self, terminology: Terminology, kind: DocumentKind, *, direction: str,
                 keep_unmapped: bool = False) -> None:
        self.terms = terminology
        self.keep_unmapped = keep_unmapped
        self.kind = kind
        self.direction = direction  # "pivot" or "national"
        self.warnings: list[TranscodeWarning] = []
        self.coded = 0
        self.transcoded = 0

    def run(self, root: etree._Element) -> None:
        for binding, node in coded_elements(root, self.kind):
            self.coded += 1
            if binding.attribute:
                self._attribute(node, binding)
            else:
                self._element(node, binding)

    # --- failures --------------------------------------------------------------------------

    def _fail_or_warn(self, node: etree._Element, binding: Binding, reason: str, code: str,
                      system: str, location: str | None = None) -> None:
        location = location or element_path(node)
        if binding.required and not self.keep_unmapped:
            raise TranscodingError(_MISSING_MAPPING[self.kind],
                                   _text(reason, code, system, binding), location=location,
                                   reason=reason)
        self.warnings.append(TranscodeWarning(location, code, system, reason,
                                              binding.value_sets,
                                              node.get("displayName") or ""))

    def _reason(self, system: str, binding: Binding) -> str:
        if system not in BY_OID:
            return "unknown-code-system"
        systems = {s for vs in binding.value_sets for s in self._systems_of(vs)}
        return "outside-value-set" if system in systems else "no-mapping"

    def _systems_of(self, value_set: str) -> set[str]:
        return self.terms.systems_of(value_set)

    # --- attributes (UCUM units) -----------------------------------------------------------

    def _attribute(self, node: etree._Element, binding: Binding) -> None:
        value = node.get(binding.attribute or "")
        if value is None:
            return
        if any(self.terms.is_member(vs, UCUM, value) for vs in binding.value_sets):
            return
        self._fail_or_warn(node, binding, "outside-value-set", value, UCUM,
                           f"{element_path(node)}/@{binding.attribute}")

    # --- coded elements --------------------------------------------------------------------

    def _element(self, node: etree._Element, binding: Binding) -> None:
        code = node.get("code")
        system = node.get("codeSystem", "")
        if code is None:
            if node.get("nullFlavor") and binding.null_allowed:
                return
            self._fail_or_warn(node, binding, "missing-code", "", system)
            return
        member_of = next((vs for vs in binding.value_sets
                          if self.terms.is_member(vs, system, code)), None)
        if self.direction == "pivot":
            if member_of:
                self._complete(node, member_of, system, code)
                return
            self._to_pivot(node, binding, code, system)
        else:
            self._to_national(node, binding, code, system, member_of)

    def _complete(self, node: etree._Element, value_set: str, system: str, code: str) -> None:
        """An MVC code kept as is: make sure it carries the names the schematron requires."""
        if not node.get("displayName"):
            display = self.terms.display(value_set, system, code)
            if display:
                node.set("displayName", display)
        if not node.get("codeSystemName") and system in BY_OID:
            node.set("codeSystemName", BY_OID[system].name)

    def _to_pivot(self, node: etree._Element, binding: Binding, code: str, system: str) -> None:
        for vs in binding.value_sets:
            mapping = self.terms.transcode(system, code, vs)
            if mapping is None:
                continue
            if not self.terms.is_member(vs, mapping.target_system, mapping.target_code):
                # The mapping file changed under the catalogue: refuse, never emit it.
                self._fail_or_warn(node, binding, "outside-value-set", mapping.target_code,
                                   mapping.target_system)
                return
            self._rewrite(node, mapping.target_system, mapping.target_code,
                          mapping.target_display)
            return
        self._fail_or_warn(node, binding, self._reason(system, binding), code, system)

    def _to_national(self, node: etree._Element, binding: Binding, code: str, system: str,
                     member_of: str | None) -> None:
        national_system = next((s for vs in binding.value_sets
                                if (s := self.terms.national_system(vs))), None)
        if national_system is None:
            # The national profile uses this element's international codes as they are.
            if member_of is None:
                self._fail_or_warn(node, binding, self._reason(system, binding), code, system)
            else:
                self._complete(node, member_of, system, code)
            return
        if system == national_system:
            return
        if member_of is None:
            self._fail_or_warn(node, binding, self._reason(system, binding), code, system)
            return
        found = self.terms.reverse(system, code, national_system)
        if found is None:
            if system in PASS_THROUGH_SYSTEMS:
                # An ATC or EDQM code of the value set: the national profile carries it as is.
                self._complete(node, member_of, system, code)
                return
            self._fail_or_warn(node, binding, "no-mapping", code, system)
            return
        label = self.terms.designation(found[0], found[1], "fr")
        self._rewrite(node, found[0], found[1], label.text if label else found[1])

    def _rewrite(self, node: etree._Element, system: str, code: str, display: str) -> None:
        """Replace the code of ``node``, keeping the original as a ``<translation>`` child."""
        get = node.get
        old_code = get("code") or ""
        old_system = get("codeSystem") or ""
        original = {"code": old_code, "codeSystem": old_system}
        old_name = get("codeSystemName") or (BY_OID[old_system].name if old_system in BY_OID
                                             else "")
        if old_name:
            original["codeSystemName"] = old_name
        original["displayName"] = get("displayName") or old_code
        if len(node):
            for old in node.iterchildren(_TRANSLATION):
                if old.get("code") == code and old.get("codeSystem") == system:
                    node.remove(old)  # the new main code need not repeat as a translation
        node.set("code", code)
        node.set("codeSystem", system)
        known = BY_OID.get(system)
        if known is not None:
            node.set("codeSystemName", known.name)
        elif old_name and get("codeSystemName") is not None:
            del node.attrib["codeSystemName"]
        if get("codeSystemVersion") is not None:
            del node.attrib["codeSystemVersion"]
        node.set("displayName", display)
        # CD's children are HL7 elements even under a pharm: element (the type is HL7's).
        etree.SubElement(node, _TRANSLATION, original)
        self.transcoded += 1


def _parse(document: bytes, kind: DocumentKind) -> etree._Element:
    try:
        return parse_xml(document)
    except XmlInputError as exc:
        raise TranscodingError(ErrorCode.TRANSCODING_ERROR, f"not a CDA document: {exc}",
                               reason="wrong-document") from None


def _set_template(root: etree._Element, old: str, new: str) -> None:
    for template in root.findall(f"{{{HL7}}}templateId"):
        if template.get("root") == old:
            template.set("root", new)


def _add_xfrm(root: etree._Element, parent_id: tuple[str, str]) -> None:
    """relatedDocument XFRM pointing at the document this one was transformed from."""
    for related in root.findall(f"{{{HL7}}}relatedDocument"):
        root.remove(related)
    anchor_names = ("authorization", "componentOf", "component")
    # Comments and processing instructions are lawful children of ClinicalDocument (XML 1.0,
    # CDA_Pharma.xsd): only elements have a name.
    anchor = next((child for child in root if isinstance(child.tag, str)
                   and etree.QName(child).localname in anchor_names), None)
    related = etree.Element(f"{{{HL7}}}relatedDocument", typeCode="XFRM")
    parent_doc = etree.SubElement(related, f"{{{HL7}}}parentDocument")
    ident = etree.SubElement(parent_doc, f"{{{HL7}}}id", root=parent_id[0])
    if parent_id[1]:
        ident.set("extension", parent_id[1])
    if anchor is None:
        root.append(related)
    else:
        anchor.addprevious(related)


def _document_id(root: etree._Element) -> tuple[str, str]:
    ident = root.find(f"{{{HL7}}}id")
    if ident is None:
        raise TranscodingError(ErrorCode.TRANSCODING_ERROR, "the document has no id",
                               location="/hl7:ClinicalDocument[1]", reason="wrong-document")
    return ident.get("root", ""), ident.get("extension", "")


def _national_kind(root: etree._Element) -> DocumentKind | None:
    roots = set(root.xpath("hl7:templateId/@root", namespaces=NS))
    return next((k for k, t in NATIONAL_TEMPLATES.items() if t in roots), None)


_KIND_NAMES = {"patient-summary": DocumentKind.PATIENT_SUMMARY,
               "prescription": DocumentKind.EPRESCRIPTION,
               "dispensation": DocumentKind.EDISPENSATION}


def as_kind(kind: DocumentKind | str) -> DocumentKind:
    """A kind given as the enum, a slug (``ps``, ``ep``, ``ed``) or a record-store document type
    (``patient-summary``, ``prescription``, ``dispensation``)."""
    if isinstance(kind, DocumentKind):
        return kind
    return _KIND_NAMES.get(kind) or DocumentKind.from_slug(kind)


def to_pivot(national_cda: bytes, *, kind: DocumentKind | str,
             terminology: Terminology | None = None) -> TranscodeResult:
    """The eHDSI pivot of a national Patient Summary or ePrescription.

    Raises :class:`TranscodingError` (an :class:`NcpError`) for a document of another kind, and
    for a required coded element that cannot be brought into its value set.
    """
    kind = as_kind(kind)
    if kind not in (DocumentKind.PATIENT_SUMMARY, DocumentKind.EPRESCRIPTION):
        raise TranscodingError(ErrorCode.TRANSCODING_ERROR,
                               f"no national-to-pivot transcoding for {kind.title}",
                               reason="wrong-document")
    root = _parse(national_cda, kind)
    found = _national_kind(root)
    if found is not kind:
        what = found.title if found else (
            f"an eHDSI {detect_kind(root).title}" if detect_kind(root) else "not a national CDA")
        raise TranscodingError(ErrorCode.TRANSCODING_ERROR,
                               f"expected a national {kind.title}, got {what}",
                               location="/hl7:ClinicalDocument[1]/hl7:templateId",
                               reason="wrong-document")
    national_id = _document_id(root)
    worker = _Transcoder(terminology or default_terminology(), kind, direction="pivot")
    worker.run(root)
    _set_template(root, NATIONAL_TEMPLATES[kind], kind.template_id)
    ident = root.find(f"{{{HL7}}}id")
    ident.set("extension", f"{national_id[1]}-P" if national_id[1] else "P")
    _add_xfrm(root, national_id)
    document = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return TranscodeResult(document, kind, _document_id(root), worker.warnings, worker.coded,
                           worker.transcoded)


def to_national(pivot_cda: bytes, *, terminology: Terminology | None = None,
                kind: DocumentKind | str = DocumentKind.EDISPENSATION,
                keep_unmapped: bool = False) -> TranscodeResult:
    """The national form of a received eHDSI eDispensation (MVC codes -> national codes).

    ``keep_unmapped``: a code that cannot be made national is kept as received and reported
    in ``warnings`` instead of failing the document (see the module docstring)."""
    kind = as_kind(kind)
    if kind is not DocumentKind.EDISPENSATION:
        raise TranscodingError(ErrorCode.TRANSCODING_ERROR,
                               f"no pivot-to-national transcoding for {kind.title}",
                               reason="wrong-document")
    root = _parse(pivot_cda, kind)
    found = detect_kind(root)
    if found is not kind:
        raise TranscodingError(ErrorCode.TRANSCODING_ERROR,
                               f"expected an eHDSI eDispensation, got "
                               f"{found.title if found else 'another document'}",
                               location="/hl7:ClinicalDocument[1]/hl7:templateId",
                               reason="wrong-document")
    pivot_id = _document_id(root)
    worker = _Transcoder(terminology or default_terminology(), kind, direction="national",
                         keep_unmapped=keep_unmapped)
    worker.run(root)
    _set_template(root, kind.template_id, NATIONAL_TEMPLATES[kind])
    _add_xfrm(root, pivot_id)
    document = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return TranscodeResult(document, kind, pivot_id, worker.warnings, worker.coded,
                           worker.transcoded)
