"""The JSON API over real HTTPS: bearer tokens and professional cards (mutual TLS), the policy
as the record service applies it, RFC 9457 problems, and bad input that changes nothing."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from ncp import demo
from ncp.auth.service import Authenticator
from ncp.cda.demo import national_documents
from ncp.store.db import session_factory
from ncp.store.models import Document
from ncp.store.policy import Actor
from tests.portal.live import Live

JEAN, MARIA, TOM, LEA, NICOLAS, EMMA = (r.patient.matricule for r in demo.PATIENTS)
LOAD_TERMINOLOGY = True  # a new summary must transcode to the pivot (issue 15 item 2)
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def auth(live: Live) -> Authenticator:
    return Authenticator(session_factory(live.engine), live.records)


def token_for(live: Live, login: str) -> str:
    a = auth(live)
    account = a.store.by_login(login)
    assert account is not None
    return a.issue_token(account.id, "tests")


def bearer(live: Live, login: str) -> httpx.Client:
    return live.client(headers={"Authorization": f"Bearer {token_for(live, login)}"})


def docs_count(live: Live) -> int:
    with live.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Document)).scalar() or 0)


def is_problem(r: httpx.Response, status: int) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["type"].startswith("urn:ncp:problem:")
    assert body["error_id"]
    return body


def test_openapi_document_is_served(live: Live) -> None:
    spec = live.client().get("/api/openapi.json").json()
    assert "/api/v1/patients/{matricule}/documents" in spec["paths"]
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_without_credentials_the_answer_is_a_problem(live: Live) -> None:
    client = live.client()
    body = is_problem(client.get("/api/v1/patients"), 401)
    assert body["title"] == "Authentication required"
    is_problem(live.client(headers={"Authorization": "Bearer ncp_forged"}).get("/api/v1/me"),
               401)
    is_problem(client.get("/api/v1/nowhere"), 404)


def test_bearer_token_my_patients_and_documents(live: Live) -> None:
    gp = bearer(live, "lu-hp-100001")
    me = gp.get("/api/v1/me").json()
    assert me == {"name": "Marie Muller", "profession": "physician",
                  "organisation": "Cabinet médical Limpertsberg",
                  "organisations": ["Cabinet médical Limpertsberg"], "authenticated_by": "token"}
    patients = {p["matricule"] for p in gp.get("/api/v1/patients").json()}
    assert patients == {JEAN, MARIA, TOM, LEA, EMMA}  # Nicolas closed his DSP
    docs = gp.get(f"/api/v1/patients/{JEAN}/documents").json()
    assert {d["doc_type"] for d in docs} == {"patient-summary", "prescription"}
    only = gp.get(f"/api/v1/patients/{JEAN}/documents", params={"type": "prescription"}).json()
    assert only and {d["doc_type"] for d in only} == {"prescription"}
    uid = docs[0]["unique_id"]
    content = gp.get(f"/api/v1/documents/{uid}/content")
    assert content.status_code == 200 and content.content.startswith(b"<?xml")
    future = gp.get(f"/api/v1/patients/{JEAN}/documents", params={"since": "2099-01-01"})
    assert future.json() == []
    is_problem(gp.get(f"/api/v1/patients/{NICOLAS}"), 403)


def test_professional_card_over_mutual_tls(live: Live, tmp_path: Path) -> None:
    cert, key = live.card(tmp_path, "lu-hp-100002")
    client = live.client(verify=live.tls(cert, key))
    me = client.get("/api/v1/me").json()
    assert me["name"] == "Luc Hoffmann" and me["authenticated_by"] == "certificate"
    assert client.get(f"/api/v1/patients/{TOM}").json()["family_name"] == "Wagner"
    log = live.records.access_log(Actor.patient(live.records.patient_id(TOM)),
                                  live.records.patient_id(TOM))
    assert log[0].actor_name == "Luc Hoffmann" and log[0].what == "patient identity"
    # A card of the trusted CA that nobody registered is not a login.
    stranger_cert, stranger_key = live.card(tmp_path, "lu-hp-100003", register=False)
    is_problem(live.client(verify=live.tls(stranger_cert, stranger_key)).get("/api/v1/me"),
               401)


def test_upload_a_cda_then_a_new_version_of_the_summary(live: Live) -> None:
    gp = bearer(live, "lu-hp-100001")
    ps = national_documents(demo.PATIENTS[1].patient)[0].content
    current = [d for d in gp.get(f"/api/v1/patients/{MARIA}/documents",
                                 params={"type": "patient-summary"}).json()]
    r = gp.post(f"/api/v1/patients/{MARIA}/documents", json={
        "doc_type": "patient-summary", "title": "Résumé patient (mis à jour)",
        "content_base64": base64.b64encode(ps).decode(), "supersedes": current[0]["unique_id"]})
    assert r.status_code == 201, r.text
    assert r.json()["version"] == current[0]["version"] + 1
    now = gp.get(f"/api/v1/patients/{MARIA}/documents",
                 params={"type": "patient-summary"}).json()
    assert [d["unique_id"] for d in now] == [r.json()["unique_id"]]
    # The cardiologist is no referring doctor: the summary is not theirs to write.
    cardio = bearer(live, "lu-hp-100002")
    before = docs_count(live)
    is_problem(cardio.post(f"/api/v1/patients/{MARIA}/documents", json={
        "doc_type": "patient-summary", "title": "x",
        "content_base64": base64.b64encode(ps).decode()}), 403)
    assert docs_count(live) == before


@pytest.mark.parametrize(("content", "status", "detail"), [
    (b"not a pdf at all", 422, "only application/pdf, text/xml"),
    (b"%PDF-1.4 but truncated", 422, "truncated"),
    (b"<ClinicalDocument xmlns='urn:hl7-org:v3'/>", 422, "does not validate"),
    (b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", 422, "DOCTYPE"),
    (b"<html xmlns='http://www.w3.org/1999/xhtml'/>", 422, "not an HL7 CDA"),
])
def test_bad_documents_are_refused_with_a_reason(live: Live, content: bytes, status: int,
                                                 detail: str) -> None:
    gp = bearer(live, "lu-hp-100001")
    before = docs_count(live)
    body = is_problem(gp.post(f"/api/v1/patients/{JEAN}/documents", json={
        "doc_type": "visit-report", "title": "t",
        "content_base64": base64.b64encode(content).decode()}), status)
    assert detail in str(body["detail"])
    assert docs_count(live) == before


def test_invalid_requests_are_problems_and_change_nothing(live: Live) -> None:
    gp = bearer(live, "lu-hp-100001")
    before = docs_count(live)
    is_problem(gp.post(f"/api/v1/patients/{JEAN}/documents", json={
        "doc_type": "visit-report", "title": "t", "content_base64": "@@@@"}), 422)
    is_problem(gp.post(f"/api/v1/patients/{JEAN}/documents", json={
        "doc_type": "no-such-type", "title": "t",
        "content_base64": base64.b64encode(PDF).decode()}), 422)
    is_problem(gp.post(f"/api/v1/patients/{JEAN}/documents", json={
        "doc_type": "visit-report", "title": "t",
        "content_base64": base64.b64encode(b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024)
                                           + b"%%EOF").decode()}), 413)
    is_problem(gp.get("/api/v1/patients/123"), 422)
    is_problem(gp.get("/api/v1/patients/1999999999999"), 403)  # as a denied one: no oracle
    is_problem(gp.post(f"/api/v1/patients/{JEAN}/emergency",
                       json={"reason_code": "other", "reason": "x"}), 422)
    assert docs_count(live) == before


def test_a_pdf_upload_and_break_the_glass(live: Live) -> None:
    nurse = bearer(live, "lu-hp-100004")
    is_problem(nurse.get(f"/api/v1/patients/{EMMA}/documents"), 403)
    is_problem(nurse.post(f"/api/v1/patients/{EMMA}/emergency",
                          json={"reason": "collapsed at work"}), 422)  # no reason code
    r = nurse.post(f"/api/v1/patients/{EMMA}/emergency",
                   json={"reason_code": "unconscious", "reason": "collapsed at work"})
    assert r.status_code == 200 and "expires_at" in r.json()
    docs = nurse.get(f"/api/v1/patients/{EMMA}/documents").json()
    assert docs
    r = nurse.post(f"/api/v1/patients/{EMMA}/documents", json={
        "doc_type": "home-care-report", "title": "Soins",
        "content_base64": base64.b64encode(PDF).decode()})
    assert r.status_code == 201 and r.json()["media_type"] == "application/pdf"
    log = live.records.access_log(Actor.patient(live.records.patient_id(EMMA)),
                                  live.records.patient_id(EMMA))
    mine = [e for e in log if e.actor_name == "Anne Schmit"]
    assert {e.context for e in mine if e.outcome == "success"} == {"emergency"}
    assert [e.outcome for e in mine][-1] == "denied"  # the first try, before the emergency


def test_another_patients_document_through_a_foreign_record(live: Live) -> None:
    """A professional with no access gets 403 for a document id, whatever record it is in."""
    gp = bearer(live, "lu-hp-100001")
    uid = gp.get(f"/api/v1/patients/{JEAN}/documents").json()[0]["unique_id"]
    lab = bearer(live, "lu-hp-100005")
    body = is_problem(lab.get(f"/api/v1/documents/{uid}"), 403)
    assert "relationship" not in str(body)  # the reason stays in the patient's log
    is_problem(lab.get(f"/api/v1/documents/{uid}/content"), 403)
    is_problem(lab.get("/api/v1/documents/2.25.1"), 404)
