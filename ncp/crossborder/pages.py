"""Pages for our doctors and pharmacists treating foreign visitors (country B), under /portal/xb.

Doctor: choose the visitor's country, enter what its search mask asks for, see the identity
the country matched, confirm the treatment relationship and its purpose, read the Patient
Summary in French, German or English with the original terms beside, open its PDF.
Pharmacist: the same identification, then the visitor's ePrescriptions, one opened, dispensed
whole or partly (substitution only where allowed), the eDispensation sent to the visitor's
country by XDR, the outcome, and a discard within the allowed window.

Login, sessions, CSRF, languages and the base layout are the portal's (:mod:`ncp.portal.web`);
every call abroad is audited by the client.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from ncp.auth.service import Principal
from ncp.crossborder.service import CrossBorder, l1_pdf, read_prescription
from ncp.peers.assertions import Professional
from ncp.peers.client import FoundDocuments
from ncp.peers.error_texts import text_for
from ncp.peers.errors import CrossBorderError
from ncp.peers.ism import IsmError
from ncp.portal import web
from ncp.portal.web import (
    LANGUAGES,
    PREFIX,
    Current,
    Forbidden,
    PortalRoute,
    language,
    redirect,
    require_csrf,
)
from ncp.store.errors import InvalidInput

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
_HERE = Path(__file__).parent
templates = Jinja2Templates(directory=[str(_HERE / "templates"),
                                       str(Path(web.__file__).parent / "templates")])
templates.env.filters.update(web.templates.env.filters)


def translator(lang: str, country: str = web.HOME_COUNTRY) -> Any:
    """The portal's one translator (its catalogue holds these pages' messages too)."""
    return web.translator(lang, country)


def page(request: Request, name: str, principal: Principal, status_code: int = 200,
         **context: Any) -> HTMLResponse:
    lang = language(request, principal)
    response = templates.TemplateResponse(request, name, {
        "t": translator(lang, web.country_of(request)), "lang": lang, "languages": LANGUAGES,
        "me": principal,
        "prefix": PREFIX, "acting_name": "", "done": request.query_params.get("done", ""),
        "lang_links": web.language_links(request), **context}, status_code=status_code)
    web.remember_language(request, principal, lang, response)  # the choice sticks (item 11)
    return response


def service(request: Request) -> CrossBorder:
    """The process's cross-border service, built on first use from the app's runtime."""
    state = request.app.state
    xb = getattr(state, "crossborder", None)
    if xb is None:
        runtime = state.runtime
        xb = CrossBorder(runtime.settings, runtime.engine, keys=runtime.keys)
        state.crossborder = xb
    return xb


def professional(principal: Current) -> Principal:
    if principal.kind != "professional" or principal.actor.professional_id is None:
        raise Forbidden()
    return principal


Pro = Annotated[Principal, Depends(professional)]


def _who(request: Request, me: Principal) -> Professional:
    return service(request).professional(me.actor.professional_id or 0, me.method)


def _is_pharmacist(me: Principal) -> bool:
    return str(me.actor.profession) in ("pharmacist", "Profession.PHARMACIST")


def shown(request: Request, me: Principal, exc: CrossBorderError, *,
          severity: str = "error", element_id: str = "") -> dict[str, Any]:
    """What ``xb/_ehdsi.html`` shows of a partner's answer: the one way of showing eHDSI
    refusals and warnings on every page (issue 15 item 15)."""
    lang = language(request, me)
    return {"severity": severity, "key": exc.key, "id": element_id,
            "message": translator(lang, web.country_of(request))(f"xb.err.{exc.key}"),
            "code": exc.code,
            "code_text": text_for(exc.code, lang) if exc.code else None,
            "peer_error_id": exc.peer_error_id, "country": exc.country}


def _refused(request: Request, me: Principal, exc: CrossBorderError | IsmError,
             back: str, status: int = 409) -> HTMLResponse:
    if isinstance(exc, IsmError):
        e = {"severity": "error", "key": exc.key, "id": "refusal",
             "message": translator(language(request, me))(exc.key)}
        return page(request, "xb/refused.html", me, status_code=400, e=e, back=back)
    return page(request, "xb/refused.html", me, status_code=status, back=back,
                e=shown(request, me, exc, element_id="refusal"))


def _labels(request: Request, me: Principal, mask: Any) -> dict[str, str]:
    """The form label of each mask field in the reader's language: a known ISM label key,
    else the kind of field (and the published label of an identifier)."""
    t = translator(language(request, me))
    out = {}
    for f in mask.fields:
        key = f"ism.{f.label}"
        text = t(key)
        if text == key:
            text = t(f"ism.kind.{f.kind}")
            if f.kind == "id" and f.label:
                text = f"{text} ({f.description or f.label})"
        out[f.name] = text
    return out


def _doc_query(uid: str, repo: str, home: str | None) -> str:
    return urlencode({"uid": uid, "repo": repo, "home": home or ""})


# --------------------------------------------------------------------------- identification


@router.get("/xb")
def countries(request: Request, me: Pro) -> Response:
    xb = service(request)
    return page(request, "xb/countries.html", me, peers=xb.countries(),
                contexts=[c for c in xb.store.contexts_of(me.account.id, xb.clock())
                          if c.purpose])


@router.get("/xb/{country}")
def search_form(request: Request, country: str, me: Pro) -> Response:
    xb = service(request)
    peer = xb.peer(country)
    try:
        mask = xb.mask(peer)
    except CrossBorderError as exc:
        return _refused(request, me, exc, "/xb")
    return page(request, "xb/search.html", me, peer=peer, mask=mask, values={}, error=None,
                labels=_labels(request, me, mask))


@router.post("/xb/{country}/search")
async def search(request: Request, country: str, me: Pro) -> Response:
    form = await require_csrf(request, me)
    xb = service(request)
    peer = xb.peer(country)
    mask = xb.mask(peer)
    values = {f.name: str(form.get(f.name, ""))[:200] for f in mask.fields}
    try:
        matches = xb.identify(_who(request, me), me.account.id, peer.country, values)
    except IsmError as exc:
        return page(request, "xb/search.html", me, status_code=400, peer=peer, mask=mask,
                    values=values, error=exc, labels=_labels(request, me, mask))
    except CrossBorderError as exc:
        return _refused(request, me, exc, f"/xb/{peer.country}")
    return page(request, "xb/matches.html", me, peer=peer, matches=matches,
                pharmacist=_is_pharmacist(me))


@router.post("/xb/c/{token}/confirm")
async def confirm(request: Request, token: str, me: Pro) -> Response:
    form = await require_csrf(request, me)
    if form.get("confirm") != "yes":
        raise InvalidInput("confirm the treatment relationship", key="xb.form.confirm")
    service(request).confirm(_who(request, me), me.account.id, token,
                             str(form.get("purpose", "")))
    return redirect(f"/xb/c/{token}")


# --------------------------------------------------------------------------- the visitor


@router.get("/xb/c/{token}")
def visitor(request: Request, token: str, me: Pro) -> Response:
    xb = service(request)
    ctx = xb.context(me.account.id, token)
    svc = "ep" if _is_pharmacist(me) else "ps"
    warnings: list[dict[str, Any]] = []
    try:
        found = xb.documents(_who(request, me), ctx, svc)
    except CrossBorderError as exc:
        if exc.key not in ("no_prescription", "no_summary"):
            return _refused(request, me, exc, "/xb")
        found = FoundDocuments(())
        warnings.append(shown(request, me, exc, severity="warning"))
    items = []
    for entry in found.structured():
        pdf = found.rendition_of(entry)
        items.append({"entry": entry, "query": _doc_query(entry.unique_id,
                                                          entry.repository_unique_id or "",
                                                          entry.home_community_id),
                      "pdf": _doc_query(pdf.unique_id, pdf.repository_unique_id or "",
                                        pdf.home_community_id) if pdf else None})
    dispensations = xb.dispensations(me.account.id, ctx) if svc == "ep" else []
    return page(request, "xb/visitor.html", me, ctx=ctx, service=svc, items=items,
                # errors a peer reported *with* its documents are shown too (never dropped)
                warnings=warnings + [shown(request, me, w, severity="warning")
                                     for w in found.warnings + found.errors],
                dispensations=dispensations,
                can_discard=xb.can_discard)


@router.get("/xb/c/{token}/summary")
def summary(request: Request, token: str, me: Pro, uid: str, repo: str,
            home: str = "") -> Response:
    """The document rendered in the reader's language, with the original terms beside, inside
    the portal's shell (user, logout, languages, the visitor's banner; issue 15 item 10)."""
    xb = service(request)
    ctx = xb.context(me.account.id, token)
    svc = "ep" if _is_pharmacist(me) else "ps"
    try:
        doc = xb.retrieve(_who(request, me), ctx, unique_id=uid, repository=repo,
                          home=home or None, service=svc)
    except CrossBorderError as exc:
        return _refused(request, me, exc, f"/xb/c/{token}")
    rendered = _rendered(request, doc.document, language(request, me))
    return page(request, "xb/summary.html", me, ctx=ctx, rendered=rendered,
                query=_doc_query(uid, repo, home or None),
                title=translator(language(request, me))(f"xb.docs.{svc}"))


def _terminology(request: Request) -> Any:
    """The process's terminology (designations in fr/de/en), built on first use."""
    from ncp.terminology.service import DbTerminology

    state = request.app.state
    terminology = getattr(state, "xb_terminology", None)
    if terminology is None:
        terminology = state.xb_terminology = DbTerminology(service(request).sessions)
    return terminology


def _rendered(request: Request, document: bytes, lang: str) -> Any:
    """The pivot document as a fragment of a portal page (:func:`render_fragment`)."""
    from ncp.rendering.html import render_fragment

    return render_fragment(document, lang=lang, terminology=_terminology(request))


@router.get("/xb/c/{token}/pdf")
def pdf(request: Request, token: str, me: Pro, uid: str, repo: str,
        home: str = "") -> Response:
    """The PDF of a document: the country's level 1 rendition when asked for, else ours."""
    from ncp.rendering.pdf import render_pdf

    xb = service(request)
    ctx = xb.context(me.account.id, token)
    svc = "ep" if _is_pharmacist(me) else "ps"
    try:
        doc = xb.retrieve(_who(request, me), ctx, unique_id=uid, repository=repo,
                          home=home or None, service=svc)
    except CrossBorderError as exc:
        return _refused(request, me, exc, f"/xb/c/{token}")
    data = l1_pdf(doc.document) or (doc.document if doc.document.startswith(b"%PDF") else None)
    if data is None:
        data = render_pdf(doc.document, lang=language(request, me))
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": 'inline; filename="document.pdf"',
                             "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


# --------------------------------------------------------------------------- dispensing


@router.get("/xb/c/{token}/prescription")
def prescription(request: Request, token: str, me: Pro, uid: str, repo: str,
                 home: str = "") -> Response:
    if not _is_pharmacist(me):
        raise Forbidden()
    xb = service(request)
    ctx = xb.context(me.account.id, token)
    try:
        doc = xb.retrieve(_who(request, me), ctx, unique_id=uid, repository=repo,
                          home=home or None, service="ep")
        p = read_prescription(doc.document)
    except CrossBorderError as exc:
        return _refused(request, me, exc, f"/xb/c/{token}")
    lang = language(request, me)
    return page(request, "xb/prescription.html", me, ctx=ctx, p=p, uid=uid, repo=repo,
                home=home, query=_doc_query(uid, repo, home or None),
                counter=counter(xb, me.account.id, ctx, p),
                facts=_facts(request, doc.document, lang),
                rendered=_rendered(request, doc.document, lang))


#: What the counter shows of the prescription beside the form: prescriber, organisation and
#: date (header); substances, strength, form, dose, frequency, route, the prescriber's words,
#: the period (the item).
COUNTER_HEADER = ("7", "47", "20")
COUNTER_ENTRY = ("1", "70", "25", "78", "32", "67", "dosage_text", "patient_instructions",
                 "dispenser_instructions", "85", "18")


def _facts(request: Request, document: bytes, lang: str) -> list[Any]:
    from ncp.rendering.html import render_facts

    return render_facts(document, lang=lang, terminology=_terminology(request),
                        header=COUNTER_HEADER, entry=COUNTER_ENTRY)


def counter(xb: CrossBorder, account_id: int, ctx: Any, p: Any) -> dict[str, Any]:
    """Prescribed / dispensed / remaining and the history of one prescription at this counter
    (issue 15 items 3-4): a discarded or refused eDispensation no longer counts, and the form
    defaults to and is capped at what remains. What other pharmacies dispensed is known only to
    the patient's country, which refuses an excess in turn (its 5007 is then shown)."""
    history = [d for d in xb.dispensations(account_id, ctx)
               if d.prescription_id == p.document_id]
    dispensed = sum(d.packages for d in history if d.status == "sent")
    now = xb.clock()
    return {"prescribed": p.packages, "dispensed": dispensed,
            "remaining": max(p.packages - dispensed, 0),
            "history": [{"d": d, "can_discard": xb.can_discard(d),
                         "window_left": max(xb.discard_window - (now - d.sent_at),
                                            dt.timedelta(0))} for d in history]}


@router.post("/xb/c/{token}/dispense")
async def dispense(request: Request, token: str, me: Pro) -> Response:
    if not _is_pharmacist(me):
        raise Forbidden()
    form = await require_csrf(request, me)
    xb = service(request)
    ctx = xb.context(me.account.id, token)
    try:
        packages = int(str(form.get("packages", "0")))
    except ValueError:
        raise InvalidInput("the number of packages is a whole number",
                           key="xb.form.whole_number") from None
    if form.get("confirm") != "yes":  # the page's required tick: no script needed
        raise InvalidInput("tick the confirmation before dispensing",
                           key="xb.form.confirm_dispense")
    try:
        sent = xb.dispense(_who(request, me), me.account.id, ctx,
                           unique_id=str(form.get("uid", "")), repository=str(form.get("repo", "")),
                           home=str(form.get("home", "")) or None, packages=packages,
                           substitute=form.get("substitute") == "yes")
    except CrossBorderError as exc:
        return _refused(request, me, exc, f"/xb/c/{token}")
    return page(request, "xb/dispensed.html", me, ctx=ctx, d=sent, discarded=False)


@router.post("/xb/c/{token}/dispensations/{dispensation_id}/discard")
async def discard(request: Request, token: str, dispensation_id: int, me: Pro) -> Response:
    if not _is_pharmacist(me):
        raise Forbidden()
    form = await require_csrf(request, me)
    if form.get("confirm") != "yes":
        raise InvalidInput("tick the confirmation before cancelling the dispensation",
                           key="xb.form.confirm_discard")
    xb = service(request)
    ctx = xb.context(me.account.id, token)
    try:
        d = xb.discard(_who(request, me), me.account.id, ctx, dispensation_id)
    except CrossBorderError as exc:
        return _refused(request, me, exc, f"/xb/c/{token}")
    return page(request, "xb/dispensed.html", me, ctx=ctx, d=d, discarded=True)
