"""The portal over real HTTPS, through httpx: each patient action proven from the other side.

The server is real (uvicorn, TLS, SQLite); the effect of every action is checked as the other
party sees it (the doctor's page, the record service, the access log), never only by the page
that made the change.
"""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from ncp import demo
from ncp.store.models import AccessLogEntry, AccessRule, Document
from tests.portal.live import Live, csrf

JEAN, MARIA, TOM, LEA, NICOLAS, EMMA = (r.patient.matricule for r in demo.PATIENTS)
GP, CARDIO, PHARMA, NURSE = "lu-hp-100001", "lu-hp-100002", "lu-hp-100003", "lu-hp-100004"

LOAD_TERMINOLOGY = True  # a new summary must transcode to the pivot (issue 15 item 2)
VALID_CDA_HEAD = b"<?xml version='1.0' encoding='UTF-8'?>"


def count(live: Live, model: type) -> int:
    with live.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar() or 0)


def uids(html: str) -> set[str]:
    out = set()
    for part in html.split('data-uid="')[1:]:
        out.add(part.split('"', 1)[0])
    return out


def test_login_needs_password_and_totp_and_is_logged(live: Live) -> None:
    client = live.client()
    assert client.get("/portal/me").headers["location"] == "/portal/login"
    r = client.post("/portal/login", data={"login": JEAN, "password": "wrong password!"})
    assert r.status_code == 401 and 'id="error"' in r.text
    r = client.post("/portal/login", data={"login": JEAN, "password": "dsp-demo-password"})
    assert r.status_code == 303 and r.headers["location"] == "/portal/login/totp"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
    # Half logged in: the record stays closed until the second factor.
    assert client.get("/portal/me").headers["location"] == "/portal/login"
    r = client.post("/portal/login/totp", data={"code": "000000"})
    assert r.status_code == 401
    r = client.post("/portal/login/totp", data={"code": live.next_code(JEAN)})
    assert r.status_code == 303 and r.headers["location"] == "/portal/me"
    page = client.get("/portal/me")
    assert page.status_code == 200 and "Jean Schmit" in page.text
    from ncp.store.accounts import LoginEvent

    with live.engine.connect() as conn:
        outcomes = [tuple(row) for row in conn.execute(
            select(LoginEvent.method, LoginEvent.outcome).where(LoginEvent.login == JEAN)
            .order_by(LoginEvent.id))]
    assert ("password", "failure") in outcomes and ("totp", "failure") in outcomes
    assert outcomes[-1] == ("totp", "success")


def test_forged_or_ended_session_is_refused(live: Live) -> None:
    forged = live.client(cookies={"ncp_session": "forged-token-of-nobody"})
    assert forged.get("/portal/me").headers["location"] == "/portal/login"
    client = live.login(EMMA)
    page = client.get("/portal/me")
    assert page.status_code == 200
    token = client.cookies["ncp_session"]
    r = client.post("/portal/logout", data={"csrf": csrf(page.text)})
    assert r.status_code == 303
    replay = live.client(cookies={"ncp_session": token})
    assert replay.get("/portal/me").headers["location"] == "/portal/login"


def test_form_without_csrf_token_changes_nothing(live: Live) -> None:
    client = live.login(MARIA)
    before = count(live, AccessRule)
    r = client.post("/portal/me/access", data={"registry_id": "LU-HP-100002", "kind": "block",
                                               "active": "1", "csrf": "guessed"})
    assert r.status_code == 403
    assert count(live, AccessRule) == before


def test_block_a_doctor_and_the_doctor_no_longer_sees_the_record(live: Live) -> None:
    doctor = live.login(CARDIO)
    assert doctor.get(f"/portal/pro/patients/{MARIA}").status_code == 200
    assert MARIA in doctor.get("/portal/pro").text
    patient = live.login(MARIA)
    page = patient.get("/portal/me/access")
    assert "Luc Hoffmann" in page.text
    prof_id = live.records.professional_id("LU-HP-100002")
    block = {"professional": str(prof_id), "kind": "block", "active": "1",
             "csrf": csrf(page.text)}
    # First the confirmation step (issue 15 item 17): a question, nothing changed yet.
    ask = patient.post("/portal/me/access", data=block)
    assert ask.status_code == 200 and 'id="confirm-step"' in ask.text and "Luc Hoffmann" in ask.text
    assert doctor.get(f"/portal/pro/patients/{MARIA}").status_code == 200
    r = patient.post("/portal/me/access", data={**block, "confirm": "yes"})
    assert r.status_code == 303
    # The other side: the doctor's page, the doctor's list, break-the-glass all refused.
    denied = doctor.get(f"/portal/pro/patients/{MARIA}")
    assert denied.status_code == 403
    assert MARIA not in doctor.get("/portal/pro").text
    form = csrf(denied.text)
    r = doctor.post(f"/portal/pro/patients/{MARIA}/emergency",
                    data={"reason": "unconscious patient", "csrf": form})
    assert r.status_code == 403
    log = patient.get("/portal/me/log").text
    assert "Luc Hoffmann bloqué(e)" in log  # the stored "block: Luc Hoffmann", in French
    # Unblocking gives the record back.
    page = patient.get("/portal/me/access")
    patient.post("/portal/me/access", data={"professional": str(prof_id), "kind": "block",
                                            "active": "0", "csrf": csrf(page.text)})
    assert doctor.get(f"/portal/pro/patients/{MARIA}").status_code == 200


def test_masked_document_disappears_for_all_but_patient_and_author(live: Live) -> None:
    patient = live.login(TOM)
    docs = patient.get("/portal/me?type=prescription")
    target = sorted(uids(docs.text))[0]
    cardio, gp = live.login(CARDIO), live.login(GP)
    assert target in uids(cardio.get(f"/portal/pro/patients/{TOM}").text)
    view = patient.get(f"/portal/documents/{target}")
    assert view.status_code == 200 and 'id="rendered"' in view.text
    r = patient.post(f"/portal/me/documents/{target}/mask",
                     data={"masked": "1", "csrf": csrf(view.text)})
    assert r.status_code == 303
    assert target not in uids(cardio.get(f"/portal/pro/patients/{TOM}").text)
    assert cardio.get(f"/portal/documents/{target}").status_code == 403
    assert target in uids(gp.get(f"/portal/pro/patients/{TOM}").text)  # the author
    assert gp.get(f"/portal/documents/{target}").status_code == 200
    assert target in uids(patient.get("/portal/me").text)
    # The refused read is in the patient's log, with the doctor's name.
    entries = live.records.access_log(
        __import__("ncp.store.policy", fromlist=["Actor"]).Actor.patient(
            live.records.patient_id(TOM)), live.records.patient_id(TOM))
    assert any(e.outcome == "denied" and e.actor_name == "Luc Hoffmann" for e in entries)


def test_withdrawn_consent_leaves_the_record_service(live: Live) -> None:
    patient = live.login(EMMA)
    pid = live.records.patient_id(EMMA)
    assert "eprescription" in live.records.consents(pid)
    page = patient.get("/portal/me/sharing")
    assert 'data-service="eprescription" data-consent="1"' in page.text
    r = patient.post("/portal/me/sharing", data={"service": "eprescription", "consent": "0",
                                                 "csrf": csrf(page.text)})
    assert r.status_code == 303
    consents = live.records.consents(pid)
    assert "eprescription" not in consents and "patient-summary" in consents
    page = patient.get("/portal/me/sharing")
    patient.post("/portal/me/sharing", data={"service": "eprescription", "consent": "1",
                                             "acknowledge": "1", "notice_version": "v1",
                                             "csrf": csrf(page.text)})
    assert "eprescription" in live.records.consents(pid)


def test_close_and_reopen_the_dsp(live: Live) -> None:
    patient, doctor = live.login(LEA), live.login(GP)
    assert doctor.get(f"/portal/pro/patients/{LEA}").status_code == 200
    page = patient.get("/portal/me/sharing")
    r = patient.post("/portal/me/dsp", data={"state": "closed", "reason": "test",
                                             "csrf": csrf(page.text)})
    assert r.status_code == 200 and 'id="confirm-step"' in r.text  # asked first (item 17)
    assert doctor.get(f"/portal/pro/patients/{LEA}").status_code == 200
    r = patient.post("/portal/me/dsp", data={"state": "closed", "reason": "test",
                                             "csrf": csrf(page.text), "confirm": "yes"})
    assert r.status_code == 303
    assert doctor.get(f"/portal/pro/patients/{LEA}").status_code == 403
    page = patient.get("/portal/me/sharing")
    assert 'data-state="closed"' in page.text
    patient.post("/portal/me/dsp", data={"state": "open", "csrf": csrf(page.text)})
    assert doctor.get(f"/portal/pro/patients/{LEA}").status_code == 200


def test_break_the_glass_is_allowed_flagged_and_shown_to_the_patient(live: Live) -> None:
    nurse = live.login(NURSE)
    denied = nurse.get(f"/portal/pro/patients/{LEA}")
    assert denied.status_code == 403 and 'id="break-glass"' in denied.text
    r = nurse.post(f"/portal/pro/patients/{LEA}/emergency",
                   data={"reason": "x", "csrf": csrf(denied.text)})
    assert r.status_code == 400  # a reason is required
    r = nurse.post(f"/portal/pro/patients/{LEA}/emergency",
                   data={"reason": "found unconscious in the street", "csrf": csrf(denied.text)})
    assert r.status_code == 303
    record = nurse.get(f"/portal/pro/patients/{LEA}")
    assert record.status_code == 200 and uids(record.text)
    log = live.login(LEA).get("/portal/me/log").text
    assert 'class="ctx-emergency' in log and "found unconscious in the street" in log
    assert "Anne Schmit" in log


def test_helper_acts_for_the_patient_under_their_own_name(live: Live) -> None:
    helper = live.login("helper.demo")
    home = helper.get("/portal/me")
    assert home.status_code == 200 and "Anna Schmit" in home.text
    space = helper.get("/portal/me/space")
    r = helper.post("/portal/me/space", data={"title": "Questions pour le Dr Muller",
                                              "text": "Tension le matin ?",
                                              "csrf": csrf(space.text)},
                    files={"file": ("", b"", "application/octet-stream")})
    assert r.status_code == 303
    with live.engine.connect() as conn:
        entry = conn.execute(select(AccessLogEntry).order_by(AccessLogEntry.id.desc())
                             .limit(1)).first()
    assert entry is not None and entry.actor_kind == "helper"
    assert entry.actor_name == "Anna Schmit (aidante)" and entry.action == "write"
    # The helper cannot name further helpers: that stays the patient's.
    r = helper.post("/portal/me/helpers", data={"login": GP, "csrf": csrf(space.text)})
    assert r.status_code == 400
    # The patient sees the note and the helper in the log.
    patient = live.login(JEAN)
    notes = patient.get("/portal/me/space").text
    assert "Questions pour le Dr Muller" in notes
    assert "Anna Schmit (aidante)" in patient.get("/portal/me/log").text


def test_personal_notes_add_and_remove(live: Live) -> None:
    patient = live.login(NICOLAS)
    space = patient.get("/portal/me/space")
    r = patient.post("/portal/me/space", data={"title": "Ma note", "text": "Allergie au chat",
                                               "csrf": csrf(space.text)},
                     files={"file": ("", b"", "application/octet-stream")})
    assert r.status_code == 303
    space = patient.get("/portal/me/space")
    (uid,) = uids(space.text)
    assert "Allergie au chat" in patient.get(f"/portal/documents/{uid}").text
    r = patient.post(f"/portal/me/space/{uid}/remove", data={"csrf": csrf(space.text),
                                                             "title": "Ma note"})
    assert r.status_code == 200 and "Ma note" in r.text  # asked first (item 17)
    assert uid in uids(patient.get("/portal/me/space").text)
    r = patient.post(f"/portal/me/space/{uid}/remove", data={"csrf": csrf(space.text),
                                                             "confirm": "yes"})
    assert r.status_code == 303
    assert uid not in uids(patient.get("/portal/me/space").text)
    assert uid not in uids(patient.get("/portal/me").text)


def test_another_patients_document_is_refused_and_changes_nothing(live: Live) -> None:
    jean = live.login(JEAN)
    target = sorted(uids(jean.get("/portal/me").text))[0]
    other = live.login(LEA)
    page = other.get("/portal/me")
    assert other.get(f"/portal/documents/{target}").status_code == 403
    assert other.get(f"/portal/documents/{target}/content").status_code == 403
    r = other.post(f"/portal/me/documents/{target}/mask",
                   data={"masked": "1", "csrf": csrf(page.text)})
    assert r.status_code == 403
    with live.engine.connect() as conn:
        masked = conn.execute(select(Document.masked).where(Document.unique_id == target)
                              ).scalar()
    assert masked is False
    assert other.get("/portal/documents/2.25.999999").status_code == 404


def _upload(client: httpx.Client, matricule: str, content: bytes, name: str,
            media: str, doc_type: str = "visit-report") -> httpx.Response:
    page = client.get(f"/portal/pro/patients/{matricule}")
    return client.post(f"/portal/pro/patients/{matricule}/documents",
                       data={"doc_type": doc_type, "confidentiality": "N", "title": "",
                             "csrf": csrf(page.text)},
                       files={"file": (name, content, media)})


def test_bad_uploads_get_a_clear_error_and_change_nothing(live: Live) -> None:
    gp = live.login(GP)
    before = count(live, Document)
    r = _upload(gp, JEAN, b"this is not a pdf at all", "report.pdf", "application/pdf")
    assert r.status_code == 400 and "pas un PDF" in r.text
    r = _upload(gp, JEAN, b"<ClinicalDocument xmlns='urn:hl7-org:v3'/>", "visit.xml",
                "text/xml")
    assert r.status_code == 400 and "does not validate" in r.text
    r = _upload(gp, JEAN, b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", "evil.xml", "text/xml")
    assert r.status_code == 400
    r = _upload(gp, JEAN, b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024 + 10) + b"\n%%EOF",
                "big.pdf", "application/pdf")
    assert r.status_code == 413
    pharmacist = live.login(PHARMA)
    r = _upload(pharmacist, JEAN, b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n", "v.pdf",
                "application/pdf")
    assert r.status_code == 403  # a pharmacist may not write a visit report
    assert count(live, Document) == before


def test_a_pdf_upload_is_stored_and_shown_inline(live: Live) -> None:
    gp = live.login(GP)
    pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
    r = _upload(gp, JEAN, pdf, "visit.pdf", "application/pdf")
    assert r.status_code == 303
    record = gp.get(f"/portal/pro/patients/{JEAN}?type=visit-report")
    (uid,) = uids(record.text)
    view = gp.get(f"/portal/documents/{uid}")
    assert 'id="pdf"' in view.text
    content = gp.get(f"/portal/documents/{uid}/content")
    assert content.content == pdf and content.headers["content-type"] == "application/pdf"
    assert content.headers["content-disposition"].startswith("inline")


def test_pages_in_three_languages(live: Live) -> None:
    client = live.client()
    assert "Connexion" in client.get("/portal/login").text  # French by default
    assert "Anmeldung" in client.get("/portal/login?lang=de").text
    assert "Anmeldung" in client.get("/portal/login").text  # remembered in a cookie
    assert "Log in" in client.get("/portal/login?lang=en").text
    headers = client.get("/portal/login").headers
    assert "frame-ancestors 'self'" in headers["content-security-policy"]


def test_professional_card_opens_a_portal_session(live: Live, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cert, key = live.card(tmp_path, "lu-hp-100006")
    client = live.client(verify=live.tls(cert, key))
    r = client.post("/portal/login/card")
    assert r.status_code == 303 and r.headers["location"] == "/portal/pro"
    assert "Claire Thill" in client.get("/portal/pro").text
    stranger_cert, stranger_key = live.card(tmp_path, "lu-hp-100005", register=False)
    refused = live.client(verify=live.tls(stranger_cert, stranger_key)).post(
        "/portal/login/card")
    assert refused.status_code == 401
    assert live.client().post("/portal/login/card").status_code == 401  # no card at all
    # The demo card: matched by its CA and subject serial number, not by its fingerprint.
    cards = live.pki / "lu" / "cards"
    demo_card = live.client(verify=live.tls(cards / "lu-hp-100001.pem",
                                             cards / "lu-hp-100001.key"))
    r = demo_card.post("/portal/login/card")
    assert r.status_code == 303
    assert "Marie Muller" in demo_card.get("/portal/pro").text


def test_repeated_failures_make_the_login_wait(live: Live) -> None:
    client = live.client()
    for _ in range(5):
        r = client.post("/portal/login", data={"login": "lu-hp-100005", "password": "guess!!"})
        assert r.status_code == 401
    r = client.post("/portal/login", data={"login": "lu-hp-100005",
                                           "password": "dsp-demo-password"})
    assert r.status_code == 429 and "chaque nouvel" in r.text
    assert int(r.headers["retry-after"]) >= 1


def test_referring_doctor_updates_the_patient_summary_in_the_portal(live: Live) -> None:
    from ncp.cda.demo import national_documents

    gp = live.login(GP)
    record = gp.get(f"/portal/pro/patients/{EMMA}")
    assert 'id="summary-form"' in record.text
    before = uids(gp.get(f"/portal/pro/patients/{EMMA}?type=patient-summary").text)
    ps = national_documents(demo.PATIENTS[5].patient)[0].content
    marker = 'name="supersedes" value="'
    previous = record.text.split(marker, 1)[1].split('"', 1)[0]
    r = gp.post(f"/portal/pro/patients/{EMMA}/documents",
                data={"doc_type": "patient-summary", "supersedes": previous,
                      "confirm_replace": "1", "csrf": csrf(record.text)},
                files={"file": ("ps.xml", ps, "text/xml")})
    assert r.status_code == 303, r.text
    after = uids(gp.get(f"/portal/pro/patients/{EMMA}?type=patient-summary").text)
    assert len(after) == 1 and after != before
    # The cardiologist has no summary form and may not write one.
    cardio = live.login(CARDIO)
    page = cardio.get(f"/portal/pro/patients/{EMMA}")
    assert 'id="summary-form"' not in page.text
    r = cardio.post(f"/portal/pro/patients/{EMMA}/documents",
                    data={"doc_type": "patient-summary", "csrf": csrf(page.text)},
                    files={"file": ("ps.xml", ps, "text/xml")})
    assert r.status_code == 403


def test_cross_border_accesses_show_country_and_foreign_professional(live: Live) -> None:
    from ncp.store.policy import Actor

    pid = live.records.patient_id(MARIA)
    foreign = Actor.foreign(name="Dr Jan Peeters", organisation="UZ Leuven", country="BE",
                            profession="physician")
    assert live.records.list_documents(foreign, pid, doc_type="patient-summary")
    log = live.login(MARIA).get("/portal/me/log").text
    row = log.split('class="ctx-cross-border', 1)[1].split("</tr>", 1)[0]
    assert "Dr Jan Peeters" in row and "UZ Leuven" in row and ">BE<" in row


def test_a_patient_who_assists_another_switches_between_records(live: Live) -> None:
    jean = live.login(JEAN)
    access = jean.get("/portal/me/access")
    r = jean.post("/portal/me/helpers", data={"login": TOM, "csrf": csrf(access.text)})
    assert r.status_code == 303
    tom = live.login(TOM)
    assert "Tom Wagner" in tom.get("/portal/me").text
    assist = tom.get("/portal/assist")
    assert "Jean Schmit" in assist.text
    jean_id = live.records.patient_id(JEAN)
    r = tom.post("/portal/assist", data={"patient": str(jean_id), "csrf": csrf(assist.text)})
    assert r.status_code == 303
    page = tom.get("/portal/me/sharing")
    assert 'class="acting"' in page.text and "Jean Schmit" in page.text
    # Acting for Jean, Tom's actions are Tom's, as assistant, in Jean's log; consent is not
    # Tom's to withdraw (a reading delegation; issue 14 finding 11): refused and logged.
    before = live.records.consents(jean_id)
    r = tom.post("/portal/me/sharing", data={"service": "eprescription", "consent": "0",
                                             "csrf": csrf(page.text)})
    assert r.status_code == 403
    entries = live.records.access_log(
        __import__("ncp.store.policy", fromlist=["Actor"]).Actor.patient(jean_id), jean_id)
    assert (entries[0].actor_kind, entries[0].actor_name, entries[0].outcome) == \
        ("helper", "Tom Wagner", "denied")
    assert live.records.consents(jean_id) == before
    r = tom.post("/portal/assist", data={"patient": "", "csrf": csrf(page.text)})
    assert 'class="acting"' not in tom.get("/portal/me").text
    # Revoked: the assistant can no longer switch to Jean.
    access = jean.get("/portal/me/access")
    item = access.text.split(f"({TOM})", 1)[1]  # Tom's entry and its revoke form
    helper_id = item.split('name="remove" value="', 1)[1].split('"', 1)[0]
    jean.post("/portal/me/helpers", data={"remove": helper_id, "csrf": csrf(access.text),
                                          "confirm": "yes"})
    assist = tom.get("/portal/assist")
    r = tom.post("/portal/assist", data={"patient": str(jean_id), "csrf": csrf(assist.text)})
    assert r.status_code == 403


def test_markup_in_a_title_is_shown_as_text(live: Live) -> None:
    gp = live.login(GP)
    page = gp.get(f"/portal/pro/patients/{MARIA}")
    r = gp.post(f"/portal/pro/patients/{MARIA}/documents",
                data={"doc_type": "visit-report", "confidentiality": "N",
                      "title": "<script>alert(1)</script>", "csrf": csrf(page.text)},
                files={"file": ("v.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")})
    assert r.status_code == 303
    listing = live.login(MARIA).get("/portal/me").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing and "<script>" not in listing


def test_a_form_posted_from_another_site_is_refused(live: Live) -> None:
    client = live.client(headers={"Origin": "https://evil.example"})
    r = client.post("/portal/login", data={"login": JEAN, "password": "dsp-demo-password"})
    assert r.status_code == 403 and "ncp_session" not in r.headers.get("set-cookie", "")
    null = live.client(headers={"Origin": "null"})
    assert null.post("/portal/login", data={"login": JEAN, "password": "x"}).status_code == 403
