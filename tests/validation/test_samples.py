"""The validator against the shipped eHDSI samples: the known failure counts (specs README)."""

from __future__ import annotations

import pytest

from ncp.cda.kinds import DocumentKind

SAMPLES = "samples/cda"


@pytest.mark.parametrize(
    ("sample", "kind", "failed"),
    [
        ("ep/openncp-mock_1-1234-W7.xml", DocumentKind.EPRESCRIPTION, 1),
        ("ep/openncp-mock_1-5678-W7.xml", DocumentKind.EPRESCRIPTION, 1),
        ("ed/DK-received_dispensation1.xml", DocumentKind.EDISPENSATION, 16),
        ("ps/openncp-mock_2-5678-W7.xml", DocumentKind.PATIENT_SUMMARY, 2),
    ],
)
def test_known_failure_counts(specs_dir, validate, sample, kind, failed):
    report = validate((specs_dir / SAMPLES / sample).read_bytes())
    assert report.kind is kind
    assert report.xsd_errors == []
    assert len(report.failed_assertions) == failed
    assert not report.ok
    for finding in report.failed_assertions:
        assert finding.location.startswith("/hl7:ClinicalDocument[1]")
        assert finding.message


def test_eprescription_failure_is_the_missing_legal_authenticator_name(specs_dir, validate):
    report = validate((specs_dir / SAMPLES / "ep/openncp-mock_1-1234-W7.xml").read_bytes())
    (finding,) = report.failed_assertions
    assert finding.location.endswith("hl7:legalAuthenticator[1]/hl7:assignedEntity[1]"
                                      "/hl7:assignedPerson[1]")
    assert "hl7:name is required" in finding.message
    assert finding.role == "error"


def test_missing_substance_value_set_is_reported(specs_dir, validate):
    report = validate((specs_dir / SAMPLES / "ep/openncp-mock_1-5678-W7.xml").read_bytes())
    assert any("42.61" in note for note in report.notes)


def test_large_patient_summary_fails_35(specs_dir, validate):
    """The large OpenNCP sample (165 kB): about 15 s with a naive compilation, under 1 s here."""
    report = validate((specs_dir / SAMPLES / "ps/openncp-mock_2-1234-W7.xml").read_bytes())
    assert len(report.failed_assertions) == 35
    assert len(report.schematron_errors) == 33


def test_xsd_errors_are_reported(specs_dir, validate):
    data = (specs_dir / SAMPLES / "ep/openncp-mock_1-5678-W7.xml").read_bytes()
    broken = data.replace(b"<title>", b"<titel>", 1).replace(b"</title>", b"</titel>", 1)
    assert broken != data
    report = validate(broken)
    assert report.xsd_errors
    assert "titel" in report.xsd_errors[0].message
    assert not report.ok


def test_unknown_document_is_not_ok(validate):
    report = validate(b'<ClinicalDocument xmlns="urn:hl7-org:v3"><code code="x"/>'
                      b'</ClinicalDocument>')
    assert report.kind is None
    assert not report.ok


def test_doctype_is_refused_before_saxon(validate):
    report = validate(b'<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>')
    assert not report.ok
    assert "DOCTYPE" in report.xsd_errors[0].message


def test_validation_from_several_threads(specs_dir, validate):
    """The gateway validates from worker threads: Saxon is shared behind a lock."""
    import threading

    data = (specs_dir / SAMPLES / "ep/openncp-mock_1-5678-W7.xml").read_bytes()
    counts: list[int] = []

    def work() -> None:
        counts.append(len(validate(data).failed_assertions))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counts == [1, 1, 1]
