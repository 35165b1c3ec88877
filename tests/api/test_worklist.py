"""GET /api/v1/worklist over real HTTPS: what the referring doctor owes, and nobody else's."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from ncp.store import matricule
from ncp.store.models import Patient
from tests.api.test_api import bearer
from tests.portal.live import Live


def test_a_patient_declared_four_months_ago_without_summary_is_overdue(live: Live) -> None:
    records = live.records
    gp = records.professional_id("LU-HP-100001")
    number = matricule.make(dt.date(1966, 6, 6), 606)
    pid = records.add_patient(matricule=number, given_name="Rita", family_name="Schank",
                              gender="F", city="Wiltz")
    declared = records.clock() - dt.timedelta(days=122)
    records.add_relationship(patient_id=pid, professional_id=gp, source="referring-doctor",
                             valid_from=declared)
    with live.engine.begin() as c:  # the insurer's feed names the referring doctor
        c.execute(update(Patient).where(Patient.id == pid).values(referring_doctor_id=gp))
    items = bearer(live, "lu-hp-100001").get("/api/v1/worklist")
    assert items.status_code == 200, items.text
    mine = [i for i in items.json() if i["patient"]["matricule"] == number]
    assert len(mine) == 1
    assert mine[0]["task"] == "first-summary" and mine[0]["overdue"] is True
    assert mine[0]["summary_at"] is None
    # the demo's own patients have fresh summaries: nothing owed for them
    assert all(i["patient"]["matricule"] == number for i in items.json())
    other = bearer(live, "lu-hp-100002").get("/api/v1/worklist")
    assert other.status_code == 200 and other.json() == []
