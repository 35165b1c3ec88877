"""The portal as one application for a browser (issue 15 items 11-12): the root URL and unknown
paths lead to translated pages in the portal's shell, empty login fields give the login form
again, and language links keep the page, its query and the choice."""

from __future__ import annotations

from ncp import demo
from tests.portal.live import Live

JEAN, MARIA, TOM, LEA, NICOLAS, EMMA = (r.patient.matricule for r in demo.PATIENTS)
GP = "lu-hp-100001"
HTML = {"Accept": "text/html,application/xhtml+xml"}


def test_the_root_url_leads_to_the_portal(live: Live) -> None:
    r = live.client().get("/", headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == "/portal/"


def test_unknown_paths_and_methods_give_a_translated_page(live: Live) -> None:
    client = live.client()
    r = client.get("/portal/nowhere", headers={**HTML, "Accept-Language": "de"})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "Nicht gefunden" in r.text or "nicht gefunden" in r.text.lower()
    assert '{"detail"' not in r.text and 'class="langs"' in r.text
    r = client.get("/nowhere", headers=HTML)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    # Logged in: the shell keeps the user (name, logout).
    gp = live.login(GP)
    r = gp.get("/portal/pro/nowhere", headers=HTML)
    assert r.status_code == 404 and 'id="logout"' in r.text
    r = gp.get(f"/portal/pro/patients/{EMMA}/emergency", headers=HTML)  # POST only
    assert r.status_code == 405 and 'id="logout"' in r.text
    # The API keeps its problem documents.
    api = live.client().get("/api/v1/nowhere")
    assert api.headers["content-type"].startswith("application/problem+json")


def test_empty_login_fields_give_the_form_again(live: Live) -> None:
    client = live.client()
    r = client.post("/portal/login", data={"login": "", "password": ""},
                    headers={"Accept-Language": "fr"})
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    assert 'id="error"' in r.text and "remplir" in r.text and 'name="login"' in r.text
    r = client.post("/portal/login/totp", data={}, headers={"Accept-Language": "en"})
    assert r.status_code == 400 and "Fill in" in r.text


def test_language_links_keep_the_page_and_its_query_and_the_choice_sticks(live: Live) -> None:
    gp = live.login(GP)
    r = gp.get(f"/portal/pro/patients/{EMMA}?type=prescription&since=2020-01-01")
    links = [part.split('"', 1)[0] for part in r.text.split('class="langs"', 1)[1]
             .split("</span>", 1)[0].split('href="')[1:]]
    assert len(links) == 3
    de = next(link for link in links if link.endswith("lang=de"))
    assert de.startswith(f"/portal/pro/patients/{EMMA}?") and "type=prescription" in de \
        and "since=2020-01-01" in de
    page = gp.get(de)
    assert page.status_code == 200 and 'lang="de"' in page.text
    # Remembered: the next page without ?lang= is German too, the cross-border pages included.
    assert 'lang="de"' in gp.get("/portal/pro").text
    assert 'lang="de"' in gp.get("/portal/xb?lang=de").text
    assert 'lang="de"' in gp.get("/portal/xb").text
    gp.get("/portal/xb?lang=en")
    assert 'lang="en"' in gp.get("/portal/xb").text
    assert 'lang="en"' in gp.get("/portal/pro").text
    gp.get("/portal/pro?lang=fr")
