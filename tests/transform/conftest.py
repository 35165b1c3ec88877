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


DEMO_PATIENTS = [
    ("1985031512345", "Jean", "Dupont", (1985, 3, 15), "M", "Luxembourg"),
    ("1970010100017", "Marie", "Schmit", (1970, 1, 1), "F", "Esch-sur-Alzette"),
    ("2001122498765", "Luc", "Weber", (2001, 12, 24), "M", "Differdange"),
    ("1955070712321", "Anne", "Muller", (1955, 7, 7), "F", "Ettelbruck"),
    ("1990020211111", "Alex", "Kremer", (1990, 2, 2), "UN", "Wiltz"),
]


@pytest.fixture(scope="session")
def demo_patients():
    import datetime as dt

    from ncp.cda.demo import DemoPatient

    return [DemoPatient(m, g, f, dt.date(*b), s, c) for m, g, f, b, s, c in DEMO_PATIENTS]


@pytest.fixture(scope="session")
def validation_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("validation-var")
