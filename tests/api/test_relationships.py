"""Relationships declared by professional software over real HTTPS, with the policy they open."""

from __future__ import annotations

from ncp import demo
from tests.api.test_api import bearer, is_problem
from tests.portal.live import Live

LEA = demo.PATIENTS[3].patient.matricule


def test_a_declared_visit_opens_the_record_and_ending_it_closes_it(live: Live) -> None:
    nurse = bearer(live, "lu-hp-100004")
    is_problem(nurse.get(f"/api/v1/patients/{LEA}/documents"), 403)
    declared = nurse.post(f"/api/v1/patients/{LEA}/relationships", json={"kind": "visit"})
    assert declared.status_code == 201, declared.text
    body = declared.json()
    assert body["kind"] == "visit" and body["valid_to"]
    assert nurse.get(f"/api/v1/patients/{LEA}/documents").status_code == 200
    ended = nurse.post(f"/api/v1/relationships/{body['id']}/end")
    assert ended.status_code == 200, ended.text
    is_problem(nurse.get(f"/api/v1/patients/{LEA}/documents"), 403)
    is_problem(nurse.post(f"/api/v1/relationships/{body['id']}/end"), 404)


def test_declarations_the_api_refuses(live: Live) -> None:
    nurse = bearer(live, "lu-hp-100004")
    bad = nurse.post(f"/api/v1/patients/{LEA}/relationships", json={"kind": "referring-doctor"})
    assert bad.status_code == 422
    other = bearer(live, "lu-hp-100002")
    mine = nurse.post(f"/api/v1/patients/{LEA}/relationships", json={"kind": "admission"})
    assert mine.status_code == 201
    is_problem(other.post(f"/api/v1/relationships/{mine.json()['id']}/end"), 404)
