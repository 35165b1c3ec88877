from __future__ import annotations

from typer.testing import CliRunner

from ncp.settings import get_settings
from ncp.terminology.cli import terminology_app


def test_load_then_lookup(tmp_path, monkeypatch, specs_dir):
    monkeypatch.setenv("NCP_DATABASE_URL", f"sqlite:///{tmp_path / 'ncp.sqlite'}")
    monkeypatch.setenv("NCP_SPECS_DIR", str(specs_dir))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        loaded = runner.invoke(terminology_app, ["load"])
        assert loaded.exit_code == 0, loaded.output
        assert "from mvc-fsh" in loaded.output
        assert "mapping lu-voie@2026.1: 14 codes" in loaded.output
        found = runner.invoke(terminology_app, ["lookup", "0.4.0.127.0.16.1.1.2.1", "20053000",
                                                "--lang", "de", "--value-set",
                                                "1.3.6.1.4.1.12559.11.10.1.3.1.42.12"])
        assert found.exit_code == 0, found.output
        assert "Zum Einnehmen [de]" in found.output
        assert "member of 1.3.6.1.4.1.12559.11.10.1.3.1.42.12: yes" in found.output
        outside = runner.invoke(terminology_app, ["lookup", "0.4.0.127.0.16.1.1.2.1",
                                                  "10219000", "--value-set",
                                                  "1.3.6.1.4.1.12559.11.10.1.3.1.42.12"])
        assert outside.exit_code == 1
    finally:
        get_settings.cache_clear()
