"""HTML display in French, German and English, with visible marks for missing translations."""

from __future__ import annotations

import pytest
from lxml import etree
from lxml import html as lxml_html

from ncp.rendering.html import narrative_html, render_html
from ncp.xmlutil import NS, parse_xml


def _page(document: bytes, lang: str, terminology):
    return lxml_html.fromstring(render_html(document, lang=lang, terminology=terminology))


@pytest.mark.parametrize(("lang", "medication", "allergies", "route"), [
    ("fr", "Historique des médicaments", "Allergies et réactions indésirables", "Voie orale"),
    ("de", "Medikationsanamnese", "Allergien und Unverträglichkeiten", "Zum Einnehmen"),
    ("en", "History of Medication use", "Allergies and adverse reactions", "Oral use"),
])
def test_section_titles_labels_and_codes_in_the_readers_language(pivot_documents, terminology,
                                                                 lang, medication, allergies,
                                                                 route):
    page = _page(pivot_documents["ps"], lang, terminology)
    titles = [" ".join(h.text_content().split()) for h in page.iter("h2")]
    assert any(t.startswith(medication) for t in titles), titles
    assert any(t.startswith(allergies) for t in titles), titles
    values = [" ".join(dd.text_content().split()) for dd in page.iter("dd")]
    assert any(v.startswith(route) for v in values), str(values)
    assert page.get("lang") == lang


def test_original_wording_is_shown_beside_the_translation(pivot_documents, terminology):
    page = _page(pivot_documents["ps"], "de", terminology)
    originals = [" ".join(s.text_content().split()) for s in page.find_class("original")]
    # The document's French section title and the source country's own term stay visible
    # (the national code the pivot kept as a translation).
    assert any("Traitements en cours" in o for o in originals)
    assert any("Voie orale" in o for o in originals)
    values = [" ".join(dd.text_content().split()) for dd in page.iter("dd")]
    # Frequencies in natural words, not "alle 24 h".
    assert any(v.startswith(("einmal täglich", "alle 8 Stunden")) for v in values), str(values)
    assert not any(v.endswith(" h") for v in values), str(values)


def test_missing_translation_is_marked(pivot_documents, terminology):
    # Subretinal use (EDQM 20081000) has no reviewed German designation: the English name is
    # shown, marked, never passed off as German.
    root = etree.fromstring(pivot_documents["ps"])
    route = root.find(".//hl7:routeCode", NS)
    route.set("code", "20081000")
    route.set("displayName", "Subretinal use")
    page = _page(etree.tostring(root), "de", terminology)
    marked = [" ".join(m.text_content().split()) for m in page.find_class("untranslated")]
    assert "Subretinal use" in marked
    marks = page.find_class("untranslated-mark")
    assert marks and all("nicht übersetzt" in m.text_content() for m in marks)
    # Translated values carry no mark.
    assert "Zum Einnehmen" not in marked
    french = _page(etree.tostring(root), "fr", terminology)
    assert "Subretinal use" in [" ".join(m.text_content().split())
                                for m in french.find_class("untranslated")]
    assert all("non traduit" in m.text_content() for m in french.find_class("untranslated-mark"))


def test_eprescription_and_edispensation_render(pivot_documents, terminology):
    ep = _page(pivot_documents["ep"], "fr", terminology)
    labels = [" ".join(dt.text_content().split()) for dt in ep.iter("dt")]
    assert "Nombre de boîtes" in labels and "Substituer" in labels
    assert "Identifiant de la prescription" in labels and "Date de prescription" in labels
    ed = _page(pivot_documents["ed"], "de", terminology)
    labels = [" ".join(dt.text_content().split()) for dt in ed.iter("dt")]
    assert "Anzahl abgegebener Packungen" in labels


def test_foreign_sample_renders(specs_dir, terminology):
    sample = (specs_dir / "samples/cda/ps/openncp-mock_2-1234-W7.xml").read_bytes()
    page = _page(sample, "fr", terminology)
    titles = [" ".join(h.text_content().split()) for h in page.iter("h2")]
    assert len(titles) >= 5


def test_unsupported_language_is_refused(pivot_documents, terminology):
    with pytest.raises(ValueError):
        render_html(pivot_documents["ps"], lang="it", terminology=terminology)


def test_narrative_is_converted_to_safe_html():
    text = parse_xml(b'<text xmlns="urn:hl7-org:v3"><paragraph>a &lt;script&gt; b'
                     b'<content styleCode="Bold" onclick="x()">c</content></paragraph>'
                     b'<linkHtml href="javascript:alert(1)">link</linkHtml>'
                     b'<list listType="ordered"><item>one</item></list></text>')
    out = str(narrative_html(text))
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "onclick" not in out and "javascript" not in out and "href" not in out
    assert "<ol><li>one</li></ol>" in out
