"""HTML display of a pivot PS, eP or eD in French, German or English.

Every section title, field label and coded value is shown in the reader's language when the
terminology has a designation for it, with the document's original wording beside it; where no
designation exists in that language, the best fallback is shown with a visible
"no translation" mark (class ``untranslated``) so a doctor never mistakes an English or foreign
term for a translation. The section's original narrative is shown under the structured entries.

Output is produced by a Jinja2 template with autoescaping; the CDA narrative is converted
element by element into a small safe subset of HTML (no links, no styles, no scripts).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from lxml import etree
from markupsafe import Markup

from ncp.rendering.view import (
    LABELS,
    Amount,
    CodedValue,
    DocumentView,
    Every,
    Value,
    Word,
    document_view,
)
from ncp.rendering.words import WORDS, frequency_words, quantity_words, word
from ncp.terminology.service import Terminology

LANGUAGES = ("fr", "de", "en")
LOINC = "2.16.840.1.113883.6.1"

#: Words of the page itself (not clinical concepts), per language.
UI = {
    lang: {"untranslated": {"fr": "non traduit", "de": "nicht übersetzt",
                            "en": "no translation"}[lang],
           "original": {"fr": "original", "de": "Original", "en": "original"}[lang],
           "narrative": {"fr": "Texte original", "de": "Originaltext",
                         "en": "Original narrative"}[lang],
           "document": {"fr": "Document", "de": "Dokument", "en": "Document"}[lang],
           "language": {"fr": "Langue du document", "de": "Sprache des Dokuments",
                        "en": "Document language"}[lang],
           "unstructured": word("unstructured", lang),
           "unstructured_note": word("unstructured_note", lang)}
    for lang in LANGUAGES
}


@dataclass(frozen=True)
class Shown:
    """A value as displayed: the reader's text, the original, and whether a translation was
    missing."""

    text: str
    original: str
    missing: bool
    code: str = ""


class _Translator:
    def __init__(self, terminology: Terminology, lang: str) -> None:
        self.terms = terminology
        self.lang = lang

    def concept(self, system: str, code: str, original: str) -> Shown:
        found = self.terms.designation(system, code, self.lang) if code else None
        if found is None:
            return Shown(original or code, original, True, code)
        return Shown(found.text, original, found.fallback, code)

    def label(self, code: str | CodedValue) -> Shown:
        if isinstance(code, CodedValue):
            return self.concept(code.system, code.code, code.original)
        if code in WORDS:
            return Shown(word(code, self.lang), "", False)
        return self.concept(LABELS, code, "")

    def value(self, value: Value) -> Shown:
        return shown_value(value, self.lang, self)


def shown_value(value: Value, lang: str, t: _Translator | None = None) -> Shown:
    """A field value in ``lang``: quantities with unit words, periods in natural words, our own
    words translated, coded values through the terminology (when ``t`` is given)."""
    if isinstance(value, CodedValue):
        if t is None:
            return Shown(value.original or value.code, value.original, False, value.code)
        return t.concept(value.system, value.code, value.original)
    if isinstance(value, Every):
        return Shown(frequency_words(value.value, value.unit, lang,
                                     institution=value.institution), "", False)
    if isinstance(value, Amount):
        words = f" {value.joiner} ".join(quantity_words(v, u, lang) for v, u in value.parts)
        return Shown(words, value.raw if value.raw != words else "", False)
    if isinstance(value, Word):
        return Shown(word(value.key, lang), value.original, False)
    return Shown(value, "", False)


_NARRATIVE_TAGS = {
    "table": "table", "thead": "thead", "tbody": "tbody", "tfoot": "tfoot", "tr": "tr",
    "th": "th", "td": "td", "caption": "caption", "paragraph": "p", "content": "span",
    "item": "li", "br": "br", "sub": "sub", "sup": "sup", "linkHtml": "span",
}


def narrative_html(text: etree._Element | None) -> Markup:
    """The CDA narrative block as safe HTML (known elements only, text escaped by lxml)."""
    if text is None:
        return Markup("")
    wrapper = etree.Element("div", {"class": "narrative"})

    def convert(source: etree._Element, target: etree._Element) -> None:
        if source.text:
            _append_text(target, source.text)
        for child in source:
            if not isinstance(child.tag, str):
                if child.tail:
                    _append_text(target, child.tail)
                continue
            local = etree.QName(child).localname
            if local == "list":
                tag = "ol" if child.get("listType") == "ordered" else "ul"
            else:
                tag = _NARRATIVE_TAGS.get(local)
            if tag is None:  # footnotes, multimedia, unknown: their text only
                holder = etree.SubElement(target, "span")
            else:
                holder = etree.SubElement(target, tag)
            convert(child, holder)
            if child.tail:
                _append_text(target, child.tail)

    convert(text, wrapper)
    # Safe: built element by element from a whitelist, every text node escaped by lxml.
    return Markup(etree.tostring(wrapper, method="html", encoding="unicode"))  # noqa: S704


def _append_text(target: etree._Element, text: str) -> None:
    if len(target):
        last = target[-1]
        last.tail = (last.tail or "") + text
    else:
        target.text = (target.text or "") + text


_env = Environment(
    loader=FileSystemLoader(str(Path(__file__).with_name("templates"))),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True, lstrip_blocks=True,
)


def render_html(document: bytes, *, lang: str, terminology: Terminology) -> str:
    """An HTML page showing a pivot CDA document to a reader of ``lang`` (fr, de or en)."""
    return _render(document, lang, terminology, "document.html")


def render_fragment(document: bytes, *, lang: str, terminology: Terminology) -> Markup:
    """The same display as one ``<article class="rendered-doc">`` for a page of the portal's
    shell (header, user, patient banner; issue 15 item 10): no page of its own, no inline
    style (the portal's stylesheet styles it, so the strict CSP stays)."""
    # Safe: the template autoescapes every value; the narrative is narrative_html's subset.
    return Markup(_render(document, lang, terminology, "_body.html"))  # noqa: S704


def render_facts(document: bytes, *, lang: str, terminology: Terminology,
                 header: tuple[str, ...], entry: tuple[str, ...]) -> list[tuple[Shown, Shown]]:
    """Chosen fields of a document, labelled and worded as :func:`render_html` shows them:
    ``header`` labels from the document's header, ``entry`` labels from its first entry (an
    eP's prescribed item), in the order asked. The pharmacist's counter puts the dose, the
    instructions, the prescriber and the dates on the same screen as the form (item 15)."""
    lang = lang.split("-")[0].lower()
    view = document_view(document)
    t = _Translator(terminology, lang)
    first = next((e for s in view.sections for e in s.entries if e.fields), None)
    out = []
    for wanted, fields in ((header, view.header), (entry, first.fields if first else [])):
        for label in wanted:
            out.extend((t.label(f.label), t.value(f.value)) for f in fields
                       if f.label == label)
    return out


def _render(document: bytes, lang: str, terminology: Terminology, template: str) -> str:
    lang = lang.split("-")[0].lower()
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported display language {lang!r}")
    view: DocumentView = document_view(document)
    t = _Translator(terminology, lang)
    sections = []
    for section in view.sections:
        title = t.concept(LOINC, section.code, section.title)
        entries = [{"fields": [(t.label(f.label), t.value(f.value)) for f in entry.fields],
                    "unstructured": entry.unstructured} for entry in section.entries]
        sections.append({"title": title, "entries": entries,
                         "structured": any(e.fields for e in section.entries),
                         "narrative": narrative_html(section.narrative)})
    header = [(t.label(f.label), t.value(f.value)) for f in view.header]
    kind_title = (t.concept(LOINC, view.kind.loinc, view.kind.title) if view.kind
                  else Shown(view.title, view.title, True))
    return _env.get_template(template).render(
        lang=lang, ui=UI[lang], view=view, kind_title=kind_title, header=header,
        sections=sections,
    )


__all__ = ["LANGUAGES", "Shown", "narrative_html", "render_facts", "render_fragment",
           "render_html"]
