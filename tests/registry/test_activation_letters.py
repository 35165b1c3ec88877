"""``ncp registry activation-letters``: the operator issues the letters of the DSPs the register
opened, as the mail house's CSV (docs/examples/activation-letters.csv), on SQLite and
PostgreSQL, through the command; the codes of the file activate the DSPs, once."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from ncp.auth.activation import normalise_code
from ncp.auth.passwords import Passwords, make_hasher
from ncp.auth.service import Authenticator, AuthError
from ncp.cli import app
from ncp.registry.letters import COLUMNS
from ncp.store.db import session_factory
from ncp.store.records import Records

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["registry", *args])
    return result.exit_code, result.output


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_the_register_extract_gives_the_documented_letters_whose_codes_activate(
        records: Records, any_db_engine: Engine, tmp_path: Path) -> None:
    assert _run("import-insured", str(EXAMPLES / "insured.csv"))[0] == 0
    out = tmp_path / "letters.csv"
    code, output = _run("activation-letters", "--out", str(out))
    assert code == 0 and "2 written" in output, output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # the only copy of the codes in clear
    example = _rows(EXAMPLES / "activation-letters.csv")
    letters = _rows(out)
    assert out.read_text().splitlines()[0] == ",".join(COLUMNS) == \
        (EXAMPLES / "activation-letters.csv").read_text().splitlines()[0]
    same = [c for c in COLUMNS if c not in ("code", "valid_until")]
    assert [{c: r[c] for c in same} for r in letters] == \
        [{c: r[c] for c in same} for r in example]
    for row in example + letters:
        assert normalise_code(row["code"]) is not None, row["code"]
    # a second run sends nothing new, and never overwrites a file of codes
    assert _run("activation-letters", "--out", str(out))[0] == 1
    again = tmp_path / "again.csv"
    assert _run("activation-letters", "--out", str(again)) == (
        0, f"activation letters: 0 written to {again}\n")
    # a lost letter: a new one for that person only, the old code stops working
    newer = tmp_path / "newer.csv"
    assert _run("activation-letters", "--out", str(newer), "--reissue",
                "--matricule", letters[0]["matricule"])[0] == 0
    (reissued,) = _rows(newer)
    from ncp.auth.activation import Activation

    auth = Authenticator(session_factory(any_db_engine), records,
                         passwords=Passwords(make_hasher(cheap=True)))
    activation = Activation(auth)
    with pytest.raises(AuthError) as old:
        activation.start(letters[0]["matricule"], letters[0]["code"])
    assert old.value.reason == "activation-replaced"
    assert activation.start(reissued["matricule"], reissued["code"]).recipient.family_name \
        == "Hoffmann"
    assert activation.start(letters[1]["matricule"], letters[1]["code"])
