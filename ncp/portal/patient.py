"""The patient's pages (and their assistant's, acting for them): documents, personal space, who
may see the record, the access log, cross-border consent, closing and reopening the DSP.

Every action is one call of the record service with the session's actor (the patient, or the
helper under their own name); the service applies the policy and writes the access log.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from ncp.auth.service import AuthError, Principal
from ncp.consent.notice import current_version, notice
from ncp.portal.content import MAX_UPLOAD_BYTES, PERSONAL_TYPES, check_upload
from ncp.portal.web import (
    BadForm,
    Current,
    Forbidden,
    PortalRoute,
    authenticator,
    confirm_first,
    form_date,
    language,
    page,
    redirect,
    refuse_oversized,
    require_csrf,
    translator,
)
from ncp.store.access_log_view import WHO, LogFilter, access_log_page
from ncp.store.dispensing_state import dispensing_states
from ncp.store.dsp import Records
from ncp.store.errors import NotFound
from ncp.store.vocabulary import (
    AccessContext,
    AccessRuleKind,
    Confidentiality,
    CrossBorderService,
    DocumentType,
    Outcome,
)

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


def patient_side(request: Request, principal: Current) -> Principal:
    """A patient, or a helper who has chosen whom they act for."""
    if principal.kind == "professional" or principal.patient_id is None:
        raise Forbidden()
    return principal


PatientSide = Annotated[Principal, Depends(patient_side)]


def records(request: Request) -> Records:
    return request.app.state.runtime.records


# --------------------------------------------------------------------------- documents


@router.get("/me")
def my_documents(request: Request, me: PatientSide, type: str = "", since: str = "",
                 until: str = "") -> Response:
    assert me.patient_id is not None
    if type and type not in {t.value for t in DocumentType}:
        raise BadForm("form.unknown_type")
    start, end = form_date(since, "since"), form_date(until, "until")
    if end is not None:
        end += dt.timedelta(days=1)
    docs = records(request).list_documents(me.actor, me.patient_id, doc_type=type or None,
                                           since=start, until=end)
    return page(request, "patient/documents.html", me, docs=docs, types=list(DocumentType),
                filters={"type": type, "since": since, "until": until},
                states=dispensing_states(records(request), docs))


@router.post("/me/documents/{uid}/mask")
async def mask(request: Request, uid: str, me: PatientSide) -> Response:
    form = await require_csrf(request, me)
    records(request).set_masked(me.actor, uid, form.get("masked") == "1")
    return redirect(f"/documents/{uid}", done="saved")


@router.post("/me/documents/{uid}/confidentiality")
async def confidentiality(request: Request, uid: str,
                          me: PatientSide) -> Response:
    form = await require_csrf(request, me)
    value = str(form.get("confidentiality", ""))
    if value not in {c.value for c in Confidentiality}:
        raise BadForm("form.confidentiality")
    records(request).set_confidentiality(me.actor, uid, value)
    return redirect(f"/documents/{uid}", done="saved")


# --------------------------------------------------------------------------- personal space


@router.get("/me/space")
def space(request: Request, me: PatientSide) -> Response:
    assert me.patient_id is not None
    notes = records(request).list_documents(me.actor, me.patient_id,
                                            doc_type=DocumentType.PERSONAL_NOTE)
    return page(request, "patient/space.html", me, notes=notes,
                max_mib=MAX_UPLOAD_BYTES // (1024 * 1024))


@router.post("/me/space")
async def add_note(request: Request, me: PatientSide) -> Response:
    assert me.patient_id is not None
    refuse_oversized(request)
    form = await require_csrf(request, me)
    title = str(form.get("title", "")).strip()
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_UPLOAD_BYTES + 1)
        checked = check_upload(data, upload.content_type, allow=PERSONAL_TYPES)
        media, content = checked.media_type, checked.content
        title = title or upload.filename[:300]
    else:
        text = str(form.get("text", "")).strip()
        if not text:
            raise BadForm("form.note_or_file")
        media, content = "text/plain", text.encode()
    records(request).add_document(me.actor, me.patient_id, doc_type=DocumentType.PERSONAL_NOTE,
                                  title=title or "Note", media_type=media, content=content)
    return redirect("/me/space", done="saved")


@router.post("/me/space/{uid}/remove")
async def remove_note(request: Request, uid: str,
                      me: PatientSide) -> Response:
    form = await require_csrf(request, me)
    t = translator(language(request, me))
    ask = confirm_first(request, me, form, t("confirm.remove_note",
                                             title=str(form.get("title", ""))[:300]),
                        t("confirm.remove_note.yes"), "/me/space")
    if ask is not None:
        return ask
    records(request).remove_personal_document(me.actor, uid)
    return redirect("/me/space", done="removed")


# --------------------------------------------------------------------------- who may see


@router.get("/me/access")
def access(request: Request, me: PatientSide) -> Response:
    assert me.patient_id is not None
    svc = records(request)
    relations = svc.relationships(me.actor, me.patient_id)
    rules = svc.rules(me.actor, me.patient_id)
    by_prof: dict[int, set[str]] = {}
    for prof_id, _name, kind in rules:
        by_prof.setdefault(prof_id, set()).add(kind)
    others = sorted({(pid, name) for pid, name, _ in rules
                     if pid not in {r.professional_id for r in relations}}, key=lambda x: x[1])
    helpers = authenticator(request).store.helpers_of(me.patient_id)
    return page(request, "patient/access.html", me, relations=relations, rules=by_prof,
                others=others, helpers=helpers, kinds=list(AccessRuleKind))


@router.post("/me/access")
async def set_rule(request: Request, me: PatientSide) -> Response:
    assert me.patient_id is not None
    form = await require_csrf(request, me)
    svc = records(request)
    kind = str(form.get("kind", ""))
    if kind not in {k.value for k in AccessRuleKind}:
        raise BadForm("form.unknown_rule")
    prof = str(form.get("professional", "")).strip()
    registry = str(form.get("registry_id", "")).strip()
    if prof.isdigit():
        professional_id = int(prof)
    elif registry:
        try:
            professional_id = svc.professional_id(registry)
        except NotFound:
            raise BadForm("form.no_registry_id") from None
    else:
        raise BadForm("form.choose_professional")
    active = form.get("active", "1") == "1"
    if kind == AccessRuleKind.BLOCK.value and active:
        t = translator(language(request, me))
        ask = confirm_first(request, me, form, t("confirm.block", name=svc.professional_actor(
            professional_id).name or registry), t("confirm.block.yes"), "/me/access")
        if ask is not None:
            return ask
    svc.set_rule(me.actor, me.patient_id, professional_id, kind, active=active)
    return redirect("/me/access", done="saved")


@router.post("/me/relationships/{relationship_id}/end")
async def end_relationship(request: Request, relationship_id: int, me: PatientSide) -> Response:
    """The patient ends a therapeutic relationship at once (the record service refuses one
    that is not theirs, and logs it)."""
    await require_csrf(request, me)
    records(request).end_relationship(me.actor, relationship_id)
    return redirect("/me/access", done="ended")


@router.post("/me/helpers")
async def helpers(request: Request, me: PatientSide) -> Response:
    form = await require_csrf(request, me)
    auth = authenticator(request)
    try:
        if form.get("remove"):
            helper_id = int(str(form["remove"]))
            t = translator(language(request, me))
            names = {hid: f"{name} ({login})" for hid, login, name in
                     auth.store.helpers_of(me.patient_id or 0)}
            ask = confirm_first(request, me, form, t("confirm.remove_helper",
                                                     name=names.get(helper_id, "?")),
                                t("confirm.remove_helper.yes"), "/me/access")
            if ask is not None:
                return ask
            auth.revoke_helper(me, helper_id)
        else:
            auth.name_helper(me, str(form.get("login", "")),
                             str(form.get("delegation", "read")))
    except (AuthError, ValueError):
        raise BadForm("form.helper") from None
    return redirect("/me/access", done="saved")


# --------------------------------------------------------------------------- log, consent, DSP


@router.get("/me/log")
def log(request: Request, me: PatientSide, who: str = "", context: str = "",
        outcome: str = "", since: str = "", until: str = "", own: str = "",
        page_number: Annotated[str, Query(alias="page")] = "1") -> Response:
    """The access log, filtered and paged; the patient's own reads folded unless asked for
    (issue 15 item 16)."""
    assert me.patient_id is not None
    if who not in WHO or (context and context not in {c.value for c in AccessContext}) or \
            (outcome and outcome not in {o.value for o in Outcome}):
        raise BadForm("form.unknown_filter")
    end = form_date(until, "until")
    wanted = LogFilter(who=who, context=context, outcome=outcome,
                       since=form_date(since, "since"),
                       until=end + dt.timedelta(days=1) if end else None, own=own == "1",
                       page=int(page_number) if page_number.isdigit() else 1)
    result = access_log_page(records(request), me.actor, me.patient_id, wanted)
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "lang")]

    def query_page(number: int) -> str:
        return urlencode([*query, ("page", str(number))])

    return page(request, "patient/log.html", me, log=result, who_values=WHO,
                refusals={"blocked by the patient": "log.refusal.blocked",
                          "the DSP is closed": "log.refusal.closed"},
                contexts=[c.value for c in AccessContext], outcomes=[o.value for o in Outcome],
                filters={"who": who, "context": context, "outcome": outcome, "since": since,
                         "until": until, "own": own == "1"},
                query_page=query_page,
                query_own=urlencode([*[(k, v) for k, v in query if k != "own"], ("own", "1")]))


@router.get("/me/sharing")
def sharing(request: Request, me: PatientSide) -> Response:
    assert me.patient_id is not None
    svc = records(request)
    patient = svc.get_patient(me.actor, me.patient_id)
    return page(request, "patient/sharing.html", me, consents=svc.consents(me.patient_id),
                services=list(CrossBorderService), patient=patient,
                notices=svc.consent_notices(me.patient_id), current_notice=current_version())


@router.get("/me/sharing/notice")
def sharing_notice(request: Request, me: PatientSide, service: str = "") -> Response:
    """The Patient Information Notice, read and acknowledged before a consent is given or
    renewed (issue 17 item 8)."""
    if service not in {s.value for s in CrossBorderService}:
        raise BadForm("form.unknown_service")
    version = current_version()
    return page(request, "patient/notice.html", me, service=service, version=version,
                notice=notice(version, language(request, me)))


@router.post("/me/sharing")
async def set_consent(request: Request, me: PatientSide) -> Response:
    assert me.patient_id is not None
    form = await require_csrf(request, me)
    service = str(form.get("service", ""))
    if service not in {s.value for s in CrossBorderService}:
        raise BadForm("form.unknown_service")
    if form.get("consent") == "1":
        version = current_version()
        if form.get("acknowledge") != "1" or form.get("notice_version") != version:
            # not read (or read in a version since replaced): the notice first
            return redirect(f"/me/sharing/notice?service={service}")
        records(request).give_consent(me.actor, me.patient_id, service, channel="portal",
                                      notice_version=version)
    else:
        records(request).withdraw_consent(me.actor, me.patient_id, service)
    return redirect("/me/sharing", done="saved")


@router.post("/me/dsp")
async def dsp_state(request: Request, me: PatientSide) -> Response:
    assert me.patient_id is not None
    form = await require_csrf(request, me)
    reason = str(form.get("reason", ""))[:300]
    if form.get("state") == "closed":
        t = translator(language(request, me))
        ask = confirm_first(request, me, form, t("confirm.close_dsp"),
                            t("confirm.close_dsp.yes"), "/me/sharing")
        if ask is not None:
            return ask
        records(request).close_dsp(me.actor, me.patient_id, reason)
    elif form.get("state") == "open":
        records(request).reopen_dsp(me.actor, me.patient_id, reason)
    else:
        raise BadForm("form.unknown_state")
    return redirect("/me/sharing", done="saved")


# --------------------------------------------------------------------------- assistants


@router.get("/assist")
def assist(request: Request, principal: Current) -> Response:
    if principal.kind == "professional":
        raise Forbidden()
    helped = authenticator(request).store.helped_patients(principal.account.id)
    return page(request, "patient/assist.html", principal, helped=helped)


@router.post("/assist")
async def act_for(request: Request, principal: Current) -> Response:
    if principal.kind == "professional":
        raise Forbidden()
    form = await require_csrf(request, principal)
    value = str(form.get("patient", ""))
    target = int(value) if value.isdigit() else None
    authenticator(request).act_for(principal, target)
    if target is None and principal.account.patient_id is None:
        return redirect("/assist")
    return redirect("/me")
