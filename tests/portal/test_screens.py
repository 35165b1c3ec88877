"""The doctor's pages in Chromium on a desktop (1280) and a phone (390): the record and a
document view in the portal shell, with the identified-patient banner, no horizontal scrolling.
Screenshots go to test-artifacts/portal/ (issue 15 items 1, 10, 14)."""

from __future__ import annotations

from ncp import demo
from tests.portal.live import Live
from tests.portal.test_browser import ARTIFACTS, browser, log_in  # noqa: F401

EMMA = demo.PATIENTS[5].patient.matricule
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def test_doctor_pages_on_desktop_and_phone(browser, live: Live) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    context = browser.new_context(ignore_https_errors=True, viewport=SIZES["desktop"],
                                  locale="fr-LU")
    page = context.new_page()
    try:
        log_in(page, live, "lu-hp-100001")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.goto(f"{live.url}/portal/pro/patients/{EMMA}")
        assert "HANSEN Emma" in page.inner_text("#patient-banner")
        uid = page.get_attribute("#documents li", "data-uid")
        for size, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            page.goto(f"{live.url}/portal/pro/patients/{EMMA}")
            page.screenshot(path=str(ARTIFACTS / f"doctor-record-{size}.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1
            page.goto(f"{live.url}/portal/documents/{uid}")
            assert page.locator("meta[name=viewport]").count() == 1
            assert EMMA in page.inner_text("#patient-banner") and page.locator("#logout").count()
            page.screenshot(path=str(ARTIFACTS / f"doctor-document-{size}.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1
    finally:
        context.close()
