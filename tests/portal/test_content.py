"""Upload checks and the CDA-as-HTML view, on hostile and ordinary input."""

from __future__ import annotations

import pytest
from lxml import html

from ncp import demo
from ncp.cda.demo import national_documents
from ncp.portal.content import (
    MAX_UPLOAD_BYTES,
    PERSONAL_TYPES,
    UploadRejected,
    cda_to_html,
    check_upload,
    sniff,
)

HOSTILE = b"""<ClinicalDocument xmlns="urn:hl7-org:v3"><title>T<script>x</script></title>
<recordTarget><patientRole><patient><name><given>Jean</given><family>Schmit</family></name>
</patient></patientRole></recordTarget>
<component><structuredBody><component><section><title>Notes</title>
<text><paragraph onmouseover="alert(1)" styleCode="Bold">Hello <content ID="a">there</content>
<linkHtml href="javascript:alert(2)">click</linkHtml></paragraph>
<list listType="ordered"><item>one</item><item>two</item></list>
<table border="9" onclick="x"><tbody><tr><td colspan="2" style="background:url(x)">c</td>
<td rowspan="javascript">d</td></tr></tbody></table>
<renderMultiMedia referencedObject="img1"/><!-- a comment -->tail</text>
<component><section><title>Sub</title><text>inner</text></section></component>
</section></component></structuredBody></component></ClinicalDocument>"""


def test_cda_view_keeps_text_and_structure_and_drops_everything_active() -> None:
    out = cda_to_html(HOSTILE, {"patient": "Patient"})
    tree = html.fragment_fromstring(out)
    assert tree.findtext(".//h2") == "Tx"  # the title's markup is text, not elements
    assert "javascript" not in out and "onmouseover" not in out and "onclick" not in out
    assert "style=" not in out and "href" not in out and "<script" not in out
    assert [li.text for li in tree.iter("li")] == ["one", "two"]
    assert tree.find(".//ol") is not None
    cells = tree.findall(".//td")
    assert cells[0].get("colspan") == "2" and cells[1].get("rowspan") is None
    assert "Jean Schmit" in out and "tail" in out
    assert [h.text for h in tree.iter("h3", "h4")] == ["Notes", "Sub"]


def test_cda_view_of_a_national_document() -> None:
    doc = national_documents(demo.PATIENTS[0].patient)[0]
    tree = html.fragment_fromstring(cda_to_html(doc.content))
    assert tree.findtext(".//h2") == doc.title
    assert len(tree.findall(".//table")) >= 3


def test_uploads_are_judged_by_their_bytes() -> None:
    assert sniff(b"%PDF-1.7") == "application/pdf"
    assert sniff(b"\x89PNG\r\n\x1a\nxxxx") == "image/png"
    assert sniff(b"\xef\xbb\xbf <?xml version='1.0'?>") == "text/xml"
    assert sniff(b"MZ\x90\x00") is None
    pdf = b"%PDF-1.4\n%%EOF\n"
    assert check_upload(pdf, "application/octet-stream").media_type == "application/pdf"
    with pytest.raises(UploadRejected) as exc:
        check_upload(b"\x89PNG\r\n\x1a\n....", "application/pdf")
    assert exc.value.reason == "not-pdf"
    with pytest.raises(UploadRejected) as exc:
        check_upload(b"\x89PNG\r\n\x1a\n....")  # professionals upload CDA or PDF only
    assert exc.value.reason == "unsupported"
    assert check_upload(b"\x89PNG\r\n\x1a\n....", allow=PERSONAL_TYPES).media_type == \
        "image/png"
    with pytest.raises(UploadRejected) as exc:
        check_upload(b"")
    assert exc.value.reason == "empty"
    with pytest.raises(UploadRejected) as exc:
        check_upload(b"%PDF-" + b"0" * MAX_UPLOAD_BYTES)
    assert exc.value.reason == "too-large"


def test_a_valid_cda_passes_with_its_title() -> None:
    doc = national_documents(demo.PATIENTS[2].patient)[1]
    checked = check_upload(doc.content, "text/xml")
    assert checked.media_type == "text/xml" and checked.title == "Ordonnance électronique"


@pytest.mark.parametrize("content", [
    b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>x</title></ClinicalDocument>",
    b"<?xml version='1.0'?><!DOCTYPE c SYSTEM 'http://evil/x.dtd'><c/>",
    b"<ClinicalDocument xmlns='urn:hl7-org:v3'><unclosed></ClinicalDocument>",
    b"<ClinicalDocument xmlns='urn:other'/>",
])
def test_cda_that_does_not_validate_is_refused(content: bytes) -> None:
    with pytest.raises(UploadRejected) as exc:
        check_upload(content)
    assert exc.value.reason == "invalid-cda"
