from __future__ import annotations

import typer
from typer.testing import CliRunner

from ncp.validation.cli import validate_command


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("validate")(validate_command)

    @app.command("other")
    def other() -> None:  # a second command keeps typer in sub-command mode
        pass

    return app


def test_validate_prints_failures_and_exits_non_zero(specs_dir, validation_var, monkeypatch):
    monkeypatch.setenv("NCP_VAR_DIR", str(validation_var))
    from ncp.settings import get_settings

    get_settings.cache_clear()
    try:
        sample = specs_dir / "samples/cda/ep/openncp-mock_1-5678-W7.xml"
        result = CliRunner().invoke(_app(), ["validate", str(sample)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    assert "ePrescription: FAILED" in result.output
    assert "1 failed assertions" in result.output
    assert "hl7:legalAuthenticator[1]/hl7:assignedEntity[1]/hl7:assignedPerson[1]" in result.output
    assert "element hl7:name is required" in result.output
