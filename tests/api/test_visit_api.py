"""``POST /api/v1/patients``: professional software opens a DSP at a visit for a person without
a matricule, over real HTTPS; the provisional identifier works in the API until the merge, then
answers as unknown (403, as any record the caller may not see)."""

from __future__ import annotations

import base64
import datetime as dt

from sqlalchemy import func, select

from ncp.ihe.oids import LU_PROVISIONAL_ID
from ncp.store import matricule, provisional
from ncp.store.merge import merge_records
from ncp.store.models import Patient
from tests.api.test_api import PDF, bearer, is_problem
from tests.portal.live import Live

ANA = {"given_name": "Ana", "family_name": "Silva", "birth_date": "1993-06-01", "gender": "F",
       "city": "Esch-sur-Alzette", "country": "PT", "preferred_language": "pt"}


def test_a_doctor_registers_a_person_uploads_and_the_merge_retires_the_identifier(
        live: Live) -> None:
    gp = bearer(live, "lu-hp-100001")
    r = gp.post("/api/v1/patients", json=ANA)
    assert r.status_code == 201, r.text
    body = r.json()
    pid = body["provisional_id"]
    assert provisional.is_provisional(pid) and body["root"] == LU_PROVISIONAL_ID.value
    assert body["patient"]["matricule"] == pid and body["patient"]["dsp_state"] == "open"
    assert body["relationship"]["kind"] == "visit"
    assert gp.get(f"/api/v1/patients/{pid}").json()["family_name"] == "Silva"
    up = gp.post(f"/api/v1/patients/{pid}/documents", json={
        "doc_type": "visit-report", "title": "Consultation",
        "content_base64": base64.b64encode(PDF).decode()})
    assert up.status_code == 201, up.text
    assert [d["title"] for d in gp.get(f"/api/v1/patients/{pid}/documents").json()] == \
        ["Consultation"]
    # The cardiologist has no relationship with the new record.
    is_problem(bearer(live, "lu-hp-100002").get(f"/api/v1/patients/{pid}/documents"), 403)
    # The operator gives the person's new matricule: the provisional id is unknown from then on.
    number = matricule.make(dt.date(1993, 6, 1), 404)
    assert merge_records(live.records, pid, number, operator="ops").kind == "re-identified"
    is_problem(gp.get(f"/api/v1/patients/{pid}"), 403)
    assert [d["title"] for d in gp.get(f"/api/v1/patients/{number}/documents").json()] == \
        ["Consultation"]


def _patients(live: Live) -> int:
    with live.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Patient)).scalar() or 0)


def test_a_pharmacist_does_not_register_and_bad_identities_change_nothing(live: Live) -> None:
    before = _patients(live)
    is_problem(bearer(live, "lu-hp-100003").post("/api/v1/patients", json=ANA), 403)
    gp = bearer(live, "lu-hp-100001")
    for bad in ({**ANA, "gender": "X"}, {**ANA, "birth_date": "2999-01-01"},
                {**ANA, "family_name": ""}, {**ANA, "country": "Portugal"},
                {k: v for k, v in ANA.items() if k != "birth_date"}):
        r = gp.post("/api/v1/patients", json=bad)
        assert r.status_code in (400, 422), (bad, r.text)
    assert _patients(live) == before
    is_problem(gp.get("/api/v1/patients/P123456789012"), 403)  # not issued: unknown
