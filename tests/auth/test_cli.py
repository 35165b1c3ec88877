"""``ncp accounts``: enrol, register a card, issue a token, read the login log."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ncp import demo


@pytest.fixture
def var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from ncp.app import build_runtime
    from ncp.settings import Settings, get_settings
    from ncp.store.db import upgrade

    monkeypatch.setenv("NCP_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    runtime = build_runtime(Settings(var_dir=tmp_path))
    upgrade(runtime.engine)
    demo.seed(runtime.records)
    runtime.engine.dispose()
    yield tmp_path
    get_settings.cache_clear()


def test_accounts_commands(var: Path) -> None:
    from ncp.cli import app
    from ncp.security.pki import init_pki

    runner = CliRunner()
    matricule = demo.PATIENTS[0].patient.matricule
    result = runner.invoke(app, ["accounts", "add", "jean.s", "--kind", "patient",
                                 "--matricule", matricule], input="long password 1\n" * 2)
    assert result.exit_code == 0, result.output
    assert "otpauth://totp/" in result.output
    again = runner.invoke(app, ["accounts", "add", "jean.s", "--kind", "patient",
                                "--matricule", matricule], input="long password 1\n" * 2)
    assert again.exit_code == 2 and "taken" in again.output
    result = runner.invoke(app, ["accounts", "add", "marie", "--kind", "professional",
                                 "--registry-id", "LU-HP-100001"], input="long password 2\n" * 2)
    assert result.exit_code == 0, result.output
    init_pki(var / "pki", ("LU",))
    card = var / "pki" / "lu" / "tls-client.pem"
    assert runner.invoke(app, ["accounts", "card", "marie", "--cert", str(card)]).exit_code == 0
    assert runner.invoke(app, ["accounts", "card", "jean.s", "--cert", str(card)]).exit_code == 2
    token = runner.invoke(app, ["accounts", "token", "marie"])
    assert token.exit_code == 0 and token.output.startswith("ncp_")
    assert runner.invoke(app, ["accounts", "token", "jean.s"]).exit_code == 2
    assert runner.invoke(app, ["accounts", "token", "nobody"]).exit_code == 2
    assert runner.invoke(app, ["accounts", "logins", "marie"]).exit_code == 0
    assert "disabled" in runner.invoke(app, ["accounts", "disable", "marie"]).output
    assert "enabled" in runner.invoke(app, ["accounts", "disable", "marie", "--enable"]).output
