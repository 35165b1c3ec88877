"""Patient safety on the portal and the API (issue 15 items 1-2): every CDA added to a record
names that record's patient, only a national PS CDA becomes the summary (after an explicit
"replace version N"), and every document view carries the identified-patient banner from the
record, with a warning when the document's own header names someone else."""

from __future__ import annotations

import base64

from sqlalchemy import func, select

from ncp import demo
from ncp.cda.demo import national_documents
from ncp.store.models import Document
from tests.portal.live import Live, csrf

JEAN, MARIA, TOM, LEA, NICOLAS, EMMA = (r.patient.matricule for r in demo.PATIENTS)
GP = "lu-hp-100001"
LOAD_TERMINOLOGY = True  # the summary check transcodes to the pivot, as the gateway will
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def documents(live: Live) -> int:
    with live.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Document)).scalar() or 0)


def ps_of(index: int) -> bytes:
    return national_documents(demo.PATIENTS[index].patient)[0].content


def current_summary(page_html: str) -> str:
    return page_html.split('name="supersedes" value="', 1)[1].split('"', 1)[0]


def test_a_summary_of_another_patient_is_refused_on_the_page(live: Live) -> None:
    gp = live.login(GP)
    record = gp.get(f"/portal/pro/patients/{EMMA}")
    before = documents(live)
    r = gp.post(f"/portal/pro/patients/{EMMA}/documents",
                data={"doc_type": "patient-summary", "supersedes": current_summary(record.text),
                      "confirm_replace": "1", "csrf": csrf(record.text)},
                files={"file": ("ps.xml", ps_of(0), "text/xml")})  # Jean Schmit's summary
    assert r.status_code == 400
    assert "Schmit" in r.text and JEAN in r.text and EMMA in r.text
    assert documents(live) == before
    # The same through the general upload form (a visit report in CDA form).
    r = gp.post(f"/portal/pro/patients/{EMMA}/documents",
                data={"doc_type": "visit-report", "confidentiality": "N",
                      "csrf": csrf(record.text)},
                files={"file": ("v.xml", ps_of(0), "text/xml")})
    assert r.status_code == 400 and documents(live) == before


def test_a_cda_without_the_matricule_is_refused(live: Live) -> None:
    gp = live.login(GP)
    record = gp.get(f"/portal/pro/patients/{EMMA}")
    ps = ps_of(5).replace(b'root="1.3.182.4.4"', b'root="1.2.3.4.5"')
    r = gp.post(f"/portal/pro/patients/{EMMA}/documents",
                data={"doc_type": "visit-report", "confidentiality": "N",
                      "csrf": csrf(record.text)},
                files={"file": ("v.xml", ps, "text/xml")})
    assert r.status_code == 400 and "1.3.182.4.4" in r.text


def test_the_api_refuses_a_cda_of_another_patient(live: Live) -> None:
    from tests.api.test_api import bearer

    gp = bearer(live, GP)
    before = documents(live)
    r = gp.post(f"/api/v1/patients/{MARIA}/documents", json={
        "doc_type": "visit-report", "title": "t",
        "content_base64": base64.b64encode(ps_of(0)).decode()})
    assert r.status_code == 422 and r.json()["type"].endswith("upload-wrong-patient")
    assert JEAN in r.json()["detail"] and documents(live) == before
    r = gp.post(f"/api/v1/patients/{MARIA}/documents", json={
        "doc_type": "patient-summary", "title": "t",
        "content_base64": base64.b64encode(PDF).decode()})
    assert r.status_code == 422 and r.json()["type"].endswith("upload-not-ps")
    assert documents(live) == before


def test_the_summary_is_replaced_only_by_a_confirmed_national_ps(live: Live) -> None:
    gp = live.login(GP)
    record = gp.get(f"/portal/pro/patients/{EMMA}")
    assert 'id="confirm-replace"' in record.text and "version" in record.text
    previous = current_summary(record.text)
    before = documents(live)
    base = {"doc_type": "patient-summary", "supersedes": previous, "csrf": csrf(record.text)}
    # A PDF is no summary (the patient would have none abroad: 4203).
    r = gp.post(f"/portal/pro/patients/{EMMA}/documents", data={**base, "confirm_replace": "1"},
                files={"file": ("ps.pdf", PDF, "application/pdf")})
    assert r.status_code == 400 and "un PDF ou une image" in r.text
    # A prescription CDA of the right patient is no summary either.
    prescription = national_documents(demo.PATIENTS[5].patient)[1].content
    r = gp.post(f"/portal/pro/patients/{EMMA}/documents", data={**base, "confirm_replace": "1"},
                files={"file": ("ep.xml", prescription, "text/xml")})
    assert r.status_code == 400 and "60591-5" in r.text
    # The right PS, not confirmed: refused.
    r = gp.post(f"/portal/pro/patients/{EMMA}/documents", data=base,
                files={"file": ("ps.xml", ps_of(5), "text/xml")})
    assert r.status_code == 400 and documents(live) == before
    r = gp.post(f"/portal/pro/patients/{EMMA}/documents", data={**base, "confirm_replace": "1"},
                files={"file": ("ps.xml", ps_of(5), "text/xml")})
    assert r.status_code == 303, r.text


def test_every_document_view_shows_the_record_patient_and_warns_on_a_mismatch(
        live: Live) -> None:
    gp = live.login(GP)
    listing = gp.get(f"/portal/pro/patients/{EMMA}?type=patient-summary").text
    uid = listing.split('data-uid="', 1)[1].split('"', 1)[0]
    view = gp.get(f"/portal/documents/{uid}").text
    banner = view.split('id="patient-banner"', 1)[1].split("</section>", 1)[0]
    assert "HANSEN Emma" in banner and EMMA in banner
    assert 'id="patient-mismatch"' not in view
    # A document stored before the check (or by another route) whose header names Jean.
    actor = live.records.professional_actor(live.records.professional_id(GP.upper()))
    info = live.records.add_document(actor, live.records.patient_id(EMMA),
                                     doc_type="visit-report", title="legacy",
                                     media_type="text/xml", content=ps_of(0))
    view = gp.get(f"/portal/documents/{info.unique_id}").text
    assert "HANSEN Emma" in view.split('id="patient-banner"', 1)[1].split("</section>", 1)[0]
    warning = view.split('id="patient-mismatch"', 1)[1].split("</p>", 1)[0]
    assert "Schmit" in warning and JEAN in warning
    # The patient sees the same banner on their own documents.
    own = live.login(EMMA).get(f"/portal/documents/{uid}").text
    assert 'id="patient-banner"' in own
