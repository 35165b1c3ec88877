"""The Patient Information Notice in Debian's Chromium through the real server: a patient
reads and acknowledges it before consenting; a new version asks again before the consent is
renewed (the consent stays in force meanwhile); a doctor prints it for a visitor in the
visitor's language."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ncp.consent import notice as notices
from ncp.store.policy import Actor
from tests.portal.live import Live
from tests.portal.test_browser import LEA, log_in, new_page, shot
from tests.portal.test_browser import browser as browser_fixture

browser = browser_fixture  # the module's Chromium (a fixture of test_browser)
XB_VISITOR = Path(notices.__file__).parents[1] / "crossborder" / "templates" / "xb" / \
    "visitor.html"


def _new_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A notice folder with a v2 beside v1 (as a release that changes the notice ships)."""
    folder = tmp_path / "notices"
    shutil.copytree(Path(notices.__file__).with_name("notices"), folder)
    shutil.copytree(folder / "v1", folder / "v2")
    for lang in notices.LANGUAGES:
        path = folder / "v2" / f"{lang}.txt"
        path.write_text(path.read_text("utf-8").replace("\n## ", "\n## (2) ", 1), "utf-8")
    monkeypatch.setattr(notices, "_folder", lambda: folder)
    notices.versions.cache_clear()
    notices.notice.cache_clear()


def test_consent_after_the_notice_and_again_after_a_new_version(  # type: ignore[no-untyped-def]
        browser, live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pid = live.records.patient_id(LEA)
    assert live.records.consents(pid) == frozenset()
    page = new_page(browser)
    log_in(page, live, LEA)
    page.goto(f"{live.url}/portal/me/sharing")
    page.click("[data-action='give-patient-summary']")
    page.wait_for_url("**/portal/me/sharing/notice?service=patient-summary")
    assert page.get_attribute("#notice", "data-version") == "v1"
    assert "Notice d'information du patient" in page.inner_text("#notice h1")
    page.click("#notice-consent")  # not ticked: the browser keeps the form
    assert "/notice" in page.url and live.records.consents(pid) == frozenset()
    shot(page, "notice-before-consent")
    page.check("#acknowledge")
    page.click("#notice-consent")
    page.wait_for_url("**/portal/me/sharing?done=saved")
    assert live.records.consent_notices(pid) == {"patient-summary": "v1"}
    assert page.get_attribute("li[data-service='patient-summary']", "data-notice") == "v1"
    # a new notice: the consent stays, the page asks for the new one before renewing it
    _new_version(tmp_path, monkeypatch)
    try:
        page.goto(f"{live.url}/portal/me/sharing")
        assert page.locator("[data-outdated='patient-summary']").is_visible()
        assert "patient-summary" in live.records.consents(pid)
        page.click("[data-action='renew-patient-summary']")
        assert page.get_attribute("#notice", "data-version") == "v2"
        page.check("#acknowledge")
        page.click("#notice-consent")
        page.wait_for_url("**/portal/me/sharing?done=saved")
        assert live.records.consent_notices(pid) == {"patient-summary": "v2"}
        assert page.locator("[data-outdated]").count() == 0
    finally:
        monkeypatch.undo()
        notices.versions.cache_clear()
        notices.notice.cache_clear()
    live.records.withdraw_consent(Actor.patient(pid), pid, "patient-summary")  # as it was


def test_a_form_without_the_acknowledgement_gives_no_consent(live: Live) -> None:
    from tests.portal.live import csrf

    client = live.login(LEA)
    pid = live.records.patient_id(LEA)
    page = client.get("/portal/me/sharing")
    r = client.post("/portal/me/sharing", data={"service": "eprescription", "consent": "1",
                                                "csrf": csrf(page.text)})
    assert r.status_code == 303 and r.headers["location"].endswith(
        "/me/sharing/notice?service=eprescription")
    r = client.post("/portal/me/sharing", data={"service": "eprescription", "consent": "1",
                                                "acknowledge": "1", "notice_version": "v0",
                                                "csrf": csrf(page.text)})
    assert r.status_code == 303 and "/notice" in r.headers["location"]
    assert "eprescription" not in live.records.consents(pid)


def test_the_doctor_prints_the_notice_for_a_visitor_in_their_language(  # type: ignore[no-untyped-def]
        browser, live: Live) -> None:
    assert "/notice?notice_lang=" in XB_VISITOR.read_text("utf-8")  # linked from the visitor
    page = new_page(browser)
    log_in(page, live, "lu-hp-100001")
    page.goto(f"{live.url}/portal/notice?notice_lang=de")
    assert page.inner_text("#notice h1").startswith("Patienteninformation")
    assert page.locator("header.top").is_visible()  # the doctor's portal stays in French
    assert page.locator("html[lang=fr]").count() == 1
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert not page.locator("#notice-languages").is_visible()
    assert page.locator("#notice").is_visible()
