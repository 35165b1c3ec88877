"""A migrated SQLite database with the whole terminology loaded, built once per session.

Loading the catalogue takes a few seconds, so the test packages that need it (terminology,
transform, cda, rendering) each ask for it once per session through their own conftest.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from ncp.store.db import make_engine, session_factory, upgrade
from ncp.terminology.loader import load_all


def loaded_terminology_db(tmp_path_factory: pytest.TempPathFactory, specs_dir: Path) -> Engine:
    """A fresh SQLite database, migrated to head, with ``ncp terminology load`` applied."""
    path = tmp_path_factory.mktemp("terminology-db") / "ncp.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    load_all(session_factory(engine), specs_dir)
    return engine
