"""Documents coming in and going out of the portal and the API: upload checks and CDA display.

Uploads are checked before the record service sees them, so that a bad file gets a precise
message: the size, the real type of the bytes (never the file name or the declared type alone),
a PDF must look like a PDF, a CDA must be safe XML and valid against the CDA schema.

A CDA document is shown as HTML built from its header and the narrative blocks of its sections.
Only a fixed set of narrative elements is carried over, without any attribute except table
spans, and all text is escaped by the serialiser: nothing a document contains can run in the
browser.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree
from lxml import html as lxml_html

from ncp.ihe.oids import LU_PROVISIONAL_ID
from ncp.terminology.service import Terminology
from ncp.validation.validator import xsd_errors
from ncp.xmlutil import XmlInputError, parse_xml

#: Largest upload accepted by the portal and the API, in bytes (the store allows more, for
#: documents that arrive through the gateway).
MAX_UPLOAD_BYTES = 10 * 1024 * 1024

HL7 = "urn:hl7-org:v3"
_H = f"{{{HL7}}}"

#: The assigning authority of the Luxembourg matricule (settings.patient_id_root, EHDSI.md): the
#: identifier a national CDA's ``recordTarget`` must carry for the record it is added to.
MATRICULE_ROOT = "1.3.182.4.4"
#: The assigning authority of a DSP opened at a visit (ncp.store.provisional): a CDA for such a
#: record names the person by their provisional identifier under this root.
PROVISIONAL_ROOT = LU_PROVISIONAL_ID.value
#: LOINC code of a Patient Summary document (DocumentKind.PATIENT_SUMMARY).
PS_LOINC = "60591-5"


class UploadRejected(ValueError):
    """An upload that cannot be stored.

    ``reason`` is a stable key: the page says ``error.upload.<reason>`` in the reader's
    language, formatted with ``values``; ``detail`` says why in English, for the API's problem
    details and, when ``technical`` (a schema or transformation message), as the secondary
    detail of the page (issue 15 item 13: a translated summary first).
    """

    def __init__(self, reason: str, detail: str, *, technical: bool = False,
                 key: str | None = None, **values: object) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.technical = technical
        self.key = key or f"error.upload.{reason}"
        self.values = values


#: How an accepted kind of file is named to a person (``error.upload.unsupported``).
KIND_NAMES = {"application/pdf": "PDF", "text/xml": "CDA (XML)", "image/png": "PNG",
              "image/jpeg": "JPEG"}


def too_large() -> UploadRejected:
    mib = MAX_UPLOAD_BYTES // (1024 * 1024)
    return UploadRejected("too-large", f"the file exceeds {mib} MiB", mib=mib)


@dataclass(frozen=True, slots=True)
class RecordTarget:
    """Who a CDA document says it is about (its ``recordTarget``), for the safety checks."""

    matricules: tuple[str, ...]
    name: str
    birth: str

    def names(self, matricule: str) -> bool:
        return matricule in self.matricules


def record_target(root: etree._Element) -> RecordTarget:
    """The matricule(s) (root 1.3.182.4.4) or provisional identifiers (root 1.3.182.4.9, P
    and 12 digits), name and birth date a CDA's header names."""
    role = root.find(f"{_H}recordTarget/{_H}patientRole")
    if role is None:
        return RecordTarget((), "", "")
    ids = tuple((i.get("extension") or "").strip() for i in role.findall(f"{_H}id")
                if i.get("extension") and (
                    i.get("root") == MATRICULE_ROOT
                    or (i.get("root") == PROVISIONAL_ROOT
                        and (i.get("extension") or "").strip().startswith("P"))))
    birth = role.find(f"{_H}patient/{_H}birthTime")
    return RecordTarget(ids, _name(role.find(f"{_H}patient/{_H}name")),
                        _hl7_time(birth.get("value")) if birth is not None else "")


def document_target(content: bytes) -> RecordTarget | None:
    """:func:`record_target` of stored CDA bytes, or None when they are not readable XML."""
    try:
        return record_target(parse_xml(content))
    except XmlInputError:
        return None


@dataclass(frozen=True, slots=True)
class CheckedUpload:
    media_type: str
    content: bytes
    #: The title the CDA document carries, if any.
    title: str | None = None


def sniff(content: bytes) -> str | None:
    """The media type the bytes really have (by their first bytes), or None."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return "text/xml"
    return None


PROFESSIONAL_TYPES = frozenset({"application/pdf", "text/xml"})
PERSONAL_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "text/plain"})


def check_upload(content: bytes, declared: str | None = None, *,
                 allow: frozenset[str] = PROFESSIONAL_TYPES, matricule: str | None = None,
                 doc_type: str | None = None,
                 terminology: Terminology | None = None) -> CheckedUpload:
    """Check an uploaded file and return what to store; raises :class:`UploadRejected`.

    ``matricule``: the record the file goes to. A CDA must name that patient in its
    ``recordTarget`` (issue 15: a summary headed "Jean Schmit" was stored in Tom Wagner's record
    and sent abroad as Tom's). ``doc_type="patient-summary"``: only a national PS CDA that
    transcodes to the eHDSI pivot may become the summary (a PDF there leaves the patient with
    no summary abroad, 4203).
    """
    if not content:
        raise UploadRejected("empty", "the file is empty")
    if len(content) > MAX_UPLOAD_BYTES:
        raise too_large()
    declared = (declared or "").split(";")[0].strip().lower()
    if declared in ("application/xml",):
        declared = "text/xml"
    actual = sniff(content)
    if declared == "application/pdf" and actual != "application/pdf":
        raise UploadRejected("not-pdf", "the file is declared as PDF but is not a PDF")
    if actual is None or actual not in allow:
        raise UploadRejected("unsupported", "only " + ", ".join(sorted(allow)) +
                             " files are accepted",
                             kinds=", ".join(KIND_NAMES.get(a, a) for a in sorted(allow)))
    if doc_type == "patient-summary" and actual != "text/xml":
        raise UploadRejected("not-ps", "a patient summary must be a national Patient Summary "
                             "CDA (XML); a PDF or image cannot be sent abroad as one",
                             key="error.upload.not-ps-file")
    if actual == "application/pdf":
        if b"%%EOF" not in content[-2048:]:
            raise UploadRejected("not-pdf", "the PDF is truncated (no end-of-file marker)",
                                 key="error.upload.pdf-truncated")
        return CheckedUpload("application/pdf", content)
    if actual == "text/xml":
        checked = _check_cda(content)
        root = parse_xml(content)
        if matricule is not None:
            check_patient(record_target(root), matricule)
        if doc_type == "patient-summary":
            _check_patient_summary(root, content, terminology)
        return checked
    return CheckedUpload(actual, content)


def check_patient(target: RecordTarget, matricule: str) -> None:
    """Refuse a CDA that does not name the record's patient by matricule."""
    if not target.matricules:
        raise UploadRejected("no-patient", "the CDA does not name the patient: its recordTarget "
                             f"has no identifier with root {MATRICULE_ROOT} (the matricule)",
                             root=MATRICULE_ROOT)
    if not target.names(matricule):
        who = ", ".join(p for p in (target.name, target.birth) if p)
        raise UploadRejected("wrong-patient", f"the CDA is about another patient ({who}; "
                             f"matricule {target.matricules[0]}), not this record's patient "
                             f"({matricule}); nothing was stored", who=who or "?",
                             found=target.matricules[0], matricule=matricule)


def _check_patient_summary(root: etree._Element, content: bytes,
                           terminology: Terminology | None) -> None:
    code = root.find(f"{_H}code")
    if code is None or code.get("code") != PS_LOINC:
        raise UploadRejected("not-ps", "the CDA is not a Patient Summary (document code "
                             f"{code.get('code') if code is not None else 'missing'}, "
                             f"expected LOINC {PS_LOINC})", technical=True)
    from ncp.errors import NcpError
    from ncp.transform import to_pivot

    try:
        to_pivot(content, kind="ps", terminology=terminology)
    except NcpError as exc:
        raise UploadRejected("not-ps", "the Patient Summary cannot be sent abroad: "
                             f"{exc}", technical=True) from None


def _check_cda(content: bytes) -> CheckedUpload:
    try:
        root = parse_xml(content)
    except XmlInputError as exc:
        raise UploadRejected("invalid-cda", f"the XML cannot be read: {exc}",
                             technical=True) from None
    if root.tag != f"{_H}ClinicalDocument":
        raise UploadRejected("invalid-cda", "the XML is not an HL7 CDA ClinicalDocument",
                             technical=True)
    if _stylesheet_pis(root):
        # A browser opening the stored XML would run the named XSLT (scripts included) in
        # whatever origin serves it; a CDA needs none (we render it ourselves).
        raise UploadRejected("invalid-cda", "the XML carries an xml-stylesheet instruction",
                             technical=True)
    errors = xsd_errors(root)
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise UploadRejected("invalid-cda", f"the CDA does not validate against the CDA "
                             f"schema: line {first.line}: {first.message}{more}",
                             technical=True)
    title = "".join(root.find(f"{_H}title").itertext()).strip() \
        if root.find(f"{_H}title") is not None else ""
    return CheckedUpload("text/xml", content, title[:300] or None)


def _stylesheet_pis(root: etree._Element) -> bool:
    """Whether an ``<?xml-stylesheet?>`` instruction sits before, in or after the root."""
    around = [*root.itersiblings(preceding=True), *root.itersiblings()]
    inside = root.iter(etree.ProcessingInstruction)
    return any(isinstance(node, etree._ProcessingInstruction) and
               node.target.lower() == "xml-stylesheet" for node in (*around, *inside))


# --------------------------------------------------------------------------- CDA as HTML

_NARRATIVE = {
    "paragraph": "p", "list": "ul", "item": "li", "table": "table", "thead": "thead",
    "tbody": "tbody", "tfoot": "tfoot", "tr": "tr", "th": "th", "td": "td", "caption": "caption",
    "content": "span", "br": "br", "sub": "sub", "sup": "sup", "footnote": "small",
    "linkHtml": "span", "col": None, "colgroup": None, "renderMultiMedia": None,
}


def _narrative(source: etree._Element, target: etree._Element) -> None:
    """Copy ``source``'s text and whitelisted children into ``target`` (no attributes)."""
    target.text = (target.text or "") + (source.text or "")
    for child in source:
        if not isinstance(child.tag, str):  # comments, processing instructions
            _append_tail(target, child.tail)
            continue
        local = etree.QName(child).localname
        tag = _NARRATIVE.get(local, "span")
        if tag is None:
            _append_tail(target, child.tail)
            continue
        if local == "list" and child.get("listType") == "ordered":
            tag = "ol"
        out = etree.SubElement(target, tag)
        for span in ("colspan", "rowspan"):
            value = child.get(span)
            if value and value.isdigit():
                out.set(span, value)
        _narrative(child, out)
        out.tail = child.tail


def _append_tail(target: etree._Element, text: str | None) -> None:
    if not text:
        return
    if len(target):
        target[-1].tail = (target[-1].tail or "") + text
    else:
        target.text = (target.text or "") + text


def _name(element: etree._Element | None) -> str:
    if element is None:
        return ""
    parts = [p.text.strip() for tag in ("prefix", "given", "family")
             for p in element.iter(f"{_H}{tag}") if p.text and p.text.strip()]
    return " ".join(parts) or "".join(element.itertext()).strip()


def _hl7_time(value: str | None) -> str:
    if not value or len(value) < 8 or not value[:8].isdigit():
        return value or ""
    text = f"{value[6:8]}.{value[4:6]}.{value[0:4]}"
    if len(value) >= 12 and value[8:12].isdigit():
        text += f" {value[8:10]}:{value[10:12]}"
    return text


def _text(element: etree._Element | None) -> str:
    """All the text of an element (markup inside a title is read as text)."""
    return "".join(element.itertext()).strip() if element is not None else ""


def _section(section: etree._Element, parent: etree._Element, level: int) -> None:
    box = etree.SubElement(parent, "section")
    title = _text(section.find(f"{_H}title"))
    if title:
        etree.SubElement(box, f"h{min(level, 6)}").text = title.strip()
    text = section.find(f"{_H}text")
    if text is not None:
        body = etree.SubElement(box, "div", {"class": "narrative"})
        _narrative(text, body)
    for sub in section.findall(f"{_H}component/{_H}section"):
        _section(sub, box, level + 1)


DEFAULT_LABELS = {"patient": "Patient", "birth": "Born", "author": "Author", "date": "Date"}


def cda_to_html(content: bytes, labels: dict[str, str] | None = None) -> str:
    """An HTML fragment showing a CDA document's header and narrative (safe to embed)."""
    words = {**DEFAULT_LABELS, **(labels or {})}
    root = parse_xml(content)
    out = etree.Element("article", {"class": "cda"})
    header = etree.SubElement(out, "header")
    etree.SubElement(header, "h2").text = _text(root.find(f"{_H}title"))
    facts = etree.SubElement(header, "dl")

    def fact(label: str, value: str) -> None:
        if value:
            etree.SubElement(facts, "dt").text = label
            etree.SubElement(facts, "dd").text = value

    person = f"{_H}recordTarget/{_H}patientRole/{_H}patient"
    fact(words["patient"], _name(root.find(f"{person}/{_H}name")))
    birth = root.find(f"{_H}recordTarget/{_H}patientRole/{_H}patient/{_H}birthTime")
    fact(words["birth"], _hl7_time(birth.get("value")) if birth is not None else "")
    author = root.find(f"{_H}author/{_H}assignedAuthor")
    if author is not None:
        org = author.findtext(f"{_H}representedOrganization/{_H}name") or ""
        who = _name(author.find(f"{_H}assignedPerson/{_H}name"))
        fact(words["author"], ", ".join(p for p in (who, org.strip()) if p))
    effective = root.find(f"{_H}effectiveTime")
    fact(words["date"], _hl7_time(effective.get("value")) if effective is not None else "")
    for section in root.findall(f"{_H}component/{_H}structuredBody/{_H}component/{_H}section"):
        _section(section, out, 3)
    nb = root.find(f"{_H}component/{_H}nonXMLBody")
    if nb is not None:
        etree.SubElement(out, "p").text = "(non-XML body)"
    return lxml_html.tostring(out, encoding="unicode", method="html")
