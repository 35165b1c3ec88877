"""A person activates the DSP the register opened, in Debian's Chromium through the real
server: the login refused and pointing to the activation, a wrong code, the code of the letter,
the password and the authenticator, then the first login; the code does not work twice."""

from __future__ import annotations

import datetime as dt
import re

from ncp.auth import totp
from ncp.auth.activation import Activation
from ncp.auth.passwords import Passwords, make_hasher
from ncp.auth.service import Authenticator
from ncp.registry.insured import InsuredPerson
from ncp.store import matricule
from ncp.store.db import session_factory
from ncp.store.population import Population
from tests.portal.live import Live
from tests.portal.test_browser import browser as browser_fixture
from tests.portal.test_browser import new_page, shot

CLARA = matricule.make(dt.date(1966, 2, 14), 73)
DAVID = matricule.make(dt.date(1999, 8, 8), 41)
PASSWORD = "my own long password"
browser = browser_fixture  # the module's Chromium (a fixture of test_browser)


def _service(live: Live) -> Activation:
    return Activation(Authenticator(session_factory(live.engine), live.records,
                                    passwords=Passwords(make_hasher(cheap=True))))


def test_a_person_activates_their_dsp_with_the_letter_and_logs_in(  # type: ignore[no-untyped-def]
        browser, live: Live) -> None:
    Population(session_factory(live.engine)).apply([
        InsuredPerson(1, CLARA, "Clara", "Majerus", dt.date(1966, 2, 14), "F", "3 rue Neuve",
                      "L-9999", "Wiltz")])
    (letter,) = _service(live).issue([CLARA])
    page = new_page(browser)
    page.goto(f"{live.url}/portal/login")
    page.fill("input[name=login]", CLARA)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action$='/login'] button[type=submit]")
    assert page.locator("#error").is_visible()
    page.click("#activate-link")
    page.wait_for_url("**/portal/activate")
    page.fill("input[name=matricule]", CLARA)
    page.fill("input[name=code]", "ZZZZ-ZZZZ-ZZZZ-ZZZZ")
    page.click("#activate-form button[type=submit]")
    assert page.get_attribute("#error", "data-error") == "error.auth.activation-invalid"
    page.fill("input[name=matricule]", CLARA)
    page.fill("input[name=code]", letter.code.lower())
    page.click("#activate-form button[type=submit]")
    assert "Clara Majerus" in page.inner_text("#activate-hello")
    assert page.inner_text("#activate-login") == CLARA
    secret = page.get_attribute("#totp-secret", "data-secret")
    assert secret and (page.get_attribute("#totp-uri", "href") or "").startswith("otpauth://")
    shot(page, "activation-finish")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD + "!")
    page.fill("input[name=code]", totp.code_at(secret, dt.datetime.now(dt.UTC)))
    page.click("#activate-done")
    assert page.get_attribute("#error", "data-error") == "error.auth.password-mismatch"
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.fill("input[name=code]", totp.code_at(secret, dt.datetime.now(dt.UTC)))
    page.click("#activate-done")
    page.wait_for_url(re.compile(r".*/portal/login\?done=activated"))
    assert page.locator("#done").is_visible()
    # the first login, with the password and the app just enrolled
    page.fill("input[name=login]", CLARA)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action$='/login'] button[type=submit]")
    page.wait_for_url("**/portal/login/totp")
    page.fill("input[name=code]", live.next_code(CLARA))
    page.click("button[type=submit]")
    page.wait_for_url("**/portal/me")
    assert "Clara Majerus" in page.inner_text("#who")
    # the letter's code is used up
    other = new_page(browser)
    other.goto(f"{live.url}/portal/activate")
    other.fill("input[name=matricule]", CLARA)
    other.fill("input[name=code]", letter.code)
    other.click("#activate-form button[type=submit]")
    assert other.get_attribute("#error", "data-error") == "error.auth.activation-used"


def test_an_account_of_a_dsp_not_activated_is_refused_with_the_way_to_activate(
        browser, live: Live) -> None:  # type: ignore[no-untyped-def]
    Population(session_factory(live.engine)).apply([
        InsuredPerson(1, DAVID, "David", "Thill", dt.date(1999, 8, 8), "M")])
    service = _service(live)
    service.auth.create_account(login="david.thill", password=PASSWORD, kind="patient",
                                display_name="David Thill",
                                patient_id=live.records.patient_id(DAVID))
    page = new_page(browser)
    page.goto(f"{live.url}/portal/login?lang=de")
    page.fill("input[name=login]", "david.thill")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action$='/login'] button[type=submit]")
    assert "nicht aktiviert" in page.inner_text("#error")
    assert page.locator("#activate-link").is_visible()
    assert page.url.endswith("/portal/login")  # no session, no page of the record
    assert page.context.cookies() == [] or all(c["name"] != "ncp_session"
                                               for c in page.context.cookies())
