"""The two-country round trip over real HTTPS, driven through the portal with httpx.

Each effect is proven on the other side: the Patient Summary a Luxembourg doctor reads comes
from Belgium's record (its patient's name, its document language), a dispensation by a Belgian
pharmacist changes Luxembourg's prescription and lands in Luxembourg's audit trail, and a
refusal for lack of consent is Belgium's answer, shown to the doctor in words.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import text

from ncp import demo
from ncp.crossborder.partner import BE_PATIENTS
from ncp.store import matricule
from tests.crossborder.conftest import TwoCountries, csrf

EMMA_BE = matricule.make(BE_PATIENTS[0][0], BE_PATIENTS[0][1])
LOUISE_BE_NO_CONSENT = matricule.make(BE_PATIENTS[2][0], BE_PATIENTS[2][1])
JEAN_LU = demo.PATIENTS[0].patient.matricule


def _plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _identify(client, country: str, number: str, purpose: str = "TREATMENT"):  # type: ignore[no-untyped-def]
    page = client.get(f"/portal/xb/{country}")
    assert page.status_code == 200
    token = csrf(page.text)
    found = client.post(f"/portal/xb/{country}/search", data={"csrf": token, "id": number})
    return token, found


def _confirm(client, token: str, found_html: str) -> str:  # type: ignore[no-untyped-def]
    ctx = re.search(r"/portal/xb/c/([^/\"]+)/confirm", found_html)
    assert ctx, _plain(found_html)
    r = client.post(f"/portal/xb/c/{ctx.group(1)}/confirm",
                    data={"csrf": token, "purpose": "TREATMENT", "confirm": "yes"})
    assert r.status_code == 303
    return ctx.group(1)


def test_luxembourg_doctor_reads_a_belgian_summary(two_countries: TwoCountries) -> None:
    doctor = two_countries.lu.login("lu-hp-100001")
    try:
        _doctor_reads(two_countries, doctor)
    finally:
        doctor.close()


def _doctor_reads(two_countries: TwoCountries, doctor) -> None:  # type: ignore[no-untyped-def]
    token, found = _identify(doctor, "BE", EMMA_BE)
    assert found.status_code == 200 and "Emma Janssens" in found.text
    # nothing is shared before the relationship is confirmed
    ctx = re.search(r"/portal/xb/c/([^/\"]+)/confirm", found.text).group(1)  # type: ignore[union-attr]
    assert doctor.get(f"/portal/xb/c/{ctx}").status_code == 404
    ctx = _confirm(doctor, token, found.text)
    visitor = doctor.get(f"/portal/xb/c/{ctx}")
    assert visitor.status_code == 200
    summary = re.search(r'href="(/portal/xb/c/[^"]+/summary\?[^"]+)"', visitor.text)
    assert summary, _plain(visitor.text)
    url = summary.group(1).replace("&amp;", "&")
    for lang, title in (("fr", "Résumé patient"), ("de", "Patientenkurzakte"),
                        ("en", "Patient Summary")):
        page = doctor.get(re.sub(r"lang=\w+", f"lang={lang}", url))
        assert page.status_code == 200
        assert "Emma Janssens" in page.text and title in page.text
        assert "original" in page.text.lower() or "Original" in page.text
    pdf = doctor.get(re.sub(r"/summary\?", "/pdf?", url))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # Belgium logged the read: its audit trail holds our XCPD, query and retrieve
    with two_countries.be.engine.connect() as conn:
        events = {row[0] for row in conn.execute(text(
            "SELECT event_code FROM audit_messages WHERE outcome = '0'"))}
    assert {"EHDSI-11", "EHDSI-21", "EHDSI-22"} <= events
    # and so did we, as the initiating side
    with two_countries.lu.engine.connect() as conn:
        ours = {row[0] for row in conn.execute(text("SELECT event_code FROM audit_messages"))}
    assert {"EHDSI-11", "EHDSI-92", "EHDSI-21", "EHDSI-22"} <= ours


def test_patient_without_consent_is_refused_and_the_doctor_sees_why(
        two_countries: TwoCountries) -> None:
    doctor = two_countries.lu.login("lu-hp-100002")
    _, found = _identify(doctor, "BE", LOUISE_BE_NO_CONSENT)
    assert found.status_code == 409
    words = _plain(found.text)
    assert "consentement" in words and "4701" in words
    assert "Louise" not in found.text  # nothing about the patient leaked
    unknown = _identify(doctor, "BE", matricule.make(dt.date(1990, 1, 1), 1))[1]
    assert unknown.status_code == 409 and "aucun patient" in _plain(unknown.text)
    assert doctor.get("/portal/xb/LU").status_code == 404  # our own country is not a peer
    doctor.close()


def test_belgian_pharmacist_dispenses_a_luxembourg_prescription(
        two_countries: TwoCountries) -> None:
    lu = two_countries.lu
    with lu.engine.connect() as conn:
        before = dict(conn.execute(text(
            "SELECT prescription_id, status FROM prescriptions")).all())
        audited = conn.execute(text("SELECT count(*) FROM audit_messages WHERE event_code = "
                                    "'EHDSI-41' AND outcome = '0'")).scalar()
    pharmacist = two_countries.be.login("be-hp-200002")
    try:
        _pharmacist_dispenses(two_countries, pharmacist, before, audited)
    finally:
        pharmacist.close()


def _pharmacist_dispenses(two_countries: TwoCountries, pharmacist,  # type: ignore[no-untyped-def]
                          before: dict, audited: int) -> None:
    lu = two_countries.lu
    token, found = _identify(pharmacist, "LU", JEAN_LU)
    assert found.status_code == 200 and "Jean Schmit" in found.text
    ctx = _confirm(pharmacist, token, found.text)
    visitor = pharmacist.get(f"/portal/xb/c/{ctx}")
    links = re.findall(r'href="(/portal/xb/c/[^"]+/prescription\?[^"]+)"', visitor.text)
    assert links, _plain(visitor.text)
    page = pharmacist.get(links[0].replace("&amp;", "&"))
    assert page.status_code == 200
    fields = dict(re.findall(r'name="(uid|repo|home)" value="([^"]*)"', page.text))
    prescribed = int(re.search(r'id="prescribed">(\d+)<', page.text).group(1))  # type: ignore[union-attr]
    allowed = 'id="substitute"' in page.text
    if not allowed:  # substitution where it is not allowed is refused before anything is sent
        refused = pharmacist.post(f"/portal/xb/c/{ctx}/dispense",
                                  data={"csrf": token, "packages": "1", "substitute": "yes",
                                        "confirm": "yes", **fields})
        assert refused.status_code == 409
    done = pharmacist.post(f"/portal/xb/c/{ctx}/dispense",
                           data={"csrf": token, "packages": str(prescribed), "confirm": "yes",
                                 **fields})
    assert done.status_code == 200, _plain(done.text)
    assert "Luxembourg a enregistré la délivrance" in _plain(done.text)
    # Luxembourg recorded it: the prescription changed state, the eD is in its audit trail
    with lu.engine.connect() as conn:
        after = dict(conn.execute(text(
            "SELECT prescription_id, status FROM prescriptions")).all())
        audit = conn.execute(text("SELECT count(*) FROM audit_messages WHERE event_code = "
                                  "'EHDSI-41' AND outcome = '0'")).scalar()
    changed = {k for k in after if after[k] != before.get(k)}
    assert len(changed) == 1 and after[changed.pop()] != "active"
    assert audit == audited + 1
    # the same prescription cannot be dispensed twice: the counter knows nothing remains and
    # says so before asking Luxembourg (issue 15 item 4)
    again = pharmacist.post(f"/portal/xb/c/{ctx}/dispense",
                            data={"csrf": token, "packages": "1", "confirm": "yes", **fields})
    assert again.status_code == 400 and "Il ne reste rien à délivrer" in _plain(again.text)
    # and the dispensation can be discarded within the window
    visitor = pharmacist.get(f"/portal/xb/c/{ctx}")
    action = re.search(r'action="(/portal/xb/c/[^"]+/discard)"', visitor.text)
    assert action, _plain(visitor.text)
    discarded = pharmacist.post(action.group(1), data={"csrf": token, "confirm": "yes"})
    assert discarded.status_code == 200 and "annulé la délivrance" in _plain(discarded.text)
    with lu.engine.connect() as conn:
        final = dict(conn.execute(text(
            "SELECT prescription_id, status FROM prescriptions")).all())
    assert final == before
