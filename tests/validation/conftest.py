"""Fixtures of the validator tests: one cache folder and one loaded stylesheet per session.

Loading the compiled eHDSI stylesheets into Saxon takes seconds, so every test of a session
shares them (the engine memoises loaded stylesheets by path).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ncp.cda.kinds import DocumentKind
from ncp.validation.validator import ValidationReport, validate_document


@pytest.fixture(scope="session")
def validation_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("validation-var")


@pytest.fixture(scope="session")
def validate(specs_dir: Path, validation_var: Path) -> Callable[..., ValidationReport]:
    def run(data: bytes, kind: DocumentKind | None = None) -> ValidationReport:
        return validate_document(data, kind=kind, specs=specs_dir, var_dir=validation_var)

    return run
