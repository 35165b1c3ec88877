"""The demo partner is Belgium, not a copy of Luxembourg (issue 15 item 19): its own name and
labels on its portal, its own custodian and language in its documents, every demo login printed
by ``ncp demo`` (the partner's included), and a documented way to reset the demo data.

Against the two real gateway processes of the demo (tests/crossborder/conftest.py).
"""

from __future__ import annotations

import json
import re
import string
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from lxml import etree
from sqlalchemy import select

from ncp.auth.demo import login_lines
from ncp.crossborder.partner import BE_PATIENTS, BE_PROFESSIONALS, demo_lines
from ncp.demo import reset_demo
from ncp.settings import Settings
from ncp.store import matricule
from ncp.store.accounts import Account
from tests.crossborder.conftest import TwoCountries
from tests.portal.test_translated_pages import visible_text

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = ROOT / "ncp" / "portal" / "messages"
HL7 = "{urn:hl7-org:v3}"
EMMA = matricule.make(BE_PATIENTS[0][0], BE_PATIENTS[0][1])
BE_DOCTOR = "be-hp-200001"


def test_every_demo_login_is_printed(two_countries: TwoCountries) -> None:
    """What ``ncp demo`` prints (login_lines for Luxembourg, demo_lines for the partner) names
    every account of both seeded databases."""
    printed = "\n".join(login_lines() + demo_lines(two_countries.lu.url, two_countries.be.url))
    for country in (two_countries.lu, two_countries.be):
        with country.engine.connect() as conn:
            logins = list(conn.execute(select(Account.login)).scalars())
        assert logins, country.code
        missing = [x for x in logins
                   if not re.search(rf"(?<![\w.-]){re.escape(x)}(?![\w.-])", printed)]
        assert not missing, (country.code, missing)
    assert BE_DOCTOR in printed and len(BE_PROFESSIONALS) == 2


def test_the_partner_s_portal_has_its_own_name_and_labels(two_countries: TwoCountries) -> None:
    with closing(two_countries.be.login(BE_DOCTOR)) as doctor:  # the printed Belgian doctor logs in
        _partner_pages(doctor)
    # Luxembourg keeps its own words.
    with closing(two_countries.lu.login("lu-hp-100001")) as gp:
        lu = visible_text(gp.get("/portal/pro?lang=fr").text)
    assert "Matricule" in lu and "belge" not in lu


def _partner_pages(doctor: httpx.Client) -> None:
    for lang, name, label in (("fr", "Dossier santé belge", "Numéro national"),
                              ("de", "Belgische Gesundheitsakte", "Nationale Kennnummer"),
                              ("en", "Belgian health record", "National ID")):
        home = doctor.get(f"/portal/pro?lang={lang}")
        assert home.status_code == 200
        text = visible_text(home.text)
        assert name in text and label in text, (lang, text[:400])
        record = doctor.get(f"/portal/pro/patients/{EMMA}?lang={lang}")
        assert record.status_code == 200
        text += visible_text(record.text)
        assert label.lower() in text.lower()
        for luxembourg in ("matricule", "Matrikel", "DSP", "Agence eSanté", "soins partagé"):
            assert luxembourg not in text, (lang, luxembourg)


def test_the_partner_s_documents_have_its_custodian_and_language(
        two_countries: TwoCountries) -> None:
    with closing(two_countries.be.login(BE_DOCTOR)) as doctor:
        record = doctor.get(f"/portal/pro/patients/{EMMA}?type=patient-summary").text
        uid = record.split('data-uid="', 1)[1].split('"', 1)[0]
        cda = etree.fromstring(doctor.get(f"/portal/documents/{uid}/content").content)
    custodian = "".join(cda.find(f".//{HL7}custodian").itertext())
    assert "belge" in custodian and "eSanté" not in custodian
    assert cda.find(f"{HL7}languageCode").get("code") == "fr-BE"
    author_address = cda.find(f".//{HL7}author//{HL7}addr")
    assert author_address.findtext(f"{HL7}country") == "BE"
    # Luxembourg's own documents are unchanged: the agency keeps them, in fr-LU.
    with closing(two_countries.lu.login("lu-hp-100001")) as gp:
        jean = "1956031212359"
        listing = gp.get(f"/portal/pro/patients/{jean}?type=patient-summary").text
        lu_uid = listing.split('data-uid="', 1)[1].split('"', 1)[0]
        lu_cda = etree.fromstring(gp.get(f"/portal/documents/{lu_uid}/content").content)
    assert "Agence eSanté" in "".join(lu_cda.find(f".//{HL7}custodian").itertext())
    assert lu_cda.find(f"{HL7}languageCode").get("code") == "fr-LU"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_partner_s_words_override_existing_keys_in_three_languages() -> None:
    overlays = {lang: json.loads((MESSAGES / "be" / f"{lang}.json").read_text("utf-8"))
                for lang in ("en", "fr", "de")}
    assert set(overlays["en"]) == set(overlays["fr"]) == set(overlays["de"])
    for lang, words in overlays.items():
        base = json.loads((MESSAGES / f"{lang}.json").read_text("utf-8"))
        for key, text in words.items():
            assert key in base, key  # an override, never a key of its own
            assert _fields(text) == _fields(base[key]), (lang, key)
            assert "matricule" not in text.lower() or "{matricule}" in text, (lang, key)


def test_reset_removes_the_demo_data_and_keeps_the_pki(tmp_path: Path) -> None:
    var = tmp_path / "var"
    for path in ("ncp.sqlite", "ncp.sqlite-wal", "partner-be/ncp.sqlite", "pki/lu/ca.pem",
                 "keys/master-keys.json"):
        (var / path).parent.mkdir(parents=True, exist_ok=True)
        (var / path).write_text("x")
    removed = reset_demo(Settings(var_dir=var))
    assert {p.name for p in removed} == {"ncp.sqlite", "ncp.sqlite-wal", "partner-be"}
    assert not (var / "ncp.sqlite").exists() and not (var / "partner-be").exists()
    assert (var / "pki" / "lu" / "ca.pem").exists() and (var / "keys" / "master-keys.json").exists()
    with pytest.raises(RuntimeError):
        reset_demo(Settings(var_dir=var, database_url="postgresql+psycopg://x@localhost/ncp"))
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "ncp demo --reset" in readme and "Resetting the demo data" in readme
