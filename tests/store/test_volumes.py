"""The request counts of the enumeration defence stay bounded, and their alerts reach the
operator (issue 14 item 13), on SQLite and PostgreSQL.

The attack: a walker of matricules that asks for a new patient with every request added one
``request_counts`` row per patient and window, forever (the purge is ncp.store.housekeeping's,
tests/store/test_housekeeping.py). The alerts it raises were visible only with ``sqlite3``:
``ncp audit volumes`` lists them, ``--ack`` marks them seen.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from ncp.cli import app
from ncp.settings import get_settings
from ncp.store.housekeeping import purge
from ncp.store.volumes import (
    OperatorAlert,
    RequestCount,
    RequestVolumes,
    VolumeLimits,
    window_start,
)
from tests.clock import NOW

HOUR = dt.timedelta(hours=1)
LIMITS = VolumeLimits(window=HOUR, per_peer=10_000, per_professional=10_000, per_patient=2)


def rows(engine: Engine, model: type = RequestCount) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar() or 0)


def walk(volumes: RequestVolumes, at: dt.datetime, patients: range) -> None:
    for n in patients:
        volumes.count(at=at, peer="BE", professional="BE:walker", patient=f"{n:013d}")


def test_a_day_of_walking_matricules_leaves_one_window(any_db_engine: Engine) -> None:
    """30 new patients an hour for a day, with the app's purge (once a minute; here a minute
    after each hour's walk): the table holds the current window's keys (without the purge: 24
    windows, 768 rows)."""
    volumes = RequestVolumes(any_db_engine, LIMITS)
    start = window_start(NOW, HOUR)
    most = 0
    for hour in range(24):
        at = start + hour * HOUR + dt.timedelta(minutes=5)
        walk(volumes, at, range(hour * 30, hour * 30 + 30))
        most = max(most, rows(any_db_engine))
        purge(any_db_engine, now=at + dt.timedelta(minutes=1), window=HOUR)
    # one row per patient, plus the professional's and the peer's: the current window, and the
    # previous one until the first purge of the new window
    assert most == 2 * (30 + 2)
    assert rows(any_db_engine) == 30 + 2
    # the counting is intact: the current window still counts and refuses
    at = start + 23 * HOUR + dt.timedelta(minutes=50)
    for _ in range(2):
        assert volumes.count(at=at, peer="BE", professional="BE:x", patient="P") is None
    excess = volumes.count(at=at, peer="BE", professional="BE:x", patient="P")
    assert excess is not None and excess.scope == "patient"
    assert rows(any_db_engine, OperatorAlert) == 1  # alerts are not purged


def _cli(engine: Engine, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.setenv("NCP_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["audit", "volumes", *args])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result.output


def test_the_operator_lists_and_acknowledges_volume_alerts(
        any_db_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    volumes = RequestVolumes(any_db_engine, LIMITS)
    for _ in range(3):  # one patient asked for three times: the third is past the limit
        volumes.count(at=NOW, peer="BE", professional="BE:dr", patient="1968051421109")
    out = _cli(any_db_engine, monkeypatch)
    assert "WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS_FOR_UNIQUE_PATIENT" in out
    assert "patient '1968051421109': 3 > 2" in out
    alert_id = volumes.alerts()[0].id
    assert out.startswith(f"#{alert_id} ")
    assert "1 alert(s) acknowledged" in _cli(any_db_engine, monkeypatch, "--ack",
                                               str(alert_id))
    assert _cli(any_db_engine, monkeypatch) == ""  # nothing open any more
    assert "acknowledged" in _cli(any_db_engine, monkeypatch, "--all")
