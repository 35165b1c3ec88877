"""The professional's page that opens a DSP at a visit (person without a matricule), through
the real server: the form, the record it leads to, the find box, and what is refused."""

from __future__ import annotations

from sqlalchemy import func, select

from ncp.store import provisional
from ncp.store.models import Patient
from tests.portal.live import Live, csrf

GP, PHARMACIST = "lu-hp-100001", "lu-hp-100003"


def _patients(live: Live) -> int:
    with live.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Patient)).scalar() or 0)


def test_a_doctor_opens_a_dsp_at_a_visit_and_finds_it_again(live: Live) -> None:
    doctor = live.login(GP)
    assert 'href="/portal/pro/visit"' in doctor.get("/portal/pro").text
    form = doctor.get("/portal/pro/visit")
    assert form.status_code == 200 and 'id="visit-form"' in form.text
    r = doctor.post("/portal/pro/visit", data={
        "csrf": csrf(form.text), "given_name": "Ana", "family_name": "Silva",
        "birth_date": "1993-06-01", "gender": "F", "city": "Esch-sur-Alzette",
        "country": "pt"})
    assert r.status_code == 303, r.text
    where = r.headers["location"]
    number = where.split("/pro/patients/")[1].split("?")[0]
    assert provisional.is_provisional(number) and "done=registered" in where
    record = doctor.get(where)
    assert record.status_code == 200 and "Silva" in record.text and number in record.text
    found = doctor.get("/portal/pro/find", params={"matricule": number.lower()})
    assert found.status_code == 303 and found.headers["location"].endswith(number)
    assert number in doctor.get("/portal/pro").text  # the visit relationship lists it


def test_refused_and_bad_registrations_change_nothing(live: Live) -> None:
    before = _patients(live)
    pharmacist = live.login(PHARMACIST)
    form = pharmacist.get("/portal/pro/visit")
    r = pharmacist.post("/portal/pro/visit", data={
        "csrf": csrf(form.text), "given_name": "Ana", "family_name": "Silva",
        "birth_date": "1993-06-01", "gender": "F"})
    assert r.status_code == 403
    doctor = live.login(GP)
    token = csrf(doctor.get("/portal/pro/visit").text)
    for bad in ({"given_name": "", "family_name": "Silva", "birth_date": "1993-06-01"},
                {"given_name": "Ana", "family_name": "Silva", "birth_date": "yesterday"},
                {"given_name": "Ana", "family_name": "Silva", "birth_date": "2999-01-01"}):
        r = doctor.post("/portal/pro/visit", data={"csrf": token, "gender": "F", **bad})
        assert r.status_code == 400, (bad, r.status_code)
    r = doctor.post("/portal/pro/visit", data={"csrf": "guessed", "given_name": "Ana",
                                               "family_name": "Silva",
                                               "birth_date": "1993-06-01", "gender": "F"})
    assert r.status_code == 403
    assert _patients(live) == before
