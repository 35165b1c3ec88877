"""Level 1 renditions: a PDF of a Patient Summary or ePrescription, and its eHDSI L1 CDA wrapper.

The PDF is what a person reads when the structured document cannot be processed: the header
(patient, author, organisation, dates) and every section's own narrative (tables, paragraphs,
lists) in the document's original language, made with fpdf2. A Unicode TrueType font is used
when the system has one (DejaVu Sans), so French and German text prints as written; without it
the PDF falls back to a core font and transliterates the few characters outside Latin-1.

:func:`level1_cda` wraps the PDF as the eHDSI level 1 document (CDA header of the pivot,
``nonXMLBody`` with the base64 PDF, L1 template id): the document the XDS ``XFRM`` association
links to its structured twin (format code ``urn:ihe:iti:xds-sd:pdf:2008``).
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
from pathlib import Path

from fpdf import FPDF
from lxml import etree

from ncp.cda.kinds import DocumentKind, detect_kind
from ncp.rendering.view import Field, document_view
from ncp.xmlutil import NS, parse_xml

HL7 = NS["hl7"]

_FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
)
_BOLD_CANDIDATES = tuple(p.with_name("DejaVuSans-Bold.ttf") for p in _FONT_CANDIDATES)

#: Header labels of the PDF, in the reader's language (see :func:`render_pdf`).
_HEADER_LABELS = {
    "fr": {"51": "Patient", "19": "Date de naissance", "33": "Sexe", "125": "Identifiant",
           "13": "Pays", "7": "Auteur", "64": "Profession", "47": "Organisation",
           "16": "Dépositaire", "131": "Date du document",
           "58": "Identifiant de la prescription", "20": "Date de prescription"},
    "de": {"51": "Patient", "19": "Geburtsdatum", "33": "Geschlecht", "125": "Kennung",
           "13": "Land", "7": "Autor", "64": "Beruf", "47": "Organisation",
           "16": "Verwahrer", "131": "Dokumentdatum", "58": "Verordnungskennung",
           "20": "Verordnungsdatum"},
    "en": {"51": "Patient", "19": "Date of birth", "33": "Gender", "125": "Identifier",
           "13": "Country", "7": "Author", "64": "Profession", "47": "Organisation",
           "16": "Custodian", "131": "Document date", "58": "Prescription ID",
           "20": "Date of prescription"},
}

_LATIN1_FALLBACK = str.maketrans({"œ": "oe", "Œ": "OE", "’": "'", "‘": "'", "“": '"', "”": '"',
                                  "–": "-", "—": "-", "…": "...", "€": "EUR"})


class _Pdf(FPDF):
    def __init__(self, title: str, footer: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self._title = title
        self._footer = footer
        regular = next((p for p in _FONT_CANDIDATES if p.is_file()), None)
        bold = next((p for p in _BOLD_CANDIDATES if p.is_file()), None)
        if regular is not None:
            self.add_font("Body", "", str(regular))
            self.add_font("Body", "B", str(bold or regular))
            self.family = "Body"
            self.unicode = True
        else:
            self.family = "Helvetica"
            self.unicode = False
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(15, 15, 15)

    def clean(self, text: str) -> str:
        text = " ".join(text.split())
        if self.unicode:
            return text
        return text.translate(_LATIN1_FALLBACK).encode("latin-1", "replace").decode("latin-1")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family, "", 7)
        self.cell(0, 5, self.clean(f"{self._footer} - {self.page_no()}/{{nb}}"), align="C")


def _text_of(node: etree._Element) -> str:
    return " ".join(node.xpath("string()").split())


_BLOCKS = ("table", "list", "paragraph", "caption", "br")


def _line(pdf: _Pdf, text: str, style: str = "") -> None:
    text = " ".join(text.split())
    if text:
        pdf.set_font(pdf.family, style, 9)
        pdf.multi_cell(0, 5, pdf.clean(text), new_x="LMARGIN", new_y="NEXT")


def _narrative(pdf: _Pdf, node: etree._Element) -> None:
    """Print a CDA narrative block: tables as tables (with their captions), lists as items,
    and every run of text between blocks as a line, so text written before a table, around it
    or inside ``content`` is never lost."""
    pending: list[str] = [node.text or ""]
    for child in node:
        if not isinstance(child.tag, str):
            pending.append(child.tail or "")
            continue
        local = etree.QName(child).localname
        if local in _BLOCKS or child.xpath(".//hl7:table|.//hl7:list|.//hl7:paragraph",
                                           namespaces=NS):
            _line(pdf, " ".join(pending))
            pending = []
            if local == "table":
                _table(pdf, child)
            elif local == "list":
                for item in child.findall(f"{{{HL7}}}item"):
                    _line(pdf, "- " + _text_of(item))
            elif local in ("paragraph", "caption") and not child.xpath(
                    ".//hl7:table|.//hl7:list", namespaces=NS):
                _line(pdf, _text_of(child), "B" if local == "caption" else "")
            elif local != "br":
                _narrative(pdf, child)
        else:  # inline: content, sub, sup, footnote, linkHtml ...
            pending.append(_text_of(child))
        pending.append(child.tail or "")
    _line(pdf, " ".join(pending))


def _table(pdf: _Pdf, table: etree._Element) -> None:
    rows = table.xpath(".//hl7:tr", namespaces=NS)
    if not rows:
        return
    width = max(len(r.xpath("hl7:th|hl7:td", namespaces=NS)) for r in rows) or 1
    caption = table.find(f"{{{HL7}}}caption")
    if caption is not None:
        _line(pdf, _text_of(caption), "B")
    pdf.set_font(pdf.family, "", 8)
    with pdf.table(col_widths=[1] * width, text_align="LEFT", line_height=4.5,
                   first_row_as_headings=bool(table.xpath("hl7:thead", namespaces=NS))) as t:
        for row in rows:
            cells = [pdf.clean(_text_of(c)) for c in row.xpath("hl7:th|hl7:td", namespaces=NS)]
            out = t.row()
            for value in cells + [""] * (width - len(cells)):
                out.cell(value)
    pdf.ln(2)


def _value(field: Field, lang: str) -> str:
    from ncp.rendering.html import shown_value

    return shown_value(field.value, lang).text


def render_pdf(document: bytes, *, lang: str | None = None) -> bytes:
    """The level 1 PDF of a CDA document (any PS, eP or eD, national or pivot).

    ``lang`` is the reader's language (fr, de, en): header labels and values we word ourselves
    (gender, quantities) are in it; without it, the document's own language, else English.
    The narrative stays as the author wrote it."""
    root = parse_xml(document)
    view = document_view(document)
    lang = (lang or view.language or "en").split("-")[0].lower()
    if lang not in _HEADER_LABELS:
        lang = "en"
    labels = _HEADER_LABELS[lang]
    ident = root.find(f"{{{HL7}}}id")
    ident_text = f"{ident.get('root', '')}^{ident.get('extension', '')}" if ident is not None \
        else ""
    pdf = _Pdf(view.title, f"{view.title} - {ident_text}")
    pdf.set_title(view.title)
    pdf.set_creator("ncp (Luxembourg NCPeH)")
    pdf.set_creation_date(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))  # reproducible output
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font(pdf.family, "B", 15)
    pdf.multi_cell(0, 8, pdf.clean(view.title), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for field in view.header:
        pdf.set_font(pdf.family, "B", 9)
        pdf.cell(45, 5, pdf.clean(labels.get(field.label, field.label)))
        pdf.set_font(pdf.family, "", 9)
        pdf.multi_cell(0, 5, pdf.clean(_value(field, lang)), new_x="LMARGIN", new_y="NEXT")
    for section in view.sections:
        pdf.ln(3)
        pdf.set_font(pdf.family, "B", 12)
        pdf.multi_cell(0, 7, pdf.clean(section.title), new_x="LMARGIN", new_y="NEXT")
        if section.narrative is not None:
            _narrative(pdf, section.narrative)
    return bytes(pdf.output())


_L1 = {
    DocumentKind.PATIENT_SUMMARY: DocumentKind.PATIENT_SUMMARY_L1,
    DocumentKind.EPRESCRIPTION: DocumentKind.EPRESCRIPTION_L1,
}


def level1_cda(pivot: bytes, pdf: bytes | None = None) -> bytes:
    """The eHDSI level 1 CDA (PDF body) of a pivot Patient Summary or ePrescription."""
    root = parse_xml(pivot)
    kind = detect_kind(root)
    if kind not in _L1:
        raise ValueError("a level 1 rendition exists for a Patient Summary or ePrescription")
    pdf = pdf if pdf is not None else render_pdf(pivot)
    l1 = copy.deepcopy(root)
    for template in l1.findall(f"{{{HL7}}}templateId"):
        if template.get("root") == kind.template_id:
            template.set("root", _L1[kind].template_id)
    ident = l1.find(f"{{{HL7}}}id")
    ident.set("extension", f"{ident.get('extension', '')}-L1")
    for related in l1.findall(f"{{{HL7}}}relatedDocument"):
        l1.remove(related)
    body = l1.find(f"{{{HL7}}}component")
    l1.remove(body)
    # The L1 document is a transformation of the level 3 pivot it renders.
    pivot_id = root.find(f"{{{HL7}}}id")
    related = etree.SubElement(l1, f"{{{HL7}}}relatedDocument", typeCode="XFRM")
    parent = etree.SubElement(related, f"{{{HL7}}}parentDocument")
    etree.SubElement(parent, f"{{{HL7}}}id", root=pivot_id.get("root", ""),
                     extension=pivot_id.get("extension", ""))
    component = etree.SubElement(l1, f"{{{HL7}}}component")
    non_xml = etree.SubElement(component, f"{{{HL7}}}nonXMLBody", classCode="DOCBODY",
                               moodCode="EVN")
    text = etree.SubElement(non_xml, f"{{{HL7}}}text", mediaType="application/pdf",
                            representation="B64")
    text.text = base64.b64encode(pdf).decode("ascii")
    return etree.tostring(l1, xml_declaration=True, encoding="UTF-8")
