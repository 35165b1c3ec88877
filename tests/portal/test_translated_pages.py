"""The main pages walked in German and French over the real server find no English sentence.

The English sentences looked for are the English catalogue's own (every value that the other
language says differently, cut at its placeholders, of two words or more) and the stored
access-log forms of :mod:`ncp.portal.logtext`. The visible text is the page's text and the
attributes a person reads (title, placeholder, aria-label, button values); what a page marks
``lang="en"`` (the technical detail of a schema refusal, folded under a translated summary) is
not counted, and neither are people's names or documents' own titles, which are data.

A string that is in the English catalogue only, or written in English in a template or the
code, is found: removing one translation from fr.json or de.json makes the walk fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib import resources

import httpx
import lxml.html
import pytest

from ncp import demo
from ncp.cda.demo import national_documents
from ncp.portal.logtext import FORMS, SYSTEM_ACTORS
from ncp.portal.web import MESSAGE_PACKAGES, catalogue
from tests.portal.live import Live, csrf

JEAN, MARIA, TOM, LEA, NICOLAS, EMMA = (r.patient.matricule for r in demo.PATIENTS)
GP, CARDIO = "lu-hp-100001", "lu-hp-100002"
LOAD_TERMINOLOGY = True  # the summary check transcodes to the pivot
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
#: English fragments that are words of the other languages too (product and service names).
SHARED_WORDS = {"Patient Summary", "MyHealth@EU", "API tokens"}


def fragments(text: str) -> Iterator[str]:
    """The parts of a message between its placeholders that are sentences (two words or more)."""
    for part in re.split(r"\{\w*\}", text):
        part = part.strip(" :;,.()«»“”\"'—-–")
        if len(re.findall(r"[A-Za-z]{2,}", part)) >= 2 and len(part) >= 8:
            yield part


def own_words(lang: str) -> dict[str, str]:
    """One language's files as written, without the English that fills a gap at run time."""
    merged: dict[str, str] = {}
    for package in MESSAGE_PACKAGES:
        path = resources.files(package).joinpath(f"messages/{lang}.json")
        merged.update(json.loads(path.read_text("utf-8")))
    return merged


def english_sentences(lang: str) -> set[str]:
    en, other = own_words("en"), own_words(lang)
    found = {f for key, value in en.items() if other.get(key) != value
             for f in fragments(value)}
    found |= {f for form in (*FORMS, *SYSTEM_ACTORS) for f in fragments(form.stored)}
    return {f for f in found if f not in SHARED_WORDS and
            not any(f in other_value for other_value in other.values())}


def visible_text(html: str) -> str:
    root = lxml.html.fromstring(html)
    for node in root.xpath("//script|//style|//body//*[@lang='en']"):
        node.drop_tree()
    parts = [root.text_content()]
    parts += root.xpath("//@title|//@placeholder|//@aria-label|//input[@type='submit']/@value")
    return re.sub(r"\s+", " ", " ".join(parts))


def english_in(html: str, lang: str) -> list[str]:
    text = visible_text(html)
    return sorted(s for s in english_sentences(lang) if s in text)


def check(response: httpx.Response, lang: str, *, status: int = 200) -> str:
    assert response.status_code == status, (response.url, response.status_code)
    found = english_in(response.text, lang)
    assert not found, f"{response.url} in {lang}: English {found}"
    return response.text


def test_the_detector_finds_english() -> None:
    """An English sentence on a French page is found; a French one is not; a key missing from
    the French file is found even though English fills the gap at run time."""
    en, fr = catalogue("en"), catalogue("fr")
    page = f"<html><body><p>{en['log.help']}</p><p>{fr['log.title']}</p></body></html>"
    assert english_in(page, "fr")
    assert not english_in(f"<html><body><p>{fr['log.help']}</p></body></html>", "fr")
    assert not english_in(f"<html><body><p lang='en'>{en['log.help']}</p></body></html>", "fr")
    assert english_in("<p>consent given: eprescription</p>", "de")


@pytest.fixture(scope="module")
def history(live: Live) -> Live:
    """Maria's log with every kind of row a patient makes: consent, DSP, rules, masks."""
    patient = live.login(MARIA)
    page = patient.get("/portal/me/sharing").text
    for data in ({"service": "eprescription", "consent": "0"},
                 {"service": "eprescription", "consent": "1"}):
        assert patient.post("/portal/me/sharing", data={**data, "csrf": csrf(page)}
                            ).status_code == 303
    for state in ("closed", "open"):
        assert patient.post("/portal/me/dsp", data={"state": state, "reason": "essai",
                                                    "csrf": csrf(page), "confirm": "yes"}
                            ).status_code == 303
    prof = str(live.records.professional_id(CARDIO.upper()))
    for active in ("1", "0"):
        assert patient.post("/portal/me/access", data={
            "professional": prof, "kind": "block", "active": active, "csrf": csrf(page),
            "confirm": "yes"}
        ).status_code == 303
    return live


@pytest.mark.parametrize("lang", ["de", "fr"])
def test_the_patient_s_pages(history: Live, lang: str) -> None:
    patient = history.login(MARIA)
    home = check(patient.get(f"/portal/me?lang={lang}"), lang)
    uid = home.split('data-uid="', 1)[1].split('"', 1)[0]
    for path in ("/portal/me/space", "/portal/me/access", "/portal/me/log",
                 "/portal/me/sharing", "/portal/assist", f"/portal/documents/{uid}",
                 "/portal/me?type=prescription"):
        check(patient.get(f"{path}{'&' if '?' in path else '?'}lang={lang}"), lang)
    # the confirmation step before an irreversible act (item 17)
    page = patient.get(f"/portal/me/sharing?lang={lang}").text
    check(patient.post("/portal/me/dsp", data={"state": "closed", "csrf": csrf(page)}), lang)
    # form errors
    page = patient.get(f"/portal/me/space?lang={lang}").text
    check(patient.post("/portal/me/space", data={"title": "", "text": "", "csrf": csrf(page)},
                       files={"file": ("", b"", "application/octet-stream")}), lang,
          status=400)
    check(patient.post("/portal/me/access", data={"registry_id": "LU-HP-999999",
                                                  "kind": "block", "csrf": csrf(page)}),
          lang, status=400)
    check(patient.get(f"/portal/me?since=yesterday&lang={lang}"), lang, status=400)
    check(patient.get(f"/portal/nowhere?lang={lang}"), lang, status=404)


@pytest.mark.parametrize("lang", ["de", "fr"])
def test_the_professional_s_pages(live: Live, lang: str) -> None:
    gp = live.login(GP)
    for path in ("/portal/pro", f"/portal/pro/patients/{EMMA}", "/portal/pro/tokens",
                 "/portal/pro/visit", "/portal/xb"):
        check(gp.get(f"{path}?lang={lang}"), lang)
    check(gp.get(f"/portal/pro/patients/0000000000000?lang={lang}"), lang, status=403)
    check(gp.get(f"/portal/pro/find?matricule=12&lang={lang}"), lang, status=400)
    record = gp.get(f"/portal/pro/patients/{EMMA}?lang={lang}").text
    form = {"doc_type": "visit-report", "confidentiality": "N", "csrf": csrf(record)}
    upload = f"/portal/pro/patients/{EMMA}/documents"
    # another patient's CDA, a PDF as the summary, a CDA that does not validate
    jean = national_documents(demo.PATIENTS[0].patient)[0].content
    check(gp.post(upload, data=form, files={"file": ("j.xml", jean, "text/xml")}), lang,
          status=400)
    text = check(gp.post(upload, data={**form, "doc_type": "patient-summary"},
                         files={"file": ("ps.pdf", PDF, "application/pdf")}), lang, status=400)
    assert "PDF" in text
    broken = b"<ClinicalDocument xmlns='urn:hl7-org:v3'><nonsense/></ClinicalDocument>"
    text = check(gp.post(upload, data=form, files={"file": ("b.xml", broken, "text/xml")}),
                 lang, status=400)
    assert 'id="error-technical"' in text  # the schema's words, folded, marked English
    check(gp.post(upload, data={**form, "doc_type": "nonsense"},
                  files={"file": ("b.xml", broken, "text/xml")}), lang, status=400)


@pytest.mark.parametrize("lang", ["de", "fr"])
def test_the_login_pages(live: Live, lang: str) -> None:
    client = live.client()
    check(client.get(f"/portal/login?lang={lang}"), lang)
    check(client.post("/portal/login", data={"login": "", "password": ""}), lang, status=400)
    check(client.post("/portal/login", data={"login": JEAN, "password": "wrong password!"}),
          lang, status=401)
