"""The two-country round trip in Debian's headless Chromium (Playwright): few and focused.

A Luxembourg doctor identifies a Belgian visitor, confirms the treatment relationship, reads
the Patient Summary in German with the original terms beside, and is refused, with the reason,
for a patient without consent; a Belgian pharmacist dispenses part of a Luxembourg
prescription. Screenshots go to ``test-artifacts/crossborder/`` (git-ignored). Without Chromium
the test is skipped with the reason printed, unless ``CI=true``, where that fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ncp import demo
from ncp.auth.demo import DEMO_PASSWORD
from ncp.crossborder.partner import BE_PATIENTS
from ncp.store import matricule
from tests.crossborder.conftest import Country, TwoCountries

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "crossborder"


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)")
    print(f"skipping the browser tests: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        _missing("Debian's chromium is not installed (scripts/system-deps.sh)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield instance
        instance.close()


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _log_in(browser, country: Country, login: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(ignore_https_errors=True, locale="fr-LU")
    page = context.new_page()
    page.goto(f"{country.url}/portal/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form[action$='/login'] button[type=submit]")
    page.wait_for_url("**/portal/login/totp")
    page.fill("input[name=code]", country.next_code(login))
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return context, page


def _identify(page, country: Country, cc: str, number: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{country.url}/portal/xb")
    page.click(f"#country-{cc}")
    page.fill("form#search input[name=id]", number)
    page.click("#discover")
    page.wait_for_load_state()


def test_doctor_and_pharmacist_across_two_countries(browser,  # type: ignore[no-untyped-def]
                                                    two_countries: TwoCountries) -> None:
    lu, be = two_countries.lu, two_countries.be
    context, page = _log_in(browser, lu, "lu-hp-100006")
    try:
        # a Luxembourg doctor reads a Belgian visitor's summary, in German
        _identify(page, lu, "BE", matricule.make(BE_PATIENTS[1][0], BE_PATIENTS[1][1]))
        assert "Noah Maes" in page.inner_text("#match-1 .patient-name")
        _shot(page, "01-doctor-identified")
        page.check("#match-1 input[value=EMERGENCY]")
        page.check("#confirm-1")
        page.click("#confirm-go-1")
        page.wait_for_selector("#documents")
        assert "Urgence" in page.inner_text("main")
        page.click("#documents a.open-summary")
        page.wait_for_load_state()
        page.click("header a[hreflang=de]")
        page.wait_for_load_state()
        body = page.inner_text("body")
        assert "Patientenkurzakte" in body and "Noah Maes" in body
        assert "Original" in body  # the original terms are shown beside the translation
        _shot(page, "02-doctor-summary-de")
        page.click("header a[hreflang=fr]")  # the choice sticks (item 11): back to French
        page.wait_for_load_state()
        # a patient without consent: refused, and the doctor is told why
        _identify(page, lu, "BE", matricule.make(BE_PATIENTS[2][0], BE_PATIENTS[2][1]))
        refusal = page.inner_text("#refusal")
        assert "consentement" in refusal and "4701" in refusal
        _shot(page, "03-doctor-no-consent")
    finally:
        context.close()

    context, page = _log_in(browser, be, "be-hp-200002")
    try:
        maria = demo.PATIENTS[1].patient
        _identify(page, be, "LU", maria.matricule)
        assert maria.family_name in page.inner_text("#match-1")
        page.check("#confirm-1")
        page.click("#confirm-go-1")
        page.wait_for_selector("#documents")
        page.click("#documents a.open-prescription")
        page.wait_for_selector("#dispense")
        prescribed = int(page.inner_text("#prescribed"))
        page.fill("#packages", "1")
        if page.locator("#substitute").count():
            page.check("#substitute")
        page.check("#dispense-confirm")
        _shot(page, "04-pharmacist-prescription")
        page.click("#dispense-go")
        page.wait_for_selector("#outcome")
        assert "Luxembourg a enregistré la délivrance" in page.inner_text("#outcome")
        assert page.inner_text("#dispensed-packages") == "1"
        _shot(page, "05-pharmacist-dispensed")
        page.click("#back-visitor")
        page.wait_for_load_state()
        status = page.get_attribute("#dispensations li", "data-status")
        assert status == "sent"
        # Luxembourg holds the dispensation: whole or partial as sent
        from sqlalchemy import text

        with lu.engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT p.packages_prescribed, p.packages_dispensed, p.status FROM "
                "prescriptions p JOIN patients pa ON pa.id = p.patient_id "
                "WHERE pa.matricule = :m AND p.packages_dispensed > 0"),
                {"m": maria.matricule}).all()
        assert len(rows) == 1 and rows[0][1] == 1 and rows[0][0] == prescribed
        assert rows[0][2] == ("dispensed" if prescribed == 1 else "partially-dispensed")
    finally:
        context.close()
