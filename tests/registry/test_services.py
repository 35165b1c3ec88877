"""``ncp registry import-services``: the insurer's reimbursed services become each patient's
summary of services, on SQLite and PostgreSQL, through the command as an operator runs it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from ncp.cli import app
from ncp.store import matricule
from ncp.store.errors import AccessDenied
from ncp.store.models import AccessLogEntry, Document
from ncp.store.policy import Actor
from ncp.store.records import Records
from ncp.store.services import parse_summary

HEADER = "matricule,date,code,label,provider,reference,kind\n"
ANNA = matricule.make(dt.date(1970, 5, 1), 11)
BEN = matricule.make(dt.date(1988, 12, 24), 502)
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def _csv(tmp_path: Path, *lines: str, name: str = "services.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["registry", "import-services", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _docs(records: Records) -> list[tuple[int, int, bool]]:
    with records.reading() as s:
        return [tuple(r) for r in s.execute(select(  # type: ignore[misc]
            Document.patient_id, Document.version, Document.is_current).where(
            Document.doc_type == "services-summary").order_by(Document.id))]


def _people(records: Records) -> tuple[int, int, Actor]:
    anna = records.add_patient(matricule=ANNA, given_name="Anna", family_name="Hoffmann",
                               gender="F")
    ben = records.add_patient(matricule=BEN, given_name="Ben", family_name="Kieffer",
                              gender="M")
    return anna, ben, Actor.patient(anna, "Anna Hoffmann")


def test_a_summary_per_patient_versioned_as_lines_arrive_and_idempotent(
        records: Records, tmp_path: Path) -> None:
    anna, ben, me = _people(records)
    first = _csv(tmp_path, f"{ANNA},2026-03-02,C1,Consultation,Dr Muller,R1,service",
                 f"{ANNA},2026-03-02,1G12,Radiographie,CHL,R2,examination",
                 f"{BEN},2026-05-11,E0101,Hémogramme,Laboratoires Réunis,R3,")
    code, out = _run(str(first))
    assert code == 0, out
    assert "2 summaries updated, 3 new lines, 0 corrected, 0 unchanged" in out
    assert sorted(_docs(records)) == [(anna, 1, True), (ben, 1, True)]
    code, out = _run(str(first))  # the same feed again: nothing written
    assert code == 0 and "0 summaries updated, 0 new lines, 0 corrected, 3 unchanged" in out
    assert len(_docs(records)) == 2
    # A later period and a correction: a new version of Anna's summary only.
    later = _csv(tmp_path, f"{ANNA},2026-09-14,C2,Consultation spécialisée,Dr Hoffmann,R4,",
                 f"{ANNA},2026-03-02,1G12,Radiographie du thorax,CHL,R2,examination",
                 name="later.csv")
    code, out = _run(str(later))
    assert code == 0 and "1 summaries updated, 1 new lines, 1 corrected" in out
    assert (anna, 2, True) in _docs(records) and (anna, 1, False) in _docs(records)
    # The patient reads it: every line, the correction applied, authored by the CNS.
    (doc,) = records.list_documents(me, anna, doc_type="services-summary")
    assert doc.author_name == "Caisse nationale de santé (CNS)" and doc.version == 2
    _, content = records.read_document(me, doc.unique_id)
    lines = parse_summary(content)
    assert sorted(lines) == ["R1", "R2", "R4"]
    assert lines["R2"].label == "Radiographie du thorax"
    assert "2026-03-02 - 2026-09-14, 3" in content.decode()
    with records.reading() as s:
        whats = list(s.scalars(select(AccessLogEntry.what).where(
            AccessLogEntry.patient_id == anna).order_by(AccessLogEntry.id)))
    assert "summary of services: 1 new, 1 corrected" in whats


def test_the_rights_matrix_decides_who_reads_it(records: Records, tmp_path: Path) -> None:
    anna, _, _ = _people(records)
    gp = records.professional_actor(records.add_professional(
        registry_id="RP1", given_name="Marie", family_name="Muller", profession="physician",
        isco_code="2211"))
    pharmacist = records.professional_actor(records.add_professional(
        registry_id="RP2", given_name="Sophie", family_name="Weber", profession="pharmacist",
        isco_code="2262"))
    for who in (gp, pharmacist):
        records.declare_relationship(who, anna, "visit")
    assert _run(str(_csv(tmp_path, f"{ANNA},2026-03-02,C1,Consultation,Dr Muller,R1,")))[0] == 0
    (doc,) = records.list_documents(gp, anna, doc_type="services-summary")
    records.read_document(gp, doc.unique_id)
    assert records.list_documents(pharmacist, anna, doc_type="services-summary") == []
    with pytest.raises(AccessDenied):
        records.read_document(pharmacist, doc.unique_id)
    with pytest.raises(AccessDenied):  # nobody writes it but the feed
        records.add_document(gp, anna, doc_type="services-summary", title="x",
                             media_type="text/plain", content=b"x")


def test_bad_lines_and_unknown_matricules_refuse_the_batch_unless_skip_bad(
        records: Records, tmp_path: Path) -> None:
    _people(records)
    stranger = matricule.make(dt.date(1999, 1, 1), 5)
    path = _csv(tmp_path, f"{ANNA},2026-03-02,C1,Consultation,Dr Muller,R1,",
                f"{ANNA},2099-01-01,C1,Consultation,Dr Muller,R2,",
                f"{ANNA},2026-03-02,C 1,Consultation,Dr Muller,R3,",
                f"{stranger},2026-03-02,C1,Consultation,Dr Muller,R4,",
                f"{BEN},2026-03-02,C1,Consultation,,R5,",
                f"{BEN},2026-03-02,C1,Consultation,Dr Muller,R6,surgery")
    code, out = _run(str(path))
    assert code == 1
    for expected in ("line 3: the date is in the future", "line 4: code is not",
                     "line 5: no DSP for this matricule", "line 6: provider is missing",
                     "line 7: kind is one of", "refused: 5 bad line(s), nothing written"):
        assert expected in out, out
    assert _docs(records) == []
    code, out = _run(str(path), "--skip-bad")
    assert code == 0 and "1 summaries updated, 1 new lines" in out and "5 bad" in out
    assert "line 5: no DSP for this matricule" in out


def test_the_documented_examples_apply(records: Records) -> None:
    for p in ("1970050101156", "1988122450276"):  # the insured examples' persons
        records.add_patient(matricule=p, given_name="A", family_name="B", gender="F")
    for name in ("services.csv", "services.jsonl"):
        code, out = _run(str(EXAMPLES / name))
        assert code == 0 and "0 bad" in out, out
    with records.reading() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 3  # 2 + a new version
