"""``ncp registry import-referring``: the insurer's referring-doctor declarations, on SQLite and
PostgreSQL, through the command as an operator runs it (issue 17 item 5): who writes the
Patient Summary, whose worklist counts the three months, what the patient sees."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from ncp.cli import app
from ncp.store import matricule
from ncp.store.models import Patient
from ncp.store.policy import Actor
from ncp.store.records import Records
from ncp.store.referring import LUXEMBOURG, ReferringDeclarations, day_start
from ncp.store.worklist import add_months, referring_worklist

HEADER = "matricule,registry_id,start,end\n"
ANNA = matricule.make(dt.date(1970, 5, 1), 11)
BEN = matricule.make(dt.date(1988, 12, 24), 502)
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def _csv(tmp_path: Path, *lines: str, name: str = "referring.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["registry", "import-referring", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _referring(records: Records, pid: int) -> int | None:
    with records.reading() as s:
        return s.scalar(select(Patient.referring_doctor_id).where(Patient.id == pid))


def _world(records: Records) -> tuple[int, int, Actor, Actor, int, int]:
    anna = records.add_patient(matricule=ANNA, given_name="Anna", family_name="Hoffmann",
                               gender="F")
    ben = records.add_patient(matricule=BEN, given_name="Ben", family_name="Kieffer",
                              gender="M")
    gp1 = records.add_professional(registry_id="RD1", given_name="Marie", family_name="Muller",
                                   profession="physician", isco_code="2211")
    gp2 = records.add_professional(registry_id="RD2", given_name="Paul", family_name="Weis",
                                   profession="physician", isco_code="2211")
    records.add_professional(registry_id="PH1", given_name="Sophie", family_name="Weber",
                             profession="pharmacist", isco_code="2262")
    return (anna, ben, records.professional_actor(gp1), records.professional_actor(gp2),
            gp1, gp2)


def _today() -> dt.date:
    return dt.datetime.now(LUXEMBOURG).date()  # the command's clock: the real one


def test_a_declaration_makes_the_referring_doctor_and_a_new_one_ends_it(
        records: Records, tmp_path: Path) -> None:
    anna, ben, doc1, doc2, gp1, gp2 = _world(records)
    today = _today()
    start = today - dt.timedelta(days=75)  # the first summary due within the worklist's 30 days
    end = today + dt.timedelta(days=300)
    first = _csv(tmp_path, f"{ANNA},RD1,{start},", f"{BEN},rd1,{start},{end}")
    code, out = _run(str(first))
    assert code == 0, out
    assert "2 new, 0 changed, 0 earlier ended, 0 unchanged, 0 bad" in out
    assert _referring(records, anna) == gp1 and _referring(records, ben) == gp1
    # The worklist counts the three months from the declaration's day, not from the feed.
    due = {i.patient.id: i for i in referring_worklist(records, doc1)}
    assert due[anna].task == "first-summary" and due[anna].due == add_months(start, 3)
    assert due[anna].declared_at == day_start(start)
    # The patient sees the relationship with its source and its end.
    me = Actor.patient(ben, "Ben Kieffer")
    (rel,) = records.relationships(me, ben)
    assert (rel.registry_id, rel.source) == ("RD1", "referring-doctor")
    assert rel.valid_to == day_start(today + dt.timedelta(days=301))  # the end day included
    log = [e.what for e in records.access_log(me, ben)]
    assert f"referring doctor declared: RD1 from {start} to {today + dt.timedelta(days=300)}" \
        in log

    code, out = _run(str(first))  # the same feed again: nothing changes
    assert code == 0 and "0 new, 0 changed, 0 earlier ended, 2 unchanged" in out
    assert len(records.relationships(me, ben)) == 1

    # Anna declares another doctor from yesterday: the first declaration ends that day.
    second = _csv(tmp_path, f"{ANNA},RD2,{today - dt.timedelta(days=1)},", name="second.csv")
    code, out = _run(str(second))
    assert code == 0 and "1 new, 0 changed, 1 earlier ended" in out, out
    assert _referring(records, anna) == gp2
    assert anna not in {i.patient.id for i in referring_worklist(records, doc1)}
    mine = {p.id: p for p in records.patients_of(doc2)}
    assert mine[anna].referring_doctor_id == gp2
    (now_rel,) = records.relationships(Actor.patient(anna, "Anna Hoffmann"), anna)
    assert now_rel.registry_id == "RD2"


def test_a_declaration_starts_and_ends_on_its_days(records: Records, tmp_path: Path) -> None:
    """A declaration for next week does not move the right today; the daily run on its
    start day does; an end day reached takes it away."""
    anna, _, _, _, gp1, gp2 = _world(records)
    today = _today()
    code, out = _run(str(_csv(tmp_path, f"{ANNA},RD1,{today - dt.timedelta(days=30)},")))
    assert code == 0 and _referring(records, anna) == gp1
    later = today + dt.timedelta(days=7)
    code, out = _run(str(_csv(tmp_path, f"{ANNA},RD2,{later},", name="later.csv")))
    assert code == 0, out
    assert _referring(records, anna) == gp1  # RD1's runs until RD2's start day
    start_day = day_start(later) + dt.timedelta(hours=9)
    feed = ReferringDeclarations(records._sessions, clock=lambda: start_day)
    assert feed.refresh() == 1 and _referring(records, anna) == gp2
    assert feed.refresh() == 0  # idempotent
    # RD2's declaration is then given an end: the day after it, nobody is the referring doctor.
    ended = later + dt.timedelta(days=3)
    feed.apply([_declaration(ANNA, "RD2", later, ended)])
    after = ReferringDeclarations(records._sessions,
                                  clock=lambda: day_start(ended + dt.timedelta(days=1)))
    assert after.refresh() == 1 and _referring(records, anna) is None


def _declaration(m: str, registry_id: str, start: dt.date, end: dt.date | None):  # type: ignore[no-untyped-def]
    from ncp.registry.referring import Declaration

    return Declaration(line=1, matricule=m, registry_id=registry_id, start=start, end=end)


def test_bad_lines_are_refused_with_their_numbers_and_nothing_is_written(
        records: Records, tmp_path: Path) -> None:
    anna, ben, *_ = _world(records)
    today = _today()
    nobody = matricule.make(dt.date(1999, 1, 1), 77)
    bad = _csv(tmp_path, f"{ANNA},RD1,{today},",
               f"{nobody},RD1,{today},",
               f"{BEN},PH1,{today},",
               f"{BEN},RD9,{today},",
               f"{BEN},RD1,{today},{today - dt.timedelta(days=1)}",
               f"{BEN},RD1,yesterday,",
               "1234,RD1,2026-01-01,")
    code, out = _run(str(bad))
    assert code == 1
    for line, reason in ((3, "no DSP for this matricule"), (4, "PH1 is a pharmacist"),
                         (5, "unknown professional RD9"), (6, "is before start"),
                         (7, "start is not a date"), (8, "invalid matricule")):
        (said,) = [x for x in out.splitlines() if x.startswith(f"line {line}: ")]
        assert reason in said, out
    assert "nothing written" in out
    assert _referring(records, anna) is None and _referring(records, ben) is None
    code, out = _run(str(bad), "--skip-bad")
    assert code == 0 and "1 new" in out and "6 bad" in out, out
    assert _referring(records, anna) is not None


def test_the_documented_example_applies(records: Records) -> None:
    for m, name in ((ANNA, "Anna"), (BEN, "Ben")):
        records.add_patient(matricule=m, given_name=name, family_name="Example", gender="F")
    records.add_professional(registry_id="LU-HP-100001", given_name="Marie",
                             family_name="Muller", profession="physician", isco_code="2211")
    code, out = _run(str(EXAMPLES / "referring.csv"))
    assert code == 0 and "2 new" in out, out
