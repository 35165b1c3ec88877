"""Every entry of every section shown, in the reader's language (issue 15, items 5-9)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from lxml import etree
from lxml import html as lxml_html

from ncp.rendering.html import LANGUAGES, render_html
from ncp.rendering.pdf import _HEADER_LABELS, render_pdf
from ncp.rendering.view import document_view
from ncp.rendering.words import UNITS, WORDS, frequency_words, quantity_words
from ncp.xmlutil import NS
from tests.rendering.realworld import realworld_ps

SAMPLES = ("samples/cda/ps/openncp-mock_2-1234-W7.xml", "samples/cda/ps/openncp-mock_2-5678-W7.xml",
           "samples/cda/ep/openncp-mock_1-1234-W7.xml", "samples/cda/ep/openncp-mock_1-5678-W7.xml",
           "samples/cda/ed/DK-received_dispensation1.xml",
           "schematron/epsos-friendly-pivot-legacy/samples-schPassed/PatientSummary-pivot.xml",
           "schematron/epsos-friendly-pivot-legacy/samples-schPassed/PatientSummary-friendly.xml",
           "schematron/epsos-friendly-pivot-legacy/samples-schPassed/ePrescription-pivot.xml",
           "schematron/epsos-friendly-pivot-legacy/samples-schPassed/eDispensation-pivot.xml")


def _page(document: bytes, lang: str, terminology):
    return lxml_html.fromstring(render_html(document, lang=lang, terminology=terminology))


def _counts(document: bytes, lang: str, terminology) -> list[tuple[str, int, int]]:
    """Per section: entries in the source, entries shown on the page (structured or marked)."""
    root = etree.fromstring(document)
    sources = root.xpath("hl7:component/hl7:structuredBody/hl7:component/hl7:section",
                         namespaces=NS)
    page = _page(document, lang, terminology)
    shown = page.xpath("//section")
    assert len(shown) == len(sources)
    return [(s.findtext("hl7:title", namespaces=NS) or "",
             len(s.findall("hl7:entry", NS)),
             len(p.xpath("./dl[contains(@class,'entry')]|./div[contains(@class,'unstructured')]")))
            for s, p in zip(sources, shown, strict=True)]


def _values(page) -> list[str]:
    return [" ".join(dd.text_content().split()) for dd in page.iter("dd")]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_realworld_ps_every_entry_of_every_section_is_shown(specs_dir, terminology, lang):
    document = realworld_ps(specs_dir)
    counts = _counts(document, lang, terminology)
    total = sum(n for _t, n, _s in counts)
    assert total >= 40, counts
    assert [(t, n) for t, n, _s in counts] == [(t, s) for t, _n, s in counts], counts
    codes = {s.code for s in document_view(document).sections if s.source_entries}
    assert {"10160-0", "48765-2", "11450-4", "11348-0", "11369-6", "10162-6", "29762-2",
            "8716-3", "30954-2", "47420-5", "46264-8", "47519-4", "18776-5",
            "42348-3"} <= codes


@pytest.mark.parametrize("sample", SAMPLES)
def test_real_samples_show_every_entry(specs_dir, terminology, sample):
    counts = _counts((specs_dir / sample).read_bytes(), "fr", terminology)
    assert all(n == s for _t, n, s in counts), counts


def test_unreadable_entry_is_shown_as_its_narrative_marked(specs_dir, terminology):
    page = _page(realworld_ps(specs_dir), "de", terminology)
    marked = page.find_class("unstructured")
    texts = [" ".join(m.text_content().split()) for m in marked]
    assert any("Originaltext (nicht strukturiert)" in t and
               "Lives alone, daughter visits daily" in t for t in texts), texts


def test_combination_product_shows_every_ingredient_and_strength(specs_dir, terminology):
    page = _page(realworld_ps(specs_dir), "en", terminology)
    entry = next(dl for dl in page.find_class("entry")
                 if "AUGMENTIN 625 mg" in dl.text_content())
    pairs = [(" ".join(dt.text_content().split()), " ".join(dd.text_content().split()))
             for dt, dd in zip(entry.iter("dt"), entry.iter("dd"), strict=True)]
    ingredients = [v for k, v in pairs if k.startswith("Active")]
    strengths = [v for k, v in pairs if k.startswith("Strength")]
    assert any(v.startswith("amoxicillin") or v.startswith("Amoxicillin") for v in ingredients)
    # Code with a nullFlavor: the substance's own name (marked: no designation to translate).
    assert any(v.startswith("acidum clavulanicum") for v in ingredients), ingredients
    assert strengths == ["500 mg", "125 mg"], pairs


def test_kit_shows_the_substances_of_its_parts(specs_dir, terminology):
    page = _page(realworld_ps(specs_dir), "de", terminology)
    entry = next(dl for dl in page.find_class("entry") if "Canesten Kombi" in dl.text_content())
    values = _values(entry)
    assert any(v.startswith("Clotrimazol") for v in values) and "Vaginaltablette" in values
    assert any(v.startswith("500 mg / 1 Tablette") for v in values), values
    assert "10 mg / 1 g" in values
    assert not any("Pharmaceutical Product Identifier" in v for v in values)


@pytest.mark.parametrize(("lang", "monthly", "iu", "tablet", "every8", "text"), [
    ("fr", "une fois par mois", "25000 unités internationales / 1 mL", "1 comprimé",
     "toutes les 8 heures", "Posologie (texte du prescripteur)"),
    ("de", "einmal monatlich", "25000 Internationale Einheiten / 1 ml", "1 Tablette",
     "alle 8 Stunden", "Dosierung (Text des Verordnenden)"),
    ("en", "once a month", "25000 international units / 1 mL", "1 tablet", "every 8 hours",
     "Dosage instructions (prescriber's text)"),
])
def test_dosage_in_words(specs_dir, terminology, lang, monthly, iu, tablet, every8, text):
    page = _page(realworld_ps(specs_dir), lang, terminology)
    values = _values(page)
    assert any(v.startswith(monthly) for v in values), values
    assert any(v.startswith(iu) for v in values), values
    assert any(v.startswith(tablet) for v in values), values
    assert any(v.startswith(every8) for v in values), values
    # The structured values (not the prescriber's own text, which may say "[IU]" itself).
    shown = [" ".join(dd.text_content().split()).split("(")[0]
             for dt, dd in zip(page.iter("dt"), page.iter("dd"), strict=True)
             if " ".join(dt.text_content().split()) not in (text,)]
    assert not [v for v in shown if "720 h" in v or "[IU]" in v or "{tablet}" in v], values
    labels = [" ".join(dt.text_content().split()) for dt in page.iter("dt")]
    assert text in labels
    # The prescriber's free text is shown beside the structured dose, not only in the narrative.
    assert "1 comprimé matin, midi et soir pendant 7 jours" in values
    assert "Une ampoule par mois, le soir" in values


def test_frequencies_and_units():
    assert frequency_words("24", "h", "en") == "once a day"
    assert frequency_words("1", "d", "fr") == "une fois par jour"
    assert frequency_words("168", "h", "de") == "einmal wöchentlich"
    assert frequency_words("720", "h", "en") == "once a month"
    assert frequency_words("0.5", "d", "en") == "every 12 hours"
    assert frequency_words("2", "d", "en") == "every 2 days"
    assert frequency_words("30", "min", "fr") == "toutes les 30 minutes"
    assert quantity_words("75", "ug", "fr") == "75 microgrammes"
    assert quantity_words("25", "{tablet}", "de") == "25 Tabletten"
    assert quantity_words("1", "{tablet}", "en") == "1 tablet"
    assert quantity_words("0.5", "{pack}/d", "en") == "0.5 packs a day"
    assert quantity_words("2", "{Hub}", "de") == "2 Hub"  # unknown annotation: no braces


def test_statuses_severity_body_site_and_gender(specs_dir, terminology):
    root = etree.fromstring(realworld_ps(specs_dir))
    gender = root.find(".//hl7:patient/hl7:administrativeGenderCode", NS)
    gender.set("code", "F")
    gender.set("displayName", "Žena")
    document = etree.tostring(root)
    page = _page(document, "de", terminology)
    labels = [" ".join(dt.text_content().split()) for dt in page.iter("dt")]
    for label in ("Kritikalität", "Sicherheit der Diagnose", "Status", "Schweregrad",
                  "Problemstatus", "Körperstelle"):
        assert label in labels, labels
    header = page.find_class("header")[0]
    values = _values(header)
    assert any(v.startswith("Weiblich") for v in values), values
    assert not any("nicht übersetzt" in v for v in values), values


def test_every_word_exists_in_french_german_and_english():
    for key, texts in WORDS.items():
        assert {lang for lang, text in texts.items() if text.strip()} >= set(LANGUAGES), key
    for unit, forms in UNITS.items():
        assert set(forms) >= set(LANGUAGES), unit
        assert all(all(f.strip() for f in forms[lang]) for lang in LANGUAGES), unit
    for lang in LANGUAGES:
        assert set(_HEADER_LABELS[lang]) == set(_HEADER_LABELS["en"]), lang


@pytest.mark.parametrize("lang", ("fr", "de"))
def test_no_label_is_left_untranslated(specs_dir, terminology, lang):
    """Every field label the renderer uses, on every sample and the real-world PS, has a
    designation in the reader's language (a missing one fails here)."""
    documents = [(specs_dir / s).read_bytes() for s in SAMPLES] + [realworld_ps(specs_dir)]
    for document in documents:
        view = document_view(document)
        codes = {f.label for s in view.sections for e in s.entries for f in e.fields
                 if isinstance(f.label, str)} | {f.label for f in view.header}
        page = _page(document, lang, terminology)
        for dt in page.iter("dt"):
            mark = dt.find_class("untranslated")
            if mark:
                # Only a clinical concept used as a label (an observation code) may be marked.
                text = " ".join(mark[0].text_content().split())
                assert text not in {str(c) for c in codes}, text
        for code in codes:
            assert code in WORDS or code.isdigit(), code
            if code.isdigit():
                found = terminology.designation("1.3.6.1.4.1.12559.11.10.1.3.1.44.4", code, lang)
                assert found is not None and not found.fallback, (code, lang)
        for code in {f.label for f in view.header}:
            assert code in _HEADER_LABELS[lang], code


def _pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def test_pdf_prints_text_before_tables_and_captions():
    document = b"""<ClinicalDocument xmlns="urn:hl7-org:v3">
 <title>PS</title><languageCode code="fr-LU"/>
 <component><structuredBody><component><section>
  <code code="30954-2" codeSystem="2.16.840.1.113883.6.1"/><title>Resultats</title>
  <text>Bilan du matin<table><caption>Prelevement du 2026-11-02</caption>
   <tbody><tr><td>Glucose</td><td>5.1 mmol/L</td></tr></tbody></table>
   Fin du bilan<paragraph>Avis: <content>normal</content></paragraph></text>
 </section></component></structuredBody></component></ClinicalDocument>"""
    text = _pdf_text(render_pdf(document, lang="de"))
    for piece in ("Bilan du matin", "Prelevement du 2026-11-02", "Glucose", "5.1 mmol/L",
                  "Fin du bilan", "Avis: normal"):
        assert piece in text, (piece, text)


def _narrative_pieces(document: bytes) -> list[str]:
    root = etree.fromstring(document)
    pieces = []
    for text in root.xpath("//hl7:section/hl7:text", namespaces=NS):
        for node in text.iter():
            for chunk in (node.text, node.tail if node is not text else None):
                chunk = " ".join((chunk or "").split())
                if chunk and isinstance(node.tag, str):
                    pieces.append(chunk)
    return pieces


@pytest.mark.parametrize("sample", SAMPLES[:5])
def test_pdf_prints_every_narrative_text(specs_dir, sample):
    document = (specs_dir / sample).read_bytes()
    text = _pdf_text(render_pdf(document)).replace(" ", "")
    missing = [p for p in _narrative_pieces(document) if p.replace(" ", "") not in text]
    assert not missing, missing


@pytest.mark.parametrize(("lang", "label"), [("fr", "Date de naissance"),
                                             ("de", "Geburtsdatum"), ("en", "Date of birth")])
def test_pdf_header_labels_in_the_readers_language(specs_dir, lang, label):
    document = Path(specs_dir / SAMPLES[0]).read_bytes()
    text = _pdf_text(render_pdf(document, lang=lang))
    assert label in text


def test_luxembourg_eprescription_shows_the_prescribers_instructions(pivot_documents,
                                                                    terminology):
    from ncp.cda.demo import _DRUGS

    page = _page(pivot_documents["ep"], "de", terminology)
    values = _values(page)
    instructions = {d.instructions for d in _DRUGS.values()}
    shown = [v for v in values if any(i in v for i in instructions)]
    assert shown, values
    labels = [" ".join(dt.text_content().split()) for dt in page.iter("dt")]
    assert "Dosierung (Text des Verordnenden)" in labels
