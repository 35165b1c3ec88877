"""The professional's pages: my patients, a patient's record as the policy allows, uploads, the
patient summary, break-the-glass, API tokens; and the document view shared with patients."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from ncp.auth.service import Principal
from ncp.portal.content import (
    MAX_UPLOAD_BYTES,
    RecordTarget,
    cda_to_html,
    check_upload,
    document_target,
)
from ncp.portal.patient import records
from ncp.portal.web import (
    BadForm,
    Current,
    Forbidden,
    PortalRoute,
    authenticator,
    form_date,
    language,
    page,
    redirect,
    refuse_oversized,
    require_csrf,
    terminology,
    translator,
)
from ncp.store.dispensing_state import dispensing_states
from ncp.store.dsp import Records
from ncp.store.errors import AccessDenied, NotFound
from ncp.store.policy import rights_matrix
from ncp.store.vocabulary import Confidentiality, DocumentType, Profession
from ncp.xmlutil import XmlInputError

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


def professional(principal: Current) -> Principal:
    if principal.kind != "professional":
        raise Forbidden()
    return principal


Pro = Annotated[Principal, Depends(professional)]


def writable_types(principal: Principal) -> list[DocumentType]:
    """Document types this profession may write (from the reviewed rights matrix, for the form;
    the record service decides again on every write)."""
    profession = principal.actor.profession
    matrix = rights_matrix()
    return [t for t in DocumentType
            if profession is not None and matrix.get((Profession(profession), t),
                                                     (False, False))[1]]


@router.get("/pro")
def my_patients(request: Request, me: Pro) -> Response:
    """My patients, and the referring doctor's worklist: the Patient Summaries due."""
    from ncp.store.worklist import referring_worklist

    svc = records(request)
    patients = svc.patients_of(me.actor)
    worklist = referring_worklist(svc, me.actor)
    return page(request, "pro/patients.html", me, patients=patients, worklist=worklist,
                today=svc.clock().date())


@router.post("/pro/patients/{matricule}/relationships")
async def declare_relationship(request: Request, matricule: str, me: Pro) -> Response:
    """A liberal visit (90 days) or an institutional admission (until the discharge and 30
    days after), as professional software declares it through the API."""
    form = await require_csrf(request, me)
    kind = str(form.get("kind", ""))
    if kind not in ("visit", "admission"):
        raise BadForm("form.relationship_kind")
    svc = records(request)
    svc.declare_relationship(me.actor, _patient_ref(svc, matricule), kind)
    return redirect(f"/pro/patients/{matricule}", done="declared")


@router.post("/pro/relationships/{relationship_id}/end")
async def end_relationship(request: Request, relationship_id: int, me: Pro) -> Response:
    """End my relationship: a visit at once, an admission with its discharge period."""
    await require_csrf(request, me)
    records(request).end_relationship(me.actor, relationship_id)
    return redirect("/pro", done="ended")


@router.get("/pro/find")
def find(request: Request, me: Pro, matricule: str = "") -> Response:
    from ncp.store.provisional import is_provisional

    matricule = matricule.strip().replace(" ", "").upper()
    if not ((matricule.isdigit() and len(matricule) == 13) or is_provisional(matricule)):
        raise BadForm("form.matricule")
    return redirect(f"/pro/patients/{matricule}")


@router.get("/pro/visit")
def visit_form(request: Request, me: Pro) -> Response:
    """A DSP opened at a visit, for a person without a matricule (ncp.store.visits)."""
    return page(request, "pro/visit.html", me)


@router.post("/pro/visit")
async def register_visit(request: Request, me: Pro) -> Response:
    from ncp.store.visits import VisitIdentity, register_at_visit

    form = await require_csrf(request, me)
    born = form_date(str(form.get("birth_date", ""))[:10], "birth_date")
    if born is None:
        raise BadForm("form.birth_date_missing")
    identity = VisitIdentity(
        given_name=str(form.get("given_name", ""))[:100],
        family_name=str(form.get("family_name", ""))[:100], birth_date=born.date(),
        gender=str(form.get("gender", ""))[:2], city=str(form.get("city", ""))[:100] or None,
        country=str(form.get("country", "") or "LU")[:2])
    done = register_at_visit(records(request), me.actor, identity)
    return redirect(f"/pro/patients/{done.provisional_id}", done="registered")



def _patient_ref(svc: Records, matricule: str) -> int:
    """The DSP of ``matricule``; unknown is refused as a record one may not access (no oracle)."""
    try:
        return svc.patient_id(matricule)
    except NotFound:
        raise AccessDenied("no DSP for this matricule") from None

@router.get("/pro/patients/{matricule}")
def record(request: Request, matricule: str, me: Pro, type: str = "", since: str = "",
           until: str = "") -> Response:
    svc = records(request)
    if type and type not in {t.value for t in DocumentType}:
        raise BadForm("form.unknown_type")
    try:
        patient = svc.find_patient(me.actor, matricule)
    except (AccessDenied, NotFound):
        # The reason stays in the log; the page offers break-the-glass, which the record
        # service refuses in turn when the patient blocked this professional or closed the DSP.
        # An unknown matricule gets the same page: the portal is no oracle of which exist.
        return page(request, "pro/denied.html", me, status_code=403, matricule=matricule)
    end = form_date(until, "until")
    docs = svc.list_documents(me.actor, patient.id, doc_type=type or None,
                              since=form_date(since, "since"),
                              until=end + dt.timedelta(days=1) if end else None)
    summary = next((d for d in docs if d.doc_type is DocumentType.PATIENT_SUMMARY), None)
    from ncp.store.relationships import own_relationships

    return page(request, "pro/record.html", me, patient=patient, docs=docs,
                relationships=own_relationships(svc, me.actor, patient.id),
                writable=writable_types(me), summary=summary, types=list(DocumentType),
                referring=patient.referring_doctor_id == me.actor.professional_id,
                filters={"type": type, "since": since, "until": until},
                max_mib=MAX_UPLOAD_BYTES // (1024 * 1024),
                states=dispensing_states(svc, docs))


@router.post("/pro/patients/{matricule}/emergency")
async def emergency(request: Request, matricule: str,
                    me: Pro) -> Response:
    form = await require_csrf(request, me)
    from ncp.store.emergency import declare_emergency

    # One answer for an unknown matricule and a refused record, valid form or not.
    declare_emergency(records(request), me.actor, matricule, str(form.get("reason", ""))[:400],
                      str(form.get("reason_code", "other"))[:40])
    return redirect(f"/pro/patients/{matricule}", done="emergency")


@router.post("/pro/patients/{matricule}/documents")
async def upload(request: Request, matricule: str,
                 me: Pro) -> Response:
    refuse_oversized(request)
    form = await require_csrf(request, me)
    svc = records(request)
    patient_id = _patient_ref(svc, matricule)
    doc_type = str(form.get("doc_type", ""))
    if doc_type not in {t.value for t in DocumentType}:
        raise BadForm("form.unknown_type")
    conf = str(form.get("confidentiality", "N"))
    if conf not in {c.value for c in Confidentiality}:
        raise BadForm("form.confidentiality")
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        raise BadForm("form.choose_file")
    supersedes = str(form.get("supersedes", "")).strip() or None
    if supersedes and doc_type == DocumentType.PATIENT_SUMMARY.value \
            and form.get("confirm_replace") != "1":
        # Replacing the summary is what a patient abroad will be read from: say which version
        # goes and require the explicit tick (the page's own form has it; no script needed).
        raise BadForm("form.confirm_replace")
    checked = check_upload(await file.read(MAX_UPLOAD_BYTES + 1), file.content_type,
                           matricule=matricule, doc_type=doc_type,
                           terminology=terminology(request))
    title = str(form.get("title", "")).strip() or checked.title or file.filename[:300]
    svc.add_document(me.actor, patient_id, doc_type=doc_type, title=title,
                     media_type=checked.media_type, content=checked.content,
                     confidentiality=conf, supersedes=supersedes)
    return redirect(f"/pro/patients/{matricule}", done="uploaded")


@router.get("/pro/tokens")
def tokens(request: Request, me: Pro) -> Response:
    live = authenticator(request).store.tokens_of(me.account.id)
    return page(request, "pro/tokens.html", me, tokens=live, new_token=None)


@router.post("/pro/tokens")
async def new_token(request: Request, me: Pro) -> Response:
    form = await require_csrf(request, me)
    auth = authenticator(request)
    if form.get("revoke"):
        revoke = str(form["revoke"])
        if revoke.isdigit():
            auth.store.revoke_token(me.account.id, int(revoke), dt.datetime.now(dt.UTC))
        return redirect("/pro/tokens", done="removed")
    token = auth.issue_token(me.account.id, str(form.get("label", "api"))[:100])
    return page(request, "pro/tokens.html", me, tokens=auth.store.tokens_of(me.account.id),
                new_token=token)


# --------------------------------------------------------------------------- documents


@router.get("/documents/{uid}")
def document(request: Request, uid: str, principal: Current) -> Response:
    if len(uid) > 80:
        raise BadForm("form.not_document_id")
    svc = records(request)
    info, content = svc.read_document(principal.actor, uid)
    patient = svc.identity_of_read(info)
    rendered = None
    mismatch = None
    if info.media_type == "text/xml":
        target = document_target(content)
        if target is None or not target.names(patient.matricule):
            mismatch = target or RecordTarget((), "", "")
        t = translator(language(request, principal))
        try:
            rendered = cda_to_html(content, {k: t(f"cda.{k}") for k in
                                             ("patient", "birth", "author", "date")})
        except XmlInputError:
            rendered = None
    text = content.decode("utf-8", "replace") if info.media_type == "text/plain" else None
    own = principal.kind != "professional" and principal.patient_id == info.patient_id
    return page(request, "document.html", principal, doc=info, rendered=rendered, text=text,
                own=own, confidentialities=list(Confidentiality), patient=patient,
                mismatch=mismatch, states=dispensing_states(svc, [info]))


@router.get("/documents/{uid}/content")
def content(request: Request, uid: str, principal: Current) -> Response:
    """The stored bytes, shown inline (PDF, images) or as a download; read and logged again."""
    if len(uid) > 80:
        raise BadForm("form.not_document_id")
    info, data = records(request).read_document(principal.actor, uid)
    inline = info.media_type in ("application/pdf", "image/png", "image/jpeg", "text/plain")
    extension = {"application/pdf": "pdf", "text/xml": "xml", "image/png": "png",
                 "image/jpeg": "jpg", "text/plain": "txt"}[info.media_type]
    headers = {"Content-Disposition":
               f'{"inline" if inline else "attachment"}; filename="document.{extension}"'}
    if info.media_type != "application/pdf":  # the PDF viewer needs scripts; others never
        headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return Response(data, media_type=info.media_type, headers=headers)
