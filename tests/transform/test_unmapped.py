"""A received eDispensation with codes the national tables lack (issue 12 item 11): kept as
received and reported, never refused for a descriptive code; ATC and EDQM pass as they are;
comments and processing instructions anywhere in the document never break the transcoder."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from ncp.transform import TranscodingError, to_national
from ncp.transform.transcoder import PASS_THROUGH_SYSTEMS
from ncp.xmlutil import NS

ATC = "2.16.840.1.113883.6.73"
EDQM = "0.4.0.127.0.16.1.1.2.1"
FORMS = ("//hl7:supply/hl7:product//hl7:manufacturedMaterial/pharm:formCode")


@pytest.fixture
def dk_ed(specs_dir) -> bytes:  # type: ignore[no-untyped-def]
    return (specs_dir / "samples/cda/ed/DK-received_dispensation1.xml").read_bytes()


def test_the_real_danish_ed_is_made_national_keeping_its_local_dose_form(dk_ed, terminology):
    with pytest.raises(TranscodingError):           # the strict mode still exists (PS/eP)
        to_national(dk_ed, terminology=terminology)
    result = to_national(dk_ed, terminology=terminology, keep_unmapped=True)
    root = etree.fromstring(result.document)
    forms = root.xpath(FORMS, namespaces=NS)
    assert (forms[0].get("code"), forms[0].get("codeSystem"), forms[0].get("displayName")) == (
        "TABFILM", "2.16.17.710.802.1000.990.1.20.22", "filmovertrukne tabletter")
    assert not forms[0].findall("hl7:translation", NS)   # nothing invented
    kept = {(w.code, w.code_system, w.display) for w in result.warnings}
    assert ("TABFILM", "2.16.17.710.802.1000.990.1.20.22", "filmovertrukne tabletter") in kept
    assert all(w.location.startswith("/hl7:ClinicalDocument[1]") for w in result.warnings)


@pytest.mark.parametrize(("system", "code", "xpath"), [
    # a dose form and an active ingredient from real eDs (issue 12), both in the eHDSI value
    # sets, neither in our national mapping files
    (EDQM, "10714000", FORMS),
    (ATC, "G03AA12", "//pharm:generalizedMaterialKind/pharm:code"),
])
def test_atc_and_edqm_codes_need_no_national_table(dk_ed, terminology, system, code, xpath):
    assert system in PASS_THROUGH_SYSTEMS
    root = etree.fromstring(dk_ed)
    target = root.xpath(xpath, namespaces=NS)[0]
    target.set("code", code)
    target.set("codeSystem", system)
    result = to_national(etree.tostring(root), terminology=terminology, keep_unmapped=True)
    back = etree.fromstring(result.document).xpath(xpath, namespaces=NS)[0]
    assert (back.get("code"), back.get("codeSystem")) == (code, system)
    assert back.get("displayName")                  # completed from the catalogue
    assert not [w for w in result.warnings if w.code == code]   # nothing to follow up


_BETWEEN = re.compile(rb">(?=\s*<)")


def test_comments_and_pis_anywhere_never_break_the_transcoder(dk_ed, terminology):
    """Every position between two tags of a real eD, with a comment and with a PI: the
    transcoder answers (a document or a typed error), never another exception; a comment as
    a direct child of ClinicalDocument (the crash of issue 12) gives the same codes."""
    baseline = to_national(dk_ed, terminology=terminology, keep_unmapped=True)
    spots = [m.end() for m in _BETWEEN.finditer(dk_ed)]
    assert len(spots) > 100
    for at in spots:
        for what in (b"<!-- note -->", b"<?app hint?>"):
            data = dk_ed[:at] + what + dk_ed[at:]
            try:
                result = to_national(data, terminology=terminology, keep_unmapped=True)
            except TranscodingError:
                continue
            assert len(result.warnings) == len(baseline.warnings)
    root_end = re.search(rb"<(\w+:)?ClinicalDocument[^>]*>", dk_ed).end()
    data = dk_ed[:root_end] + b"<!-- c --><?pi x?>" + dk_ed[root_end:]
    assert to_national(data, terminology=terminology, keep_unmapped=True).warnings == \
        baseline.warnings
