from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ncp.store.db import session_factory
from ncp.terminology.service import DbTerminology
from tests.terminology.loaded_db import loaded_terminology_db


@pytest.fixture(scope="session")
def terminology_engine(tmp_path_factory: pytest.TempPathFactory,
                       specs_dir: Path) -> Iterator[Engine]:
    engine = loaded_terminology_db(tmp_path_factory, specs_dir)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def terminology(terminology_engine: Engine) -> DbTerminology:
    """The real, database-backed terminology with the catalogue and mappings loaded."""
    return DbTerminology(session_factory(terminology_engine))
