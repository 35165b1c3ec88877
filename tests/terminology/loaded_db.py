"""A migrated SQLite database with the whole terminology loaded, built once per session.

Loading the catalogue takes a few seconds, so the test packages that need it (terminology,
transform, cda, rendering) each ask for it once per session through their own conftest.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ncp.store.db import make_engine, session_factory
from ncp.terminology.loader import load_all


def loaded_terminology_db(tmp_path_factory: pytest.TempPathFactory, template: Path,
                          specs_dir: Path) -> Engine:
    path = tmp_path_factory.mktemp("terminology-db") / "ncp.sqlite"
    shutil.copyfile(template, path)
    engine = make_engine(f"sqlite:///{path}")
    load_all(session_factory(engine), specs_dir)
    return engine
