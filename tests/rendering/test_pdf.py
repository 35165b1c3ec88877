"""Level 1 PDF and its eHDSI L1 CDA wrapper (validated against the L1 schematrons)."""

from __future__ import annotations

import base64
import re
import zlib

import pytest
from lxml import etree

from ncp.cda.kinds import DocumentKind
from ncp.rendering.pdf import level1_cda, render_pdf
from ncp.validation.validator import validate_document
from ncp.xmlutil import NS


def _page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


def test_pdf_is_a_pdf_with_pages(pivot_documents):
    pdf = render_pdf(pivot_documents["ps"])
    assert pdf.startswith(b"%PDF-1.")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert _page_count(pdf) >= 1
    # The page content streams draw text (compressed with zlib).
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
    drawn = b"".join(zlib.decompress(s) for s in streams if s[:1] == b"x")
    assert b"Tj" in drawn or b"TJ" in drawn


def test_pdf_is_reproducible(pivot_documents):
    assert render_pdf(pivot_documents["ep"]) == render_pdf(pivot_documents["ep"])


@pytest.mark.parametrize(("key", "l1_kind"), [("ps", DocumentKind.PATIENT_SUMMARY_L1),
                                              ("ep", DocumentKind.EPRESCRIPTION_L1)])
def test_level1_cda_validates(pivot_documents, specs_dir, validation_var, key, l1_kind):
    pivot = pivot_documents[key]
    l1 = level1_cda(pivot)
    report = validate_document(l1, specs=specs_dir, var_dir=validation_var)
    assert report.kind is l1_kind
    assert report.ok, [(f.location, f.message) for f in report.schematron_errors]
    root = etree.fromstring(l1)
    text = root.find("hl7:component/hl7:nonXMLBody/hl7:text", NS)
    assert text.get("mediaType") == "application/pdf"
    assert base64.b64decode(text.text).startswith(b"%PDF-")
    parent = root.find("hl7:relatedDocument[@typeCode='XFRM']/hl7:parentDocument/hl7:id", NS)
    pivot_id = etree.fromstring(pivot).find("hl7:id", NS)
    assert parent.get("extension") == pivot_id.get("extension")


def test_level1_only_for_ps_and_ep(pivot_documents):
    with pytest.raises(ValueError):
        level1_cda(pivot_documents["ed"])
