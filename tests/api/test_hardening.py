"""Issue 14, findings reproduced through the live server (HTTPS, real cards and tokens):
HSTS on every face (16), the API docs served from the package under a CSP (10), stored content
only as a sandboxed attachment and no xml-stylesheet uploads (14), ``?done=`` limited to known
notices (15), and card-authenticated API calls refused from other sites (18)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from ncp import demo
from ncp.app import create_app
from ncp.cda.demo import national_documents
from ncp.settings import Settings
from tests.api.test_api import bearer, docs_count, is_problem
from tests.portal.live import Live

JEAN = demo.PATIENTS[0].patient.matricule
TOM = demo.PATIENTS[2].patient.matricule


@pytest.mark.parametrize("path", ["/health", "/portal/login", "/api/v1/me", "/api/docs"])
def test_every_https_answer_carries_hsts(live: Live, path: str) -> None:
    r = live.client().get(path)
    assert r.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"


def test_api_docs_come_from_the_package_under_a_csp(live: Live) -> None:
    client = live.client()
    page = client.get("/api/docs")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    # Nothing from another host, no inline script: every script and style is one of ours.
    assert "http" not in page.text and "<script>" not in page.text
    for asset in ("/api/docs/assets/swagger-ui-bundle.js", "/api/docs/assets/swagger-ui.css",
                  "/api/docs/init.js"):
        r = client.get(asset)
        assert r.status_code == 200 and len(r.content) > 100, asset
    assert client.get("/api/docs/assets/swagger-ui.js.map").status_code == 404


def test_api_docs_are_off_in_production_unless_enabled(tmp_path: Path) -> None:
    prod = dict(environment="production", database_url="sqlite:///x", var_dir=tmp_path,
                **{n: tmp_path / n for n in ("tls_cert", "tls_key", "signing_cert",
                                              "signing_key", "trust_list", "master_keys")})
    def paths(settings: Settings) -> set[str]:
        return {getattr(r, "path", "") for r in create_app(settings).routes}
    assert not {"/api/docs", "/api/openapi.json"} & paths(Settings(**prod))
    assert {"/api/docs", "/api/openapi.json"} <= paths(Settings(**prod, api_docs=True))


def test_stored_content_is_a_sandboxed_attachment(live: Live) -> None:
    gp = bearer(live, "lu-hp-100001")
    uid = gp.get(f"/api/v1/patients/{JEAN}/documents").json()[0]["unique_id"]
    r = gp.get(f"/api/v1/documents/{uid}/content")
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_an_xml_stylesheet_instruction_is_refused_on_upload(live: Live) -> None:
    gp = bearer(live, "lu-hp-100001")
    cda = national_documents(demo.PATIENTS[0].patient)[0].content
    head, sep, rest = cda.partition(b"?>")
    assert sep, "the demo CDA starts with an XML declaration"
    styled = head + sep + b'\n<?xml-stylesheet type="text/xsl" href="data:,x"?>' + rest
    before = docs_count(live)
    body = is_problem(gp.post(f"/api/v1/patients/{JEAN}/documents", json={
        "doc_type": "visit-report", "title": "styled",
        "content_base64": base64.b64encode(styled).decode()}), 422)
    assert "xml-stylesheet" in str(body["detail"])
    assert docs_count(live) == before


def test_done_shows_only_known_notices(live: Live) -> None:
    client = live.client()
    forged = "Votre compte est suspendu, appelez le 555"
    page = client.get("/portal/login", params={"done": forged}).text
    assert "suspendu" not in page and 'id="done"' not in page
    known = client.get("/portal/login", params={"done": "logged_out", "lang": "en"}).text
    assert 'id="done"' in known and "You are logged out." in known


def test_card_api_calls_from_another_site_are_refused(live: Live, tmp_path: Path) -> None:
    cert, key = live.card(tmp_path, "lu-hp-100002")
    card = live.client(verify=live.tls(cert, key))
    log_before = len(live.records.access_log(
        demo_actor := _patient_actor(live, TOM), live.records.patient_id(TOM)))
    # What a browser sends for <img src> or fetch() from a page of another site.
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                    {"Origin": "https://evil.example"}, {"Origin": "null"}):
        body = is_problem(card.get(f"/api/v1/patients/{TOM}", headers=headers), 403)
        assert body["type"] == "urn:ncp:problem:cross-site"
    assert len(live.records.access_log(demo_actor, live.records.patient_id(TOM))) == log_before
    # Professional software (no browser headers) and our own pages still work with the card.
    assert card.get(f"/api/v1/patients/{TOM}").status_code == 200
    assert card.get("/api/v1/me", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200
    # A bearer token is no ambient credential: the check does not apply.
    gp = bearer(live, "lu-hp-100001")
    assert gp.get("/api/v1/me", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200


def _patient_actor(live: Live, matricule: str):  # type: ignore[no-untyped-def]
    from ncp.store.policy import Actor

    return Actor.patient(live.records.patient_id(matricule))


def test_http_access_log_lines_carry_no_matricule(live: Live) -> None:
    """Issue 14 finding 8: uvicorn's access log printed matricules in URLs."""
    import logging

    access = logging.getLogger("uvicorn.access")
    assert any(f.__class__.__name__ == "RedactIdentifiers" for f in access.filters)
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d', ("127.0.0.1:5000", "GET",
                               f"/portal/pro/patients/{JEAN}?lang=fr", "1.1", 200), None)
    for f in access.filters:
        f.filter(record)
    line = record.getMessage()
    assert JEAN not in line and "/portal/pro/patients/[id]?lang=fr" in line
    assert "127.0.0.1:5000" in line  # addresses and ports are kept
    doc = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "%s", (
        "/api/v1/documents/1.3.182.2.4.1.3.1.20261202/content",), None)
    for f in access.filters:
        f.filter(doc)
    assert "1.3.182.2.4.1.3.1.20261202" in doc.getMessage()  # a document OID is no person
