"""The portal driven in Debian's headless Chromium (Playwright), on a phone-sized screen.

Few and focused: a patient's own flows, each effect proven from the other side (a doctor's
browser or the record service). Screenshots go to ``test-artifacts/`` (git-ignored). Without
Chromium the tests are skipped with the reason printed, unless ``CI=true``, where that fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ncp import demo
from ncp.store.policy import Actor
from tests.portal.live import Live

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "portal"
PHONE = {"width": 390, "height": 844}

JEAN, MARIA, TOM, LEA, NICOLAS, EMMA = (r.patient.matricule for r in demo.PATIENTS)


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


def new_page(browser, **kwargs):  # type: ignore[no-untyped-def]
    context = browser.new_context(ignore_https_errors=True, viewport=PHONE, locale="fr-LU",
                                  **kwargs)
    return context.new_page()


def log_in(page, live: Live, login: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live.url}/portal/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "dsp-demo-password")
    page.click("form[action$='/login'] button[type=submit]")
    page.wait_for_url("**/portal/login/totp")
    page.fill("input[name=code]", live.next_code(login))
    page.click("button[type=submit]")
    page.wait_for_load_state()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_patient_reads_and_masks_a_document_on_a_phone(browser, live: Live) -> None:  # type: ignore[no-untyped-def]
    page = new_page(browser)
    log_in(page, live, TOM)
    assert page.url.endswith("/portal/me")
    assert "Tom Wagner" in page.inner_text("#who")
    # No horizontal scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    page.select_option("select[name=type]", "prescription")
    page.click(".filters button")
    page.wait_for_url("**type=prescription**")
    types = page.eval_on_selector_all("#documents li", "els => els.map(e => e.dataset.type)")
    assert types and set(types) == {"prescription"}
    shot(page, "patient-documents")
    page.click("#documents li a")
    page.wait_for_selector("#rendered table")
    assert "Ordonnance" in page.inner_text("#doc-title")
    shot(page, "patient-cda")
    uid = page.url.rsplit("/", 1)[1]
    page.click("#mask-toggle")
    page.wait_for_selector("#done")
    assert "masqué" in page.inner_text("#mask-toggle").lower() or \
        "démasquer" in page.inner_text("#mask-toggle").lower()
    # The other side: the cardiologist no longer sees it, the author still does.
    cardio = live.login("lu-hp-100002")
    assert uid not in cardio.get(f"/portal/pro/patients/{TOM}").text
    assert uid in live.login("lu-hp-100001").get(f"/portal/pro/patients/{TOM}").text
    # German, from the language links.
    page.click("header a[hreflang=de]")
    assert "Dieses Dokument wieder zeigen" in page.inner_text("#mask-toggle")
    page.context.close()


def test_patient_blocks_a_doctor_and_sees_emergency_access_in_the_log(browser, live: Live) -> None:  # type: ignore[no-untyped-def]
    patient = new_page(browser)
    log_in(patient, live, MARIA)
    patient.click("a[href='/portal/me/access']")
    row = patient.locator("tr[data-registry='LU-HP-100002']")
    row.locator("button[data-action='block-on']").click()
    patient.click("#confirm-yes")  # the confirmation step (issue 15 item 17)
    patient.wait_for_selector("#done")
    assert row.locator(".rule-block").count() == 1
    shot(patient, "patient-access")
    # The doctor's own browser: refused, and break-the-glass refused too (blocked).
    doctor = new_page(browser)
    log_in(doctor, live, "lu-hp-100002")
    response = doctor.goto(f"{live.url}/portal/pro/patients/{MARIA}")
    assert response is not None and response.status == 403
    doctor.fill("textarea[name=reason]", "chest pain in the emergency room")
    doctor.click("#break-glass")
    assert doctor.locator("#error").count() == 1
    # A nurse with no relationship breaks the glass: allowed, and flagged for the patient.
    nurse = new_page(browser)
    log_in(nurse, live, "lu-hp-100004")
    nurse.goto(f"{live.url}/portal/pro/patients/{MARIA}")
    nurse.fill("textarea[name=reason]", "unconscious, no relative reachable")
    nurse.click("#break-glass")
    nurse.wait_for_selector("#documents")
    shot(nurse, "nurse-emergency-record")
    patient.click("a[href='/portal/me/log']")
    emergency = patient.locator("tr.emergency").first
    assert "Anne Schmit" in emergency.inner_text()
    assert patient.locator("tr.emergency .flag").count() >= 1
    assert "unconscious, no relative reachable" in patient.inner_text("#log")
    refused = patient.locator("tr.out-denied", has_text="Luc Hoffmann")
    assert refused.count() >= 1
    shot(patient, "patient-log")
    for page in (patient, doctor, nurse):
        page.context.close()


def test_patient_withdraws_consent_and_closes_the_dsp(browser, live: Live) -> None:  # type: ignore[no-untyped-def]
    page = new_page(browser)
    log_in(page, live, EMMA)
    pid = live.records.patient_id(EMMA)
    page.click("a[href='/portal/me/sharing']")
    page.click("button[data-action='withdraw-patient-summary']")
    page.wait_for_selector("#done")
    assert "patient-summary" not in live.records.consents(pid)
    page.click("#dsp-toggle")
    page.click("#confirm-yes")
    page.wait_for_selector("[data-state='closed']")
    shot(page, "patient-sharing-closed")
    gp = live.login("lu-hp-100001")
    assert gp.get(f"/portal/pro/patients/{EMMA}").status_code == 403
    page.click("#dsp-toggle")
    page.wait_for_selector("[data-state='open']")
    assert gp.get(f"/portal/pro/patients/{EMMA}").status_code == 200
    log = live.records.access_log(Actor.patient(pid), pid)
    assert [e.what for e in log if e.action == "policy"][:3] == [
        "DSP open", "DSP closed", "consent withdrawn: patient-summary"]
    page.context.close()
