"""Therapeutic relationships and the referring doctor's worklist in Debian's Chromium through
the real server: a professional declares a visit and an admission from their pages and ends
them; the patient sees each with its source and end, and ends one; the referring doctor's home
page lists the summaries due, with their dates."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from ncp import demo
from ncp.registry.insured import InsuredPerson
from ncp.registry.referring import Declaration
from ncp.store import matricule
from ncp.store.db import session_factory
from ncp.store.models import Document
from ncp.store.population import Population
from ncp.store.referring import ReferringDeclarations
from ncp.store.worklist import add_months
from tests.portal.live import Live
from tests.portal.test_browser import LEA, TOM, log_in, new_page, shot
from tests.portal.test_browser import browser as browser_fixture

browser = browser_fixture  # the module's Chromium (a fixture of test_browser)
RADIOLOGIST, NURSE, GP = "lu-hp-100006", "lu-hp-100004", "lu-hp-100001"
OLGA = matricule.make(dt.date(1958, 10, 1), 19)


def test_a_visit_declared_by_the_doctor_and_ended_by_the_patient(  # type: ignore[no-untyped-def]
        browser, live: Live) -> None:
    doctor = new_page(browser)
    log_in(doctor, live, RADIOLOGIST)
    doctor.goto(f"{live.url}/portal/pro/patients/{LEA}")
    assert doctor.locator("#break-glass").is_visible()  # no relationship yet: refused
    doctor.select_option("#declare-kind", "visit")
    doctor.click("#declare")
    doctor.wait_for_url(f"**/portal/pro/patients/{LEA}?done=declared")
    visit = doctor.locator("#relationships li[data-source=visit]")
    assert visit.count() == 1 and "2" in visit.inner_text()  # its end date is shown
    patient = new_page(browser)
    log_in(patient, live, LEA)
    patient.goto(f"{live.url}/portal/me/access")
    row = patient.locator("#professionals tr[data-registry='LU-HP-100006']")
    assert row.locator("td[data-source=visit]").is_visible()
    until = row.locator(".rel-period").get_attribute("data-until") or ""
    assert dt.date.fromisoformat(until[:10]) > dt.date.today() + dt.timedelta(days=80)
    shot(patient, "relationships-patient")
    row.locator("button[data-action^=end-]").click()
    patient.wait_for_url("**/portal/me/access?done=ended")
    assert patient.locator("#professionals tr[data-registry='LU-HP-100006']").count() == 0
    doctor.goto(f"{live.url}/portal/pro/patients/{LEA}")
    assert doctor.locator("#break-glass").is_visible()  # ended: the record is closed to them


def test_an_admission_is_declared_and_the_discharge_keeps_30_days(  # type: ignore[no-untyped-def]
        browser, live: Live) -> None:
    nurse = new_page(browser)
    log_in(nurse, live, NURSE)
    nurse.goto(f"{live.url}/portal/pro/patients/{TOM}")
    nurse.select_option("#declare-kind", "admission")
    nurse.click("#declare")
    nurse.wait_for_url(f"**/portal/pro/patients/{TOM}?done=declared")
    admission = nurse.locator("#relationships li[data-source=admission]")
    assert admission.count() == 1
    admission.locator("button[data-action=end-admission]").click()
    nurse.wait_for_url("**/portal/pro?done=ended")
    nurse.goto(f"{live.url}/portal/pro/patients/{TOM}")  # 30 days more after the discharge
    assert nurse.locator("#relationships li[data-source=admission]").count() == 1
    patient = new_page(browser)
    log_in(patient, live, TOM)
    patient.goto(f"{live.url}/portal/me/access")
    period = patient.locator("#professionals tr[data-registry='LU-HP-100004'] .rel-period")
    until = dt.date.fromisoformat((period.get_attribute("data-until") or "")[:10])
    assert dt.date.today() + dt.timedelta(days=29) <= until <= \
        dt.date.today() + dt.timedelta(days=31)


def test_the_referring_doctors_home_page_lists_the_summaries_due(  # type: ignore[no-untyped-def]
        browser, live: Live) -> None:
    sessions = session_factory(live.engine)
    Population(sessions).apply([InsuredPerson(1, OLGA, "Olga", "Zeimet",
                                              dt.date(1958, 10, 1), "F")])
    declared = dt.date.today() - dt.timedelta(days=80)  # first summary due within 30 days
    feed = ReferringDeclarations(sessions)
    feed.apply([Declaration(1, OLGA, "LU-HP-100001", declared)])
    feed.refresh()
    # Jean's summary, written 13 months ago: its yearly update is overdue
    live_matricule = demo.PATIENTS[0].patient.matricule
    jean = live.records.patient_id(live_matricule)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    with sessions.begin() as s:
        s.execute(update(Document).where(Document.patient_id == jean,
                                         Document.doc_type == "patient-summary")
                  .values(created_at=old))
    page = new_page(browser)
    log_in(page, live, GP)
    page.goto(f"{live.url}/portal/pro")
    first = page.locator(f"#worklist li[data-matricule='{OLGA}']")
    assert first.get_attribute("data-task") == "first-summary"
    assert first.get_attribute("data-due") == add_months(declared, 3).isoformat()
    update_item = page.locator(f"#worklist li[data-matricule='{live_matricule}']")
    assert update_item.get_attribute("data-task") == "summary-update"
    assert "overdue" in (update_item.get_attribute("class") or "")
    shot(page, "worklist")
    update_item.locator("a").click()
    page.wait_for_url(f"**/portal/pro/patients/{live_matricule}")
