"""``ncp registry merge``: the operator merges a DSP opened at a visit into the matricule's, on
SQLite and PostgreSQL, through the command."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from ncp.cli import app
from ncp.store import matricule
from ncp.store.errors import NotFound
from ncp.store.policy import Actor
from ncp.store.records import Records
from ncp.store.visits import VisitIdentity, register_at_visit

NUMBER = matricule.make(dt.date(1990, 3, 4), 17)


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["registry", "merge", *args])
    return result.exit_code, result.output


def test_the_operator_merges_once_and_the_provisional_identifier_is_retired(
        records: Records) -> None:
    doctor = records.professional_actor(records.add_professional(
        registry_id="RP1", given_name="Marie", family_name="Muller", profession="physician",
        isco_code="2211"))
    target = records.add_patient(matricule=NUMBER, given_name="Ana", family_name="Silva",
                                 gender="F")
    done = register_at_visit(records, doctor, VisitIdentity("Ana", "Silva", dt.date(1990, 3, 4),
                                                            "F"))
    records.add_document(doctor, done.patient_id, doc_type="visit-report", title="Visite",
                         media_type="text/plain", content=b"notes")
    code, out = _run(done.provisional_id, NUMBER)
    assert code == 2 and "--operator" in out  # who merges is required
    code, out = _run(done.provisional_id, NUMBER, "--operator", "ops1")
    assert code == 0, out
    assert f"{done.provisional_id} merged into {NUMBER}" in out
    assert "1 document versions" in out
    assert [d.title for d in records.list_documents(doctor, target)] == ["Visite"]
    with pytest.raises(NotFound):
        records.patient_id(done.provisional_id)
    code, out = _run(done.provisional_id, NUMBER, "--operator", "ops1")
    assert code == 0 and "already merged" in out


def test_refusals_write_nothing_and_say_why(records: Records) -> None:
    doctor = records.professional_actor(records.add_professional(
        registry_id="RP2", given_name="Marie", family_name="Muller", profession="physician",
        isco_code="2211"))
    pid = records.add_patient(matricule=NUMBER, given_name="Ana", family_name="Silva",
                              gender="F")
    records.close_dsp(Actor.patient(pid, "Ana Silva"), pid, "moved abroad")
    done = register_at_visit(records, doctor, VisitIdentity("Ana", "Silva", dt.date(1990, 3, 4),
                                                            "F"))
    code, out = _run(done.provisional_id, NUMBER, "--operator", "ops1")
    assert code == 1 and "is closed" in out and "nothing written" in out
    assert records.patient_id(done.provisional_id) == done.patient_id
    code, out = _run("P123", NUMBER, "--operator", "ops1")
    assert code == 1 and "P followed by 12 digits" in out
    code, out = _run(done.provisional_id, NUMBER, "--operator", "ops1", "--force")
    assert code == 0 and "(forced)" in out


def test_the_operator_lists_provisional_records_with_likely_matricules(
        records: Records) -> None:
    doctor = records.professional_actor(records.add_professional(
        registry_id="RP3", given_name="Marie", family_name="Muller", profession="physician",
        isco_code="2211"))
    records.add_patient(matricule=NUMBER, given_name="Ána", family_name="SILVA", gender="F")
    same = register_at_visit(records, doctor, VisitIdentity("Ana", "Silva", dt.date(1990, 3, 4),
                                                            "F"))
    other = register_at_visit(records, doctor, VisitIdentity("Bea", "Silva",
                                                             dt.date(1990, 3, 4), "F"))
    result = CliRunner().invoke(app, ["registry", "provisional"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert lines[same.provisional_id].endswith(f"likely: {NUMBER}")
    assert lines[other.provisional_id].endswith("likely: -")
    assert "2 open provisional DSP(s)" in result.output
    assert _run(same.provisional_id, NUMBER, "--operator", "ops1")[0] == 0
    result = CliRunner().invoke(app, ["registry", "provisional"])
    assert same.provisional_id not in result.output and "1 open provisional" in result.output
