"""The cross-border viewer inside the portal's shell, in Debian's headless Chromium (issue 15
item 10): a Luxembourg doctor's Patient Summary of a Belgian visitor and a Belgian pharmacist's
ePrescription of a Luxembourg patient show the portal header (user, logout, languages), the
identified-patient banner and ``<meta name="viewport">``, and fit a phone's width (before, the
rendering was a page of its own, 980 px wide on a phone, with no way to log out).
Screenshots: ``test-artifacts/crossborder/2x-*-{desktop,phone}.png``."""

from __future__ import annotations

from ncp import demo
from ncp.crossborder.partner import BE_PATIENTS
from ncp.store import matricule
from tests.crossborder.conftest import TwoCountries
from tests.crossborder.test_browser import _identify, _log_in, _shot, browser  # noqa: F401

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _in_the_shell(page, name: str, patient: str) -> None:  # type: ignore[no-untyped-def]
    """The page is a portal page: viewport meta, the user and logout, the patient banner, and
    no horizontal scrolling at either size; screenshots of both."""
    assert page.locator("meta[name=viewport]").count() == 1
    assert page.locator("header.top #logout").count() == 1
    assert page.locator("#who").count() == 1
    assert patient in page.inner_text("#patient-banner")
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        _shot(page, f"{name}-{size}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"] + 1, f"{name} is {width} px wide on a {size}"


def test_the_doctor_reads_the_summary_in_the_portal_shell(
        browser, two_countries: TwoCountries) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    lu = two_countries.lu
    context, page = _log_in(browser, lu, "lu-hp-100006")
    try:
        _identify(page, lu, "BE", matricule.make(BE_PATIENTS[1][0], BE_PATIENTS[1][1]))
        # The birth date as a person writes it, not the HL7 or ISO form (item 14).
        assert page.inner_text("#match-1 .patient-birth") == "03.09.1982"
        page.check("#confirm-1")
        page.click("#confirm-go-1")
        page.wait_for_selector("#documents")
        page.click("#documents a.open-summary")
        page.wait_for_selector("article.rendered-doc")
        assert "Résumé patient" in page.inner_text("article.rendered-doc")
        _in_the_shell(page, "20-doctor-summary", "Noah Maes")
        # The language links keep the document (its query) and the shell.
        page.click("header a[hreflang=en]")
        page.wait_for_selector("article.rendered-doc")
        assert "Patient Summary" in page.inner_text("article.rendered-doc")
        assert page.locator("#logout").count() == 1
    finally:
        context.close()


def test_the_pharmacist_reads_the_prescription_in_the_portal_shell(
        browser, two_countries: TwoCountries) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    be = two_countries.be
    context, page = _log_in(browser, be, "be-hp-200002")
    try:
        emma = demo.PATIENTS[5].patient
        _identify(page, be, "LU", emma.matricule)
        page.check("#confirm-1")
        page.click("#confirm-go-1")
        page.wait_for_selector("#documents")
        page.click("#documents a.open-prescription")
        page.wait_for_selector("#quantities")
        page.click("#view-prescription")
        page.wait_for_selector("article.rendered-doc")
        _in_the_shell(page, "21-pharmacist-prescription", emma.family_name)
    finally:
        context.close()
