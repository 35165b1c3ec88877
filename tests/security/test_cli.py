"""``ncp pki init`` and ``ncp pki list``."""

from __future__ import annotations

import datetime as dt

from typer.testing import CliRunner

from ncp.security.cli import certificate_inventory, pki_app
from ncp.security.pki import _load, _save, issue_leaf
from ncp.settings import Settings, get_settings


def test_init_then_list(tmp_path, monkeypatch):
    monkeypatch.setenv("NCP_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(pki_app, ["init"])
        assert result.exit_code == 0, result.output
        assert (tmp_path / "pki" / "lu" / "signing.pem").is_file()
        assert (tmp_path / "pki" / "be" / "ca.pem").is_file()
        result = runner.invoke(pki_app, ["list"])
        assert result.exit_code == 0, result.output
        assert "own signing" in result.output and "C=LU" in result.output
        assert "anchor signing,tls-client,tls-server" in result.output
        assert "WARNING" not in result.output
        # a certificate close to expiry is flagged
        ca = _load(tmp_path / "pki" / "lu", "ca")
        soon = issue_leaf(ca, "signing", not_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=5))
        _save(tmp_path / "pki" / "lu", "signing", soon)
        result = runner.invoke(pki_app, ["list"])
        line = next(ln for ln in result.output.splitlines() if ln.startswith("own signing"))
        assert ("WARNING" in line and " 4  " in line) or " 5  " in line
    finally:
        get_settings.cache_clear()


def test_inventory_reports_unreadable_files(tmp_path):
    entries, problems = certificate_inventory(Settings(var_dir=tmp_path))
    assert entries == []
    assert any("cannot read" in p for p in problems)
