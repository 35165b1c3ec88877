"""Fixtures of the registry tests: the real server (see tests/portal/live.py), and the record
service of the database that the ``ncp registry`` commands, run in process, use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ncp.app import build_runtime
from ncp.settings import get_settings
from ncp.store.records import Records
from tests.portal.live import live  # noqa: F401


@pytest.fixture
def records(any_db_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
            ) -> Iterator[Records]:
    """The record service over the database (SQLite and PostgreSQL) that the commands use when
    run as an operator runs them (``NCP_DATABASE_URL``, ``NCP_VAR_DIR``), with the same key
    ring file as theirs."""
    monkeypatch.setenv("NCP_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("NCP_DATABASE_URL",
                       any_db_engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    runtime = build_runtime(get_settings())
    yield runtime.records
    runtime.engine.dispose()
    get_settings.cache_clear()
