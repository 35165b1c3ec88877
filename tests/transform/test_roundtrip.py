"""National -> pivot for every demo patient: XSD and eHDSI v8.0.0 schematron with zero errors.

Schematron runs take about a second each once the stylesheets are loaded (once per session).
"""

from __future__ import annotations

import pytest
from lxml import etree

from ncp.cda.demo import demo_dispensation, national_documents
from ncp.cda.kinds import DocumentKind
from ncp.transform import to_national, to_pivot
from ncp.validation.validator import validate_document
from ncp.xmlutil import NS

KINDS = {"patient-summary": DocumentKind.PATIENT_SUMMARY,
         "prescription": DocumentKind.EPRESCRIPTION}


@pytest.fixture(scope="session")
def pivots(demo_patients, terminology):
    """(patient, kind, national bytes, transcode result) for every demo document."""
    found = []
    for patient in demo_patients:
        for doc in national_documents(patient):
            kind = KINDS[doc.doc_type]
            found.append((patient, kind, doc.content,
                          to_pivot(doc.content, kind=kind, terminology=terminology)))
    return found


@pytest.mark.slow
def test_every_pivot_validates(pivots, specs_dir, validation_var):
    kinds = set()
    for patient, kind, _national, result in pivots:
        report = validate_document(result.document, specs=specs_dir, var_dir=validation_var)
        assert report.kind is kind
        assert report.xsd_errors == [], (patient.matricule, report.xsd_errors)
        assert report.schematron_errors == [], (patient.matricule, kind,
                                                [(f.location, f.message)
                                                 for f in report.schematron_errors])
        kinds.add(kind)
    assert kinds == {DocumentKind.PATIENT_SUMMARY, DocumentKind.EPRESCRIPTION}


@pytest.mark.slow
def test_every_dispensation_validates_and_comes_back_national(pivots, specs_dir, validation_var,
                                                              terminology):
    prescriptions = [r for _p, kind, _n, r in pivots if kind is DocumentKind.EPRESCRIPTION]
    assert len(prescriptions) >= len({p.matricule for p, *_ in pivots})
    for number, result in enumerate(prescriptions, start=1):
        dispensation = demo_dispensation(result.document, number=number)
        report = validate_document(dispensation, specs=specs_dir, var_dir=validation_var)
        assert report.kind is DocumentKind.EDISPENSATION
        assert report.ok, [(f.location, f.message) for f in report.schematron_errors]
        back = to_national(dispensation, terminology=terminology)
        root = etree.fromstring(back.document)
        # The dispensed product's dose form (required in the list) is national again.
        forms = root.xpath("//hl7:supply/hl7:product//hl7:manufacturedMaterial/pharm:formCode",
                           namespaces=NS)
        assert forms and all(f.get("codeSystem") == "1.3.182.2.4.1.100.3" for f in forms)
        assert back.warnings == []
        # The eD's MVC code is kept as the translation of the national code.
        first = forms[0]
        assert first.find("hl7:translation", NS).get("codeSystem") == "0.4.0.127.0.16.1.1.2.1"


def test_pivot_header_and_codes(pivots, terminology):
    for patient, kind, national, result in pivots:
        pivot = etree.fromstring(result.document)
        source = etree.fromstring(national)
        assert pivot.xpath("hl7:templateId/@root", namespaces=NS) == [kind.template_id]
        source_id = source.find("hl7:id", NS)
        national_id = (source_id.get("root"), source_id.get("extension"))
        parent = pivot.find("hl7:relatedDocument[@typeCode='XFRM']/hl7:parentDocument/hl7:id", NS)
        assert (parent.get("root"), parent.get("extension")) == national_id
        assert result.document_id != national_id
        gender = pivot.find(".//hl7:administrativeGenderCode", NS)
        expected = {"M": "M", "F": "F", "UN": "UN"}[patient.gender]
        assert gender.get("code") == expected
        assert gender.get("codeSystem") == "2.16.840.1.113883.5.1"
        original = gender.find("hl7:translation", NS)
        assert original.get("codeSystem") == "1.3.182.2.4.1.100.1"
        assert original.get("displayName") in ("Homme", "Femme", "Indéterminé")
        assert result.warnings == []
        assert result.transcoded >= 5


def test_no_national_code_is_left_as_main_code(pivots):
    for _patient, _kind, _national, result in pivots:
        pivot = etree.fromstring(result.document)
        for node in pivot.iter():
            system = node.get("codeSystem", "")
            if system.startswith("1.3.182.2.4.1.100.") and not node.tag.endswith("translation"):
                # Only the national product number (not a coded element of the list) stays.
                assert system == "1.3.182.2.4.1.100.20", (node.tag, system)


def test_every_translated_code_is_a_member_of_its_value_set(pivots, terminology):
    from ncp.transform.bindings import coded_elements

    for _patient, kind, _national, result in pivots:
        root = etree.fromstring(result.document)
        checked = 0
        for binding, node in coded_elements(root, kind):
            if binding.attribute or node.get("code") is None:
                continue
            checked += 1
            assert any(terminology.is_member(vs, node.get("codeSystem"), node.get("code"))
                       for vs in binding.value_sets), (binding.path, node.get("code"))
        assert checked >= 8


def test_demo_documents_are_deterministic(demo_patients):
    first = national_documents(demo_patients[0])
    again = national_documents(demo_patients[0])
    assert [d.content for d in first] == [d.content for d in again]
    other = national_documents(demo_patients[1])
    assert first[0].content != other[0].content
    assert {d.doc_type for d in first} == {"patient-summary", "prescription"}
    assert 2 <= len(first) <= 3


def test_transcoding_is_lossless(pivots):
    """Every national code of the source document survives in the pivot, as a translation of
    the MVC code that replaced it (or untouched where it was kept)."""
    for _patient, _kind, national, result in pivots:
        source = etree.fromstring(national)
        pivot = etree.fromstring(result.document)
        national_codes = {(n.get("codeSystem"), n.get("code"), n.get("displayName"))
                          for n in source.iter() if n.get("codeSystem", "").startswith(
                              ("1.3.182.2.4.1.100.", "2.16.840.1.113883.6.3"))}
        kept = {(n.get("codeSystem"), n.get("code"), n.get("displayName")) for n in pivot.iter()
                if n.get("codeSystem")}
        assert national_codes <= kept


def test_validate_command_accepts_our_pivots(pivots, tmp_path, validation_var, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from ncp.settings import get_settings
    from ncp.validation.cli import validate_command

    files = []
    for number, (_patient, _kind, _national, result) in enumerate(pivots[:3]):
        path = tmp_path / f"pivot-{number}.xml"
        path.write_bytes(result.document)
        files.append(str(path))
    app = typer.Typer()
    app.command("validate")(validate_command)
    app.command("noop")(lambda: None)
    monkeypatch.setenv("NCP_VAR_DIR", str(validation_var))
    get_settings.cache_clear()
    try:
        outcome = CliRunner().invoke(app, ["validate", *files])
    finally:
        get_settings.cache_clear()
    assert outcome.exit_code == 0, outcome.output
    assert outcome.output.count(": OK (0 XSD errors") == 3
