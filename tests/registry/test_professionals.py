"""``ncp registry import-professionals``: the national registry of professionals; a retirement
takes effect at once on the real API, and the professional's documents stay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from ncp import demo
from ncp.auth.service import Authenticator
from ncp.cli import app
from ncp.settings import get_settings
from ncp.store.db import session_factory
from ncp.store.errors import AccessDenied
from ncp.store.models import Document, Organisation, Professional
from tests.portal.live import Live

JEAN = demo.PATIENTS[0].patient.matricule
CARDIOLOGIST = {"registry_id": "LU-HP-100002", "given_name": "Luc", "family_name": "Hoffmann",
                "profession": "physician", "isco_code": "2212", "specialty": "cardiology"}


def _import(live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            rows: list[dict[str, str]]) -> str:
    path = tmp_path / "professionals.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.setenv("NCP_DATABASE_URL", live.settings.sqlalchemy_url)
    monkeypatch.setenv("NCP_VAR_DIR", str(live.settings.var_dir))  # the server's key ring
    monkeypatch.setenv("NCP_PKI_DIR", str(live.pki))  # and trust list
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["registry", "import-professionals", str(path)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result.output


def _documents_by(live: Live, registry_id: str) -> int:
    with live.engine.connect() as c:
        return c.scalar(select(func.count(Document.id)).join(
            Professional, Document.author_professional_id == Professional.id).where(
            Professional.registry_id == registry_id)) or 0


def test_a_retired_professional_loses_access_at_once_and_is_reinstated(
        live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    auth = Authenticator(session_factory(live.engine), live.records)
    account = auth.store.by_login("lu-hp-100002")
    assert account is not None
    api = live.client(headers={"Authorization": f"Bearer {auth.issue_token(account.id, 't')}"})
    assert api.get(f"/api/v1/patients/{JEAN}/documents").status_code == 200
    written = _documents_by(live, "LU-HP-100002")

    out = _import(live, tmp_path, monkeypatch, [{**CARDIOLOGIST, "status": "retired"}])
    assert "0 new, 1 changed (1 retired)" in out
    refused = api.get(f"/api/v1/patients/{JEAN}/documents")
    assert refused.status_code == 401, refused.text
    pid = live.records.professional_id("LU-HP-100002")
    with pytest.raises(AccessDenied):
        live.records.professional_actor(pid)
    assert _documents_by(live, "LU-HP-100002") == written  # their documents stay

    out = _import(live, tmp_path, monkeypatch, [CARDIOLOGIST])
    assert "0 new, 1 changed (0 retired)" in out
    assert api.get(f"/api/v1/patients/{JEAN}/documents").status_code == 200


def test_new_professionals_and_organisations_are_registered_idempotently(
        live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{"registry_id": "lu-hp-300001", "given_name": "Ana", "family_name": "Pereira",
             "profession": "nurse", "isco_code": "2221",
             "organisation_id": "LU-HOSP-0099", "organisation_name": "Clinique du Nord",
             "organisation_kind": "hospital"}]
    assert "1 new, 0 changed" in _import(live, tmp_path, monkeypatch, rows)
    assert "0 new, 0 changed (0 retired), 1 unchanged" in _import(live, tmp_path, monkeypatch,
                                                                  rows)
    moved = [{**rows[0], "organisation_name": "Clinique du Nord (Ettelbruck)"}]
    assert "1 unchanged" in _import(live, tmp_path, monkeypatch, moved)  # same organisation
    with live.engine.connect() as c:
        assert c.scalar(select(Organisation.name).where(
            Organisation.identifier == "LU-HOSP-0099")) == "Clinique du Nord (Ettelbruck)"
    actor = live.records.professional_actor(live.records.professional_id("LU-HP-300001"))
    assert actor.name == "Ana Pereira"


def test_bad_lines_are_refused_with_their_number(live: Live, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.csv"
    path.write_text("registry_id,given_name,family_name,profession,isco_code,status\n"
                    "LU-HP-400001,Eva,Klein,physician,2211,active\n"
                    "LU-HP-400002,Max,Klein,wizard,2211,active\n"
                    "LU-HP-400003,Ida,Klein,nurse,22x1,active\n"
                    "LU-HP-400004,Jo,Klein,nurse,2221,sleeping\n")
    monkeypatch.setenv("NCP_DATABASE_URL", live.settings.sqlalchemy_url)
    monkeypatch.setenv("NCP_VAR_DIR", str(live.settings.var_dir))  # the server's key ring
    monkeypatch.setenv("NCP_PKI_DIR", str(live.pki))  # and trust list
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["registry", "import-professionals", str(path)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "line 3: unknown profession 'wizard'" in result.output
    assert "line 4: isco_code is not an ISCO-08 code" in result.output
    assert "line 5: status is active or retired" in result.output
    with live.engine.connect() as c:
        assert not c.scalar(select(func.count(Professional.id)).where(
            Professional.registry_id == "LU-HP-400001"))


def test_the_documented_example_applies(live: Live, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "professionals.jsonl"
    rows = [json.loads(line) for line in example.read_text().splitlines()]
    out = _import(live, tmp_path, monkeypatch, rows)
    assert "0 bad" in out and "1 card(s) registered" in out
    with pytest.raises(AccessDenied):  # the example's retired dermatologist
        live.records.professional_actor(live.records.professional_id("LU-HP-300002"))


def _card(live: Live, folder: Path, serial: str) -> tuple[Path, Path]:
    """A card of the LU card CA whose subject serialNumber is ``serial`` (a card number)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import Encoding

    from ncp.auth.cards import issue_card, load_ca
    from ncp.security.pki import CARD_CA_FOLDER

    card = issue_card(load_ca(live.pki / "lu" / CARD_CA_FOLDER), common_name="Nora Kayser",
                      registry_id=serial)
    cert, key = folder / f"{serial}.pem", folder / f"{serial}.key"
    cert.write_bytes(card.certificate.public_bytes(Encoding.PEM))
    key.write_bytes(card.key.private_bytes(Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert, key


def _card_logs_in(live: Live, cert: Path, key: Path) -> tuple[int, int]:
    client = live.client(verify=live.tls(cert, key))
    return (client.post("/portal/login/card").status_code,
            live.client(verify=live.tls(cert, key)).get("/api/v1/me").status_code)


def test_the_registry_cards_log_in_and_a_card_it_drops_stops_at_once(
        live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 17 item 3: the registry lists the professional's card numbers; a new professional
    logs in with their card the moment the import ran, and a card the registry drops is
    refused on the next request, whatever its CRL says."""
    nora = {"registry_id": "LU-HP-400101", "given_name": "Nora", "family_name": "Kayser",
            "profession": "physician", "isco_code": "2211", "cards": ["LUC-0001234"]}
    out = _import(live, tmp_path, monkeypatch, [nora])
    assert "1 new" in out and "1 card(s) registered, 0 revoked, 1 card login(s) created" in out
    cert, key = _card(live, tmp_path, "LUC-0001234")
    assert _card_logs_in(live, cert, key) == (303, 200)
    # Another number of the same card CA is not hers; the login has no password.
    stranger = _card(live, tmp_path, "LUC-0009999")
    assert _card_logs_in(live, *stranger) == (401, 401)
    for login in ("lu-hp-400101", "lu-hp-499999"):  # hers and an unknown one: the same answer
        r = live.client().post("/portal/login",
                               data={"login": login, "password": "any password at all"})
        assert r.status_code == 401, (login, r.status_code)
    # The same line again changes nothing; a line without "cards" leaves them as they are.
    out = _import(live, tmp_path, monkeypatch, [nora])
    assert "0 card(s) registered, 0 revoked" in out
    out = _import(live, tmp_path, monkeypatch, [{k: v for k, v in nora.items() if k != "cards"}])
    assert "0 card(s) registered, 0 revoked" in out
    assert _card_logs_in(live, cert, key) == (303, 200)
    # A replacement card: the old number is dropped, the new one works at once.
    out = _import(live, tmp_path, monkeypatch, [{**nora, "cards": ["LUC-0005678"]}])
    assert "1 card(s) registered, 1 revoked" in out
    assert _card_logs_in(live, cert, key) == (401, 401)
    assert _card_logs_in(live, *_card(live, tmp_path, "LUC-0005678")) == (303, 200)


def test_card_numbers_are_checked(tmp_path: Path) -> None:
    from ncp.registry.insured import BadLine
    from ncp.registry.professionals import read_professionals

    path = tmp_path / "p.csv"
    path.write_text("registry_id,given_name,family_name,profession,isco_code,cards\n"
                    "LU-HP-1,A,B,physician,2211,LUC-1;LUC-2\n"
                    "LU-HP-2,A,B,physician,2211,\n"
                    "LU-HP-3,A,B,physician,2211,LUC 1\n", encoding="utf-8")
    first, second, third = read_professionals(path)
    assert first.cards == ("LUC-1", "LUC-2")  # type: ignore[union-attr]
    assert second.cards == ()  # type: ignore[union-attr]  # the column is there: no cards
    assert isinstance(third, BadLine) and "card serial number" in third.reason


def test_a_professional_practises_in_several_places(
        live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 17 item 3, "organisation(s)": the registry lists every place of practice; the main
    one (first) is named on what the professional writes, all of them in /api/v1/me; a change
    of places is a change, applied at once."""
    from tests.api.test_api import bearer

    ines = {"registry_id": "LU-HP-400201", "given_name": "Inès", "family_name": "Faber",
            "profession": "physician", "isco_code": "2212", "specialty": "cardiology",
            "organisations": [
                {"id": "LU-PRAC-0042", "name": "Cabinet Faber", "kind": "practice"},
                {"id": "LU-HOSP-0001", "name": "Centre Hospitalier de Luxembourg",
                 "kind": "hospital"}]}
    assert "1 new" in _import(live, tmp_path, monkeypatch, [ines])
    auth = Authenticator(session_factory(live.engine), live.records)
    auth.create_account(login="lu-hp-400201", password="a long enough password",
                        kind="professional", display_name="Inès Faber",
                        professional_id=live.records.professional_id("LU-HP-400201"))
    me = bearer(live, "lu-hp-400201").get("/api/v1/me").json()
    assert me["organisation"] == "Cabinet Faber"
    assert me["organisations"] == ["Cabinet Faber", "Centre Hospitalier de Luxembourg"]
    # She leaves her practice: the hospital becomes her main place.
    moved = {**ines, "organisations": ines["organisations"][1:]}
    out = _import(live, tmp_path, monkeypatch, [moved])
    assert "1 changed" in out
    assert _import(live, tmp_path, monkeypatch, [moved]).count("1 unchanged") == 1
    me = bearer(live, "lu-hp-400201").get("/api/v1/me").json()
    assert (me["organisation"], me["organisations"]) == (
        "Centre Hospitalier de Luxembourg", ["Centre Hospitalier de Luxembourg"])


def test_places_in_csv_are_aligned(tmp_path: Path) -> None:
    from ncp.registry.insured import BadLine
    from ncp.registry.professionals import read_professionals

    path = tmp_path / "p.csv"
    path.write_text("registry_id,given_name,family_name,profession,isco_code,organisation_id,"
                    "organisation_name,organisation_kind\n"
                    "LU-HP-1,A,B,physician,2211,O1;O2,Cabinet;Clinique,practice;hospital\n"
                    "LU-HP-2,A,B,physician,2211,O1;O2,Cabinet,practice\n", encoding="utf-8")
    good, bad = read_professionals(path)
    assert [p.identifier for p in good.organisations] == ["O1", "O2"]  # type: ignore[union-attr]
    assert good.organisation_kind == "practice"  # type: ignore[union-attr]  # the main place
    assert isinstance(bad, BadLine) and "same number of places" in bad.reason
