"""The patient's and the LU professional's views in Debian's headless Chromium (issue 15 items
3, 14, 16, 17): what became of each eDispensation, the access log as a person reads it,
confirmation steps that work without JavaScript, and a layout that holds on a phone.

Screenshots (desktop 1280, phone 390) go to ``test-artifacts/portal/``."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from ncp import demo
from ncp.store.dispensing import Dispensing, PrescriptionItem
from ncp.store.errors import AccessDenied
from ncp.store.policy import Actor
from ncp.store.vocabulary import AccessRuleKind
from tests.portal.live import Live
from tests.portal.test_browser import ARTIFACTS, browser, log_in  # noqa: F401

JEAN, MARIA, TOM, LEA, NICOLAS, EMMA = (r.patient.matricule for r in demo.PATIENTS)
GP, CARDIO, NURSE = "lu-hp-100001", "lu-hp-100002", "lu-hp-100004"
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
EP = b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>eP</title></ClinicalDocument>"
ED = b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>eD</title></ClinicalDocument>"
OWN_READS = "#log tr.actor-patient.act-read, #log tr.actor-patient.act-search"
PHARMACY = Actor.foreign(name="Ph. An Peeters", organisation="Apotheek Centrum", country="BE",
                         profession="pharmacist")


def _page(browser, viewport=PHONE, **options):  # type: ignore[no-untyped-def]  # noqa: F811
    context = browser.new_context(ignore_https_errors=True, viewport=viewport, locale="fr-LU",
                                  **options)
    return context.new_page()


def _shots(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Desktop and phone screenshots; neither may scroll sideways."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{size}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"] + 1, f"{name}: {width} px on a {size}"


def test_each_edispensation_shows_its_status_and_what_remains(browser, live: Live) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Item 3: three eDs against a 3-package prescription, one cancelled: the patient's and the
    doctor's lists say which is valid, which was cancelled (when, by whom), and what remains."""
    records = live.records
    pid = records.patient_id(EMMA)
    gp = records.professional_actor(records.professional_id("LU-HP-100001"))
    dispensing = Dispensing(records)
    dispensing.prescribe(gp, pid, PrescriptionItem(
        prescription_id="RX-VIEW-1", product_name="Amoxicilline 500 mg", packages=3),
        title="Ordonnance : Amoxicilline 500 mg", content=EP)
    for n in (1, 2):
        dispensing.dispense(PHARMACY, prescription_id="RX-VIEW-1",
                            dispensation_unique_id=f"ED-VIEW-{n}", packages=1, content=ED,
                            pharmacist="Ph. An Peeters", organisation="Apotheek Centrum",
                            country="BE", title=f"Délivrance {n} : Amoxicilline")
    dispensing.discard(PHARMACY, dispensation_unique_id="ED-VIEW-2",
                       discard_unique_id="ED-VIEW-2-X", prescription_id="RX-VIEW-1",
                       patient_id=pid, organisation="Apotheek Centrum", country="BE")
    patient = _page(browser)
    try:
        log_in(patient, live, EMMA)
        patient.goto(f"{live.url}/portal/me?type=dispensation")
        valid = patient.locator("#documents li", has_text="Délivrance 1")
        cancelled = patient.locator("#documents li", has_text="Délivrance 2")
        assert valid.locator(".dispensing").get_attribute("data-status") == "valid"
        assert "Délivrance valide" in valid.inner_text()
        text = cancelled.inner_text()
        assert cancelled.locator(".dispensing").get_attribute("data-status") == "discarded"
        assert "Délivrance annulée" in text and "annulée le" in text
        assert "heure de Luxembourg" in text and "Ph. An Peeters" in text
        assert "3 prescrite(s), 1 délivrée(s), 2 restante(s)" in text
        _shots(patient, "patient-dispensations")
        patient.goto(f"{live.url}/portal/me?type=prescription")
        rx = patient.locator("#documents li", has_text="Amoxicilline 500 mg")
        assert "Partiellement délivrée" in rx.inner_text() and "2 restante(s)" in rx.inner_text()
    finally:
        patient.context.close()
    doctor = _page(browser)
    try:
        log_in(doctor, live, GP)
        doctor.goto(f"{live.url}/portal/pro/patients/{EMMA}?type=dispensation")
        statuses = doctor.eval_on_selector_all(
            "#documents li .dispensing", "els => els.map(e => e.dataset.status)")
        assert sorted(statuses) == ["discarded", "valid"]
        _shots(doctor, "doctor-dispensations")
        doctor.locator("#documents li", has_text="Délivrance 2").locator("a").click()
        doctor.wait_for_selector("#patient-banner")
        assert doctor.get_attribute(".dispensing", "data-status") == "discarded"
    finally:
        doctor.context.close()


def test_the_access_log_is_filtered_paged_and_says_who(browser, live: Live) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Item 16: the patient's own reads folded by default, each professional with profession
    and organisation, a refused break-the-glass with its reason, filters and pages."""
    records = live.records
    pid = records.patient_id(LEA)
    me = Actor.patient(pid)
    gp = records.professional_actor(records.professional_id("LU-HP-100001"))
    for _ in range(55):  # more than one page
        records.list_documents(gp, pid)
    for _ in range(3):
        records.list_documents(me, pid)  # the patient's own reads
    cardio_id = records.professional_id("LU-HP-100002")
    records.set_rule(me, pid, cardio_id, AccessRuleKind.BLOCK.value, active=True)
    cardio = records.professional_actor(cardio_id)
    with pytest.raises(AccessDenied):  # blocked by the patient
        records.declare_emergency(cardio, pid, "douleur thoracique aux urgences")
    page = _page(browser, viewport=DESKTOP)
    try:
        log_in(page, live, LEA)
        page.goto(f"{live.url}/portal/me/log")
        assert page.locator("#own-folded").count() == 1
        assert page.locator(OWN_READS).count() == 0
        assert "heure de Luxembourg" in page.inner_text("#log thead")
        refused = page.locator("#log tr.emergency.out-denied").first
        text = refused.inner_text()
        assert "Luc Hoffmann" in text and "vous avez bloqué ce professionnel" in text
        assert "douleur thoracique aux urgences" in text
        row = page.locator("#log tr", has_text="Marie Muller").first.inner_text()
        # the profession and the organisation
        assert "médecin" in row and "Cabinet médical Limpertsberg" in row
        _shots(page, "patient-log")
        page.set_viewport_size(DESKTOP)
        assert page.locator("#next-page").count() == 1
        page.click("#next-page")
        page.wait_for_url("**page=2**")
        assert "page 2 sur" in page.inner_text("#log-count")
        # Filter: only refused accesses.
        page.select_option("select[name=outcome]", "denied")
        page.click("#log-filter")
        page.wait_for_url("**outcome=denied**")
        outcomes = page.eval_on_selector_all("#log tbody tr", "els => els.map(e => e.className)")
        assert outcomes and all("out-denied" in c for c in outcomes)
        # Unfolded: the patient's own reads appear.
        page.goto(f"{live.url}/portal/me/log?own=1")
        assert page.locator(OWN_READS).count() >= 3
        assert page.locator("#own-folded").count() == 0
    finally:
        page.context.close()


def test_irreversible_acts_are_confirmed_without_javascript(browser, live: Live) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Item 17: closing the DSP, blocking a professional and removing a note each ask first,
    in a browser with JavaScript off; "no" changes nothing."""
    page = _page(browser, java_script_enabled=False)
    pid = live.records.patient_id(NICOLAS)
    try:
        log_in(page, live, NICOLAS)
        # Nicolas's DSP is closed in the demo: open it (no question), then close it.
        page.goto(f"{live.url}/portal/me/sharing")
        if page.get_attribute("#dsp-state", "data-state") == "closed":
            page.click("#dsp-toggle")
            page.wait_for_selector("[data-state='open']")
        page.click("#dsp-toggle")
        page.wait_for_selector("#confirm-step")
        assert "Fermer votre DSP" in page.inner_text("#confirm-question")
        _shots(page, "patient-confirm-close")
        page.click("#confirm-no")
        page.wait_for_selector("[data-state='open']")
        assert live.records.get_patient(Actor.patient(pid), pid).dsp_state == "open"
        page.click("#dsp-toggle")
        page.click("#confirm-yes")
        page.wait_for_selector("[data-state='closed']")
        page.click("#dsp-toggle")  # reopening needs no question
        page.wait_for_selector("[data-state='open']")
        # Block: asked, with the professional's name.
        page.goto(f"{live.url}/portal/me/access")
        row = page.locator("tr[data-registry='LU-HP-100002']")
        row.locator("button[data-action='block-on']").click()
        assert "Luc Hoffmann" in page.inner_text("#confirm-question")
        page.click("#confirm-no")
        assert page.locator("tr[data-registry='LU-HP-100002'] .rule-block").count() == 0
        # Remove a note: asked, with its title; then gone.
        page.goto(f"{live.url}/portal/me/space")
        page.fill("input[name=title]", "Note à supprimer")
        page.fill("textarea[name=text]", "texte")
        page.click("#add-note")
        page.wait_for_selector("#notes")
        page.locator("#notes li", has_text="Note à supprimer").locator(
            "button[data-action=remove-note]").click()
        assert "Note à supprimer" in page.inner_text("#confirm-question")
        page.click("#confirm-yes")
        page.wait_for_selector("#done")
        assert page.locator("#notes li", has_text="Note à supprimer").count() == 0
    finally:
        page.context.close()


def test_layout_labels_local_times_and_long_titles(browser, live: Live) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Item 14: a checkbox sits beside its label, times are Luxembourg time and say so, and a
    long unbroken title wraps instead of widening the page."""
    page = _page(browser)
    try:
        log_in(page, live, TOM)
        page.goto(f"{live.url}/portal/me/log")
        box = page.locator("#own").bounding_box()
        label = page.locator("label.row", has=page.locator("#own")).bounding_box()
        assert box and label and label["height"] < 2.5 * box["height"]  # one line, side by side
        # The newest row shown, in Luxembourg time (the stored time is UTC).
        from ncp.store.access_log_view import LogFilter, access_log_page

        pid = live.records.patient_id(TOM)
        newest = access_log_page(live.records, Actor.patient(pid), pid, LogFilter()).rows[0]
        shown = page.inner_text("#log tbody tr:first-child td:first-child")
        assert shown == newest.at.astimezone(ZoneInfo("Europe/Luxembourg")).strftime(
            "%d.%m.%Y %H:%M")
        long_title = "Compte-rendu" + "X" * 280
        page.goto(f"{live.url}/portal/me/space")
        page.fill("input[name=title]", long_title)
        page.fill("textarea[name=text]", "texte")
        page.click("#add-note")
        page.wait_for_selector("#notes")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        page.locator("#notes li a").first.click()
        page.wait_for_selector("#note-text")
        assert "heure de Luxembourg" in page.inner_text("p.meta") and \
            "UTC" not in page.inner_text("p.meta")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    finally:
        page.context.close()
