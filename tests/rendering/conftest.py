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


@pytest.fixture(scope="session")
def pivot_documents(terminology):
    """A pivot PS, eP and eD of a demo patient."""
    import datetime as dt

    from ncp.cda.demo import DemoPatient, demo_dispensation, national_documents
    from ncp.cda.kinds import DocumentKind
    from ncp.transform import to_pivot

    patient = DemoPatient("1970010100017", "Marie", "Schmit", dt.date(1970, 1, 1), "F",
                          "Esch-sur-Alzette")
    docs = national_documents(patient)
    ps = to_pivot(docs[0].content, kind=DocumentKind.PATIENT_SUMMARY,
                  terminology=terminology).document
    ep = to_pivot(docs[1].content, kind=DocumentKind.EPRESCRIPTION,
                  terminology=terminology).document
    return {"ps": ps, "ep": ep, "ed": demo_dispensation(ep)}


@pytest.fixture(scope="session")
def validation_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("validation-var")
