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


def test_unmapped_lists_the_codes_kept_as_received(tmp_path, monkeypatch):
    import datetime as dt
    import json

    from ncp.store.db import make_engine, session_factory, upgrade
    from ncp.store.terminology import UnmappedRow, add_unmapped

    url = f"sqlite:///{tmp_path / 'ncp.sqlite'}"
    monkeypatch.setenv("NCP_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        engine = make_engine(url)
        upgrade(engine)
        runner = CliRunner()
        empty = runner.invoke(terminology_app, ["unmapped"])
        assert empty.exit_code == 0 and "no unmapped codes" in empty.output
        with session_factory(engine)() as s, s.begin():
            add_unmapped(s, [UnmappedRow(
                received_at=dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC), country="DK",
                document_kind="eDispensation", document_id="1.2.208^ED1",
                location="/hl7:ClinicalDocument[1]/pharm:formCode[1]", code="TABFILM",
                code_system="2.16.17.710.802.1000.990.1.20.22",
                display="filmovertrukne tabletter", reason="unknown-code-system",
                value_sets="1.3.6.1.4.1.12559.11.10.1.3.1.42.2")])
        engine.dispose()
        listed = runner.invoke(terminology_app, ["unmapped"])
        assert listed.exit_code == 0, listed.output
        assert "TABFILM (2.16.17.710.802.1000.990.1.20.22) 'filmovertrukne tabletter'" in \
            listed.output and " DK " in listed.output
        as_json = runner.invoke(terminology_app, ["unmapped", "--json"])
        row = json.loads(as_json.output.splitlines()[0])
        assert row["code"] == "TABFILM" and row["reason"] == "unknown-code-system"
    finally:
        get_settings.cache_clear()
