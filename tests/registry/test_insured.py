"""``ncp registry import-insured``: the social-security register feeds the DSPs, on SQLite and
PostgreSQL, through the command as an operator runs it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from ncp.cli import app
from ncp.settings import get_settings
from ncp.store import matricule
from ncp.store.models import AccessLogEntry, DspStateChange, Patient

HEADER = "matricule,given_name,family_name,birth_date,gender,street,postal_code,city,country," \
         "death_date\n"
ANNA = matricule.make(dt.date(1970, 5, 1), 11)
BEN = matricule.make(dt.date(1988, 12, 24), 502)
CARL = matricule.make(dt.date(1931, 1, 2), 7)


@pytest.fixture
def db(any_db_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
       ) -> Iterator[Engine]:
    monkeypatch.setenv("NCP_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("NCP_DATABASE_URL",
                       any_db_engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield any_db_engine
    get_settings.cache_clear()


def _csv(tmp_path: Path, *lines: str, name: str = "persons.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["registry", "import-insured", *args])
    return result.exit_code, result.output


def _patients(engine: Engine) -> dict[str, tuple]:
    with engine.connect() as c:
        return {r[0]: tuple(r[1:]) for r in c.execute(select(
            Patient.matricule, Patient.family_name, Patient.city, Patient.death_date,
            Patient.activated_at, Patient.dsp_state))}


def _count(engine: Engine, column) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as c:
        return c.scalar(select(func.count(column))) or 0


def test_new_persons_get_a_dsp_not_yet_activated_and_a_second_run_changes_nothing(
        db: Engine, tmp_path: Path) -> None:
    path = _csv(tmp_path, f"{ANNA},Anna,Hoffmann,1970-05-01,F,1 rue Haute,1111,Luxembourg,LU,",
                f"{BEN},Ben,Kieffer,1988-12-24,M,,,Esch-sur-Alzette,,")
    code, out = _run(str(path))
    assert code == 0, out
    assert "2 new, 0 changed (0 deceased), 0 unchanged, 0 bad" in out
    people = _patients(db)
    assert people[ANNA] == ("Hoffmann", "Luxembourg", None, None, "open")
    assert people[BEN][1] == "Esch-sur-Alzette"
    logs, states = _count(db, AccessLogEntry.id), _count(db, DspStateChange.id)
    assert (logs, states) == (2, 2)
    code, out = _run(str(path))
    assert code == 0 and "0 new, 0 changed (0 deceased), 2 unchanged" in out
    assert (_count(db, AccessLogEntry.id), _count(db, DspStateChange.id)) == (logs, states)


def test_an_incremental_extract_applies_changes_and_deaths(db: Engine, tmp_path: Path) -> None:
    _run(str(_csv(tmp_path, f"{ANNA},Anna,Hoffmann,1970-05-01,F,,,Luxembourg,LU,",
                  f"{CARL},Carl,Weis,1931-01-02,M,,,Vianden,LU,")))
    jsonl = tmp_path / "delta.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in [
        {"matricule": ANNA, "given_name": "Anna", "family_name": "Hoffmann-Roth",
         "birth_date": "1970-05-01", "gender": "F", "city": "Mersch"},
        {"matricule": CARL, "given_name": "Carl", "family_name": "Weis",
         "birth_date": "1931-01-02", "gender": "M", "city": "Vianden",
         "death_date": "2026-11-30"},
        {"matricule": BEN, "given_name": "Ben", "family_name": "Kieffer",
         "birth_date": "1988-12-24", "gender": "M"},
    ]) + "\n")
    code, out = _run(str(jsonl))
    assert code == 0, out
    assert "1 new, 2 changed (1 deceased), 0 unchanged, 0 bad" in out
    people = _patients(db)
    assert people[ANNA][:2] == ("Hoffmann-Roth", "Mersch")
    assert people[CARL][2] == dt.date(2026, 11, 30)
    with db.connect() as c:
        what = sorted(c.scalars(select(AccessLogEntry.what).where(
            AccessLogEntry.action == "update")))
    assert what == ["identity updated: death_date", "identity updated: family_name, city"]


def test_a_bad_line_refuses_the_whole_file_unless_skipped(db: Engine, tmp_path: Path) -> None:
    bad_checksum = ANNA[:-1] + str((int(ANNA[-1]) + 1) % 10)
    path = _csv(tmp_path,
                f"{BEN},Ben,Kieffer,1988-12-24,M,,,,,",
                f"{bad_checksum},Anna,Hoffmann,1970-05-01,F,,,,,",
                f"{CARL},Carl,Weis,1931-01-03,M,,,,,",
                f"{CARL},,Weis,1931-01-02,M,,,,,",
                f"{CARL},Carl,Weis,1931-01-02,X,,,,,",
                f"{CARL},Carl,Weis,1931-01-02,M,,,,,2026-13-01")
    code, out = _run(str(path))
    assert code == 1
    assert "line 3: invalid matricule" in out
    assert "line 4: the birth date does not agree with the matricule" in out
    assert "line 5: given_name is missing" in out
    assert "line 6: unknown administrative gender 'X'" in out
    assert "line 7: death_date is not a date" in out
    assert "nothing written" in out and _patients(db) == {}
    code, out = _run(str(path), "--skip-bad")
    assert code == 0 and "1 new, 0 changed (0 deceased), 0 unchanged, 5 bad" in out
    assert list(_patients(db)) == [BEN]


def test_unreadable_files_are_refused_with_their_line(db: Engine, tmp_path: Path) -> None:
    no_header = tmp_path / "x.csv"
    no_header.write_text("matricule,given_name\n1,2\n")
    code, out = _run(str(no_header))
    assert code == 1 and "line 1: the header lacks family_name, birth_date, gender" in out
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text('{"matricule": 1}\n[1]\n{oops\n')
    code, out = _run(str(jsonl))
    assert code == 1 and "line 2: not a JSON object" in out and "line 3: not JSON" in out
    extra = _csv(tmp_path, f"{BEN},Ben,Kieffer,1988-12-24,M,,,,,,surplus", name="e.csv")
    code, out = _run(str(extra))
    assert code == 1 and "line 2: more values than the header has columns" in out
    assert _patients(db) == {}


def test_the_documented_examples_apply(db: Engine) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "examples"
    code, out = _run(str(docs / "insured.csv"))
    assert code == 0 and "2 new" in out, out
    code, out = _run(str(docs / "insured.jsonl"))
    assert code == 0 and "2 changed (1 deceased)" in out, out
