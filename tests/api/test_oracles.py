"""One answer for an unknown matricule and for a record the professional may not access, in
the API and the portal (issue 14 item 13), over the real server."""

from __future__ import annotations

from ncp import demo
from tests.api.test_api import bearer, is_problem
from tests.portal.live import Live

NICOLAS = demo.PATIENTS[4].patient.matricule  # closed DSP
UNKNOWN = "1999010100017"


def _shape(body: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in body.items() if k not in ("error_id", "instance")}


def test_the_api_answers_unknown_and_denied_alike(live: Live) -> None:
    gp = bearer(live, "lu-hp-100001")
    for path in ("/api/v1/patients/{}", "/api/v1/patients/{}/documents"):
        denied = is_problem(gp.get(path.format(NICOLAS)), 403)
        unknown = is_problem(gp.get(path.format(UNKNOWN)), 403)
        assert _shape(denied) == _shape(unknown)
    glass = {"reason_code": "unconscious", "reason": "unconscious at the ER"}
    denied = is_problem(gp.post(f"/api/v1/patients/{NICOLAS}/emergency", json=glass), 403)
    unknown = is_problem(gp.post(f"/api/v1/patients/{UNKNOWN}/emergency", json=glass), 403)
    assert _shape(denied) == _shape(unknown)


def test_the_portal_answers_unknown_and_denied_alike(live: Live) -> None:
    gp = live.login("lu-hp-100001")
    denied = gp.get(f"/portal/pro/patients/{NICOLAS}")
    unknown = gp.get(f"/portal/pro/patients/{UNKNOWN}")
    assert denied.status_code == unknown.status_code == 403
    assert denied.text.replace(NICOLAS, "M") == unknown.text.replace(UNKNOWN, "M")
