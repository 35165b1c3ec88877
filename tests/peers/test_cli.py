"""``ncp peers add / import-ism / list / remove`` on a migrated database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ncp.cli import app
from ncp.security.pki import init_pki
from ncp.settings import get_settings
from ncp.store.db import make_engine, upgrade


@pytest.fixture
def var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("NCP_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    engine = make_engine(get_settings().sqlalchemy_url)
    upgrade(engine)
    engine.dispose()
    yield tmp_path
    get_settings.cache_clear()


def test_add_list_and_remove_a_peer(var: Path, specs_dir: Path) -> None:
    init_pki(var / "pki", ("BE",))
    runner = CliRunner()
    ism = specs_dir / "smp" / "ism-forms" / "InternationalSearch_BE.xml"
    result = runner.invoke(app, ["peers", "add", "be", "--name", "NCPeH BE",
                                 "--home-community-id", "1.3.6.1.4.1.48336.2.4.1",
                                 "--base-url", "https://be.example:8443/",
                                 "--tls-anchor", str(var / "pki" / "be" / "ca.pem"),
                                 "--ism", str(ism)])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["peers", "list"]).output
    assert "BE  NCPeH BE  home community 1.3.6.1.4.1.48336.2.4.1" in listed
    assert "ITI-55  https://be.example:8443/ws/xcpd" in listed
    assert "ITI-41  https://be.example:8443/ws/xdr" in listed
    assert "TLS anchor: CN=NCPeH BE development CA" in listed
    assert "search mask: id@1.3.6.1.4.1.48336" in listed
    at = runner.invoke(app, ["peers", "import-ism",
                             str(specs_dir / "smp" / "ism-forms" / "InternationalSearch_AT.xml")])
    assert at.exit_code == 0 and "AT: 4 search fields" in at.output
    assert runner.invoke(app, ["peers", "remove", "BE"]).exit_code == 0
    assert "NCPeH BE" not in runner.invoke(app, ["peers", "list"]).output
    assert runner.invoke(app, ["peers", "remove", "BE"]).exit_code == 1


def test_an_unreadable_mask_is_refused(var: Path, tmp_path: Path) -> None:
    bad = tmp_path / "mask.xml"
    bad.write_text("<patientSearch><country code='XX'/></patientSearch>")
    result = CliRunner().invoke(app, ["peers", "add", "XX", "--name", "X",
                                      "--home-community-id", "1.2.3", "--ism", str(bad)])
    assert result.exit_code != 0
    assert "XX" not in CliRunner().invoke(app, ["peers", "list"]).output


def test_an_entry_without_home_community_is_shown_unusable_until_set(var: Path) -> None:
    """An SMP import leaves the home community id empty: ``list`` says the entry cannot be
    called, ``set`` completes it (and the per-peer options) without touching the rest."""
    import datetime as dt

    from ncp.store.db import session_factory
    from ncp.store.peers import PeerStore

    engine = make_engine(get_settings().sqlalchemy_url)
    store = PeerStore(session_factory(engine))
    store.upsert(country="DK", name="NCPeH DK", home_community_id="",
                 endpoints={"ITI-55": "https://dk.example/xcpd"}, source="smp:dk",
                 now=dt.datetime.now(dt.UTC))
    runner = CliRunner()
    listed = runner.invoke(app, ["peers", "list"]).output
    assert "NOT USABLE, missing: home community id" in listed
    result = runner.invoke(app, ["peers", "set", "DK", "--home-community-id", "2.16.17.710.1",
                                 "--option", "role_codes=precise", "--option", "xdr=inline"])
    assert result.exit_code == 0, result.output
    peer = store.get("DK")
    assert peer.home_community_id == "2.16.17.710.1" and peer.source == "smp:dk"
    assert peer.endpoints == {"ITI-55": "https://dk.example/xcpd"}
    assert (peer.option("role_codes"), peer.option("xdr")) == ("precise", "inline")
    listed = runner.invoke(app, ["peers", "list"]).output
    assert "missing: home community" not in listed
    assert "options: role_codes=precise, xdr=inline" in listed
    bad = runner.invoke(app, ["peers", "set", "DK", "--option", "role_codes=exact"])
    assert bad.exit_code != 0 and store.get("DK").option("role_codes") == "precise"
    assert runner.invoke(app, ["peers", "set", "XX", "--home-community-id", "1.2"]).exit_code == 1
    engine.dispose()
