"""The pharmacist's counter as one screen, and the double-submit guard, in Debian's headless
Chromium (issue 15 items 15 and 18).

Item 15: a Belgian pharmacist with a Luxembourg prescription sees, on the screen with the form,
the dose and frequency, the prescriber's instructions, the prescriber, the date and the period,
the packages remaining, the dispensing history with its times and the discard window left;
dispensing and discarding each need a tick; once everything is dispensed there is no Dispense
form; partner warnings and refusals are shown one way (``.ehdsi``).

Item 18: a double click on "Dispense" and on "Cancel this dispensation" sends one request each
(the pages post plain forms and work without JavaScript; ``portal.js`` only adds the busy state
and the guard), and the busy state is shown while the partner answers.
Screenshots: ``test-artifacts/crossborder/14-*``, ``15-*``."""

from __future__ import annotations

from ncp import demo
from tests.crossborder.conftest import TwoCountries
from tests.crossborder.test_browser import _identify, _log_in, _shot, browser  # noqa: F401

DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
#: Remembers, across the page change a form post causes, each busy text a button showed.
BUSY_SPY = """
new MutationObserver(function (changes) {
  changes.forEach(function (c) {
    if (c.attributeName === 'aria-busy' && c.target.getAttribute('aria-busy') === 'true') {
      sessionStorage.setItem('busy', (sessionStorage.getItem('busy') || '') + '|' +
                             c.target.textContent.trim());
    }
  });
}).observe(document, {attributes: true, subtree: true, attributeFilter: ['aria-busy']});
"""


def _fits(page, width: int) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1


def test_the_counter_is_one_screen_and_each_act_is_sent_once(
        browser, two_countries: TwoCountries) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    be = two_countries.be
    context, page = _log_in(browser, be, "be-hp-200002")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    context.add_init_script(BUSY_SPY)
    try:
        emma = demo.PATIENTS[5].patient
        _identify(page, be, "LU", emma.matricule)
        page.check("#confirm-1")
        page.click("#confirm-go-1")
        page.wait_for_selector("#documents")
        page.click("#documents a.open-prescription")
        page.wait_for_selector("#quantities")
        facts = page.inner_text("#facts")
        for label in ("Auteur", "Date de prescription", "Principe actif", "Dosage",
                      "Unités par prise", "Fréquence", "Date de fin", "Posologie"):
            assert label in facts, (label, facts)
        page.set_viewport_size(DESKTOP)
        _shot(page, "14-pharmacist-counter-one-screen-desktop")
        _fits(page, DESKTOP["width"])
        page.set_viewport_size(PHONE)
        _shot(page, "14-pharmacist-counter-one-screen-phone")
        _fits(page, PHONE["width"])
        remaining = int(page.inner_text("#remaining"))
        assert remaining >= 1
        # Everything that remains, with a double click: one request, the busy state shown.
        page.fill("#packages", str(remaining))
        page.check("#dispense-confirm")
        before = len(posts)
        page.dblclick("#dispense-go")
        page.wait_for_selector("#outcome")
        page.wait_for_timeout(300)
        assert [u for u in posts[before:] if u.endswith("/dispense")] == [posts[-1]], posts
        assert "Envoi" in page.evaluate("sessionStorage.getItem('busy') || ''")
        page.go_back()
        page.reload()
        page.wait_for_selector("#quantities")
        # Fully dispensed: no form, said so; the history with its time and window left.
        assert page.inner_text("#remaining") == "0"
        assert page.locator("#dispense").count() == 0
        assert page.locator("#fully-dispensed").count() == 1
        entry = page.locator("#history li[data-status=sent]").last
        assert "heure de Luxembourg" in entry.inner_text()
        assert "annulable encore" in entry.locator(".window-left").inner_text()
        page.set_viewport_size(DESKTOP)
        _shot(page, "15-pharmacist-fully-dispensed-desktop")
        page.set_viewport_size(PHONE)
        _shot(page, "15-pharmacist-fully-dispensed-phone")
        _fits(page, PHONE["width"])
        # Discarding needs its tick; a double click sends one request.
        form = entry.locator("form")
        form.locator("input[name=confirm]").check()
        before = len(posts)
        form.locator("button").dblclick()
        page.wait_for_selector("#outcome")
        page.wait_for_timeout(300)
        assert len([u for u in posts[before:] if u.endswith("/discard")]) == 1, posts
        page.go_back()
        page.reload()
        page.wait_for_selector("#quantities")
        assert int(page.inner_text("#remaining")) == remaining
        assert page.locator("#dispense").count() == 1
    finally:
        context.close()


def test_partner_answers_are_shown_one_way(browser, two_countries: TwoCountries) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """A refusal (no consent) is an ``.ehdsi.error`` with the message, the eHDSI code and its
    text; the same partial shows warnings given with documents."""
    from ncp.crossborder.partner import BE_PATIENTS
    from ncp.store import matricule

    lu = two_countries.lu
    context, page = _log_in(browser, lu, "lu-hp-100006")
    try:
        _identify(page, lu, "BE", matricule.make(BE_PATIENTS[2][0], BE_PATIENTS[2][1]))
        box = page.locator(".ehdsi.error")
        assert box.count() == 1 and box.get_attribute("data-code") == "4701"
        assert "consentement" in box.locator(".ehdsi-message").inner_text()
        assert box.locator(".ehdsi-code").count() == 1
        assert page.evaluate("getComputedStyle(document.querySelector('.ehdsi.error'))"
                             ".backgroundColor") != "rgba(0, 0, 0, 0)"
    finally:
        context.close()
