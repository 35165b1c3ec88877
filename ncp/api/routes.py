"""The DSP's JSON API for professional software: the professional's operations of the portal.

Authentication: a bearer token (created by the professional in the portal) or the mutual TLS
client certificate of their professional card. Each route is one call of the record service,
which applies the access policy and writes the access log; errors are RFC 9457 problems.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from ncp.api.problems import PROBLEM_RESPONSES, ProblemRoute
from ncp.auth.service import AuthError, Principal
from ncp.portal.content import MAX_UPLOAD_BYTES, check_upload
from ncp.portal.web import authenticator, client_address, terminology
from ncp.server import client_cert_pem
from ncp.store.documents import DocumentInfo
from ncp.store.dsp import Records
from ncp.store.errors import AccessDenied, NotFound
from ncp.store.identity import PatientInfo
from ncp.store.policy import Actor
from ncp.store.vocabulary import Confidentiality, DocumentType, EmergencyReason

#: Slack over the exact base64 size, so that a slightly oversized file is answered by the
#: decoded-size check (413) rather than by schema validation.
MAX_BASE64_CHARS = (MAX_UPLOAD_BYTES // 3 + 1) * 4 + 64 * 1024
router = APIRouter(prefix="/api/v1", route_class=ProblemRoute, responses=PROBLEM_RESPONSES)
bearer = HTTPBearer(auto_error=False, description="A token created in the portal "
                    "(Professional > API tokens); alternatively present the professional "
                    "card's certificate in the TLS handshake.")

Matricule = Annotated[str, Path(pattern=r"^([0-9]{13}|P[0-9]{12})$",
                                description="The patient's matricule, or the provisional "
                                "identifier of a DSP opened at a visit (P and 12 digits)",
                                examples=["1956031212359"])]
DocumentId = Annotated[str, Path(min_length=1, max_length=80, pattern=r"^[0-9.]+$",
                                 description="The document's unique id (an OID)")]


def professional(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The calling professional, from the bearer token or the TLS client certificate.

    A card is an ambient credential: the browser presents it to any page that asks, so a
    cross-site ``<img src=/api/v1/documents/...>`` would make logged reads in the doctor's
    name. Card-authenticated calls must therefore come from our own origin or from software
    (no ``Origin``, no ``Sec-Fetch-Site``); a bearer token is never sent by a browser on its own.
    """
    if credentials is None:
        require_same_origin(request)
    return authenticator(request).api_principal(
        bearer=credentials.credentials if credentials else None,
        pem=client_cert_pem(request.scope), client=client_address(request))


Caller = Annotated[Principal, Depends(professional)]

#: ``Sec-Fetch-Site`` values of a request a page of another site cannot have caused.
SAME_SITE_FETCH = frozenset({"same-origin", "none"})


def require_same_origin(request: Request) -> None:
    """Refuse a browser request that another site made (Fetch Metadata, then ``Origin``)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() not in SAME_SITE_FETCH:
        raise AuthError("cross-site", f"Sec-Fetch-Site: {fetch_site[:40]}")
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise AuthError("cross-site", "Origin is not this site")


def records(request: Request) -> Records:
    return request.app.state.runtime.records


def patient_ref(svc: Records, matricule: str) -> int:
    """The DSP of ``matricule``; an unknown one is answered exactly as a record the caller may
    not access (403 access-denied), so the API is no oracle of which matricules exist."""
    try:
        return svc.patient_id(matricule)
    except NotFound:
        raise AccessDenied("no DSP for this matricule") from None


def identify(svc: Records, actor: Actor, matricule: str) -> PatientInfo:
    """:meth:`Records.find_patient` (logged as a search), unknown answered as denied."""
    try:
        return svc.find_patient(actor, matricule)
    except NotFound:
        raise AccessDenied("no DSP for this matricule") from None


class Me(BaseModel):
    name: str | None
    profession: str | None
    #: The main place of practice (named on what the professional writes).
    organisation: str | None
    #: Every place of practice the national registry lists, the main one first.
    organisations: list[str] = []
    authenticated_by: str


class PatientOut(BaseModel):
    matricule: str
    given_name: str
    family_name: str
    birth_date: dt.date
    gender: str
    city: str | None
    dsp_state: str

    @classmethod
    def of(cls, p: PatientInfo) -> PatientOut:
        return cls(matricule=p.matricule, given_name=p.given_name, family_name=p.family_name,
                   birth_date=p.birth_date, gender=p.gender, city=p.city, dsp_state=p.dsp_state)


class DocumentOut(BaseModel):
    unique_id: str
    doc_type: DocumentType
    title: str
    media_type: str
    author: str | None
    organisation: str | None
    created_at: dt.datetime
    confidentiality: Confidentiality
    version: int
    size: int

    @classmethod
    def of(cls, d: DocumentInfo) -> DocumentOut:
        return cls(unique_id=d.unique_id, doc_type=d.doc_type, title=d.title,
                   media_type=d.media_type, author=d.author_name, organisation=d.organisation,
                   created_at=d.created_at, confidentiality=d.confidentiality,
                   version=d.version, size=d.content_size)


class DocumentIn(BaseModel):
    doc_type: DocumentType
    title: str = Field(min_length=1, max_length=300)
    content_base64: str = Field(min_length=4, max_length=MAX_BASE64_CHARS,
                                description="The CDA (XML) or PDF document, base64 (at most "
                                f"{MAX_UPLOAD_BYTES} bytes once decoded)")
    confidentiality: Confidentiality = Confidentiality.NORMAL
    supersedes: str | None = Field(None, max_length=80,
                                   description="Unique id of the version this one replaces")


class WorklistItemOut(BaseModel):
    patient: PatientOut
    task: Literal["first-summary", "summary-update"] = Field(
        description="first-summary: no Patient Summary yet (due three months after the "
        "referring-doctor declaration); summary-update: the summary is a year old")
    due: dt.date
    overdue: bool
    declared_at: dt.datetime | None
    summary_at: dt.datetime | None


class RelationshipIn(BaseModel):
    kind: Literal["visit", "admission"] = Field(
        description="visit: a liberal consultation (the record is open to you for 90 days); "
        "admission: an institutional stay (open until the discharge, and 30 days after)")


class RelationshipOut(BaseModel):
    id: int
    kind: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None


class EndedOut(BaseModel):
    valid_to: dt.datetime


class VisitRegistrationIn(BaseModel):
    """The identity a person without a matricule gives at the visit."""

    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    birth_date: dt.date
    gender: Literal["M", "F", "UN"] = Field(description="HL7 administrative gender")
    street: str | None = Field(None, max_length=200)
    postal_code: str | None = Field(None, max_length=16)
    city: str | None = Field(None, max_length=100)
    country: str = Field("LU", min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$",
                         description="ISO 3166 alpha-2 country of residence")
    preferred_language: Literal["fr", "de", "en", "lb", "pt"] = "fr"


class VisitRegistrationOut(BaseModel):
    provisional_id: str = Field(description="The DSP's identifier until the person has a "
                                "matricule: P and 12 digits")
    root: str = Field(description="Its assigning authority (never the matricule's)")
    patient: PatientOut
    relationship: RelationshipOut


class EmergencyIn(BaseModel):
    reason_code: EmergencyReason = Field(description="Why, as a code the data protection "
                                         "officer counts")
    reason: str = Field(min_length=5, max_length=400, description="Why, in words")


class EmergencyOut(BaseModel):
    expires_at: dt.datetime


def _day(value: dt.date | None, extra: int = 0) -> dt.datetime | None:
    if value is None:
        return None
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC) + \
        dt.timedelta(days=extra)


@router.get("/me", response_model=Me, tags=["professional"])
def me(request: Request, caller: Caller) -> Me:
    """Who the API sees calling."""
    places = records(request).places_of(caller.actor.professional_id) \
        if caller.actor.professional_id is not None else []
    return Me(name=caller.actor.name, profession=caller.actor.profession.value
              if caller.actor.profession else None, organisation=caller.actor.organisation,
              organisations=places, authenticated_by=caller.method)


@router.get("/patients", response_model=list[PatientOut], tags=["patients"])
def my_patients(request: Request, caller: Caller) -> list[PatientOut]:
    """My patients: current therapeutic relationships and grants, without blocks."""
    return [PatientOut.of(p) for p in records(request).patients_of(caller.actor)]


@router.get("/worklist", response_model=list[WorklistItemOut], tags=["professional"])
def worklist(request: Request, caller: Caller) -> list[WorklistItemOut]:
    """The referring doctor's worklist: Patient Summaries due now or within 30 days."""
    from ncp.store.worklist import referring_worklist

    recs = records(request)
    today = recs.clock().date()
    return [WorklistItemOut(patient=PatientOut.of(i.patient), task=i.task, due=i.due,
                            overdue=i.overdue(today), declared_at=i.declared_at,
                            summary_at=i.summary_at)
            for i in referring_worklist(recs, caller.actor)]


@router.post("/patients", response_model=VisitRegistrationOut, status_code=201,
             tags=["patients"])
def register_at_visit(request: Request, body: VisitRegistrationIn,
                      caller: Caller) -> VisitRegistrationOut:
    """Open a DSP at a visit for a person without a matricule: it gets a provisional
    identifier, and you the visit's relationship with it (90 days). Physicians, dentists,
    midwives and nurses; in the new record's access log."""
    from ncp.ihe.oids import LU_PROVISIONAL_ID
    from ncp.store.visits import VisitIdentity
    from ncp.store.visits import register_at_visit as register

    svc = records(request)
    done = register(svc, caller.actor, VisitIdentity(**body.model_dump()))
    info = svc.get_patient(caller.actor, done.patient_id)
    return VisitRegistrationOut(
        provisional_id=done.provisional_id, root=LU_PROVISIONAL_ID.value,
        patient=PatientOut.of(info),
        relationship=RelationshipOut(id=done.relationship_id, kind="visit",
                                     valid_from=done.visit_from, valid_to=done.visit_until))


@router.post("/patients/{matricule}/relationships", response_model=RelationshipOut,
             status_code=201, tags=["patients"])
def declare_relationship(request: Request, matricule: Matricule, body: RelationshipIn,
                         caller: Caller) -> RelationshipOut:
    """Declare the therapeutic relationship of a visit or an admission (in the patient's
    access log; refused when the patient blocked you or closed their DSP)."""
    svc = records(request)
    found = svc.declare_relationship(caller.actor, patient_ref(svc, matricule), body.kind)
    return RelationshipOut(id=found.id, kind=found.source, valid_from=found.valid_from,
                           valid_to=found.valid_to)


@router.post("/relationships/{relationship_id}/end", response_model=EndedOut,
             tags=["patients"])
def end_relationship(request: Request, relationship_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
                     caller: Caller) -> EndedOut:
    """End your relationship: a visit at once, an admission with its discharge period."""
    return EndedOut(valid_to=records(request).end_relationship(caller.actor, relationship_id))


@router.get("/patients/{matricule}", response_model=PatientOut, tags=["patients"])
def patient(request: Request, matricule: Matricule, caller: Caller) -> PatientOut:
    """Identify a patient (logged as a search in their access log)."""
    return PatientOut.of(identify(records(request), caller.actor, matricule))


@router.get("/patients/{matricule}/documents", response_model=list[DocumentOut],
            tags=["documents"])
def documents(
    request: Request, matricule: Matricule, caller: Caller,
    type: Annotated[DocumentType | None, Query(description="Only documents of this type")]
    = None,
    since: Annotated[dt.date | None, Query(description="Created on or after this day (UTC)")]
    = None,
    until: Annotated[dt.date | None, Query(description="Created on or before this day (UTC)")]
    = None,
) -> list[DocumentOut]:
    """The patient's current documents the access policy lets the caller see."""
    svc = records(request)
    found = identify(svc, caller.actor, matricule)
    docs = svc.list_documents(caller.actor, found.id, doc_type=type, since=_day(since),
                              until=_day(until, 1))
    return [DocumentOut.of(d) for d in docs]


@router.post("/patients/{matricule}/documents", response_model=DocumentOut, status_code=201,
             tags=["documents"])
def add_document(request: Request, matricule: Matricule, body: DocumentIn,
                 caller: Caller) -> DocumentOut:
    """Add a CDA or PDF document (or a new version of one) to the patient's record."""
    try:
        raw = base64.b64decode(body.content_base64, validate=True)
    except (binascii.Error, ValueError):
        from ncp.portal.content import UploadRejected

        raise UploadRejected("unsupported", "content_base64 is not valid base64") from None
    # The CDA must name this record's patient; a summary must be a national PS CDA (issue 15).
    svc = records(request)
    patient_id = patient_ref(svc, matricule)
    checked = check_upload(raw, matricule=matricule, doc_type=DocumentType(body.doc_type).value,
                           terminology=terminology(request))
    info = svc.add_document(caller.actor, patient_id, doc_type=body.doc_type, title=body.title,
                            media_type=checked.media_type, content=checked.content,
                            confidentiality=body.confidentiality, supersedes=body.supersedes)
    return DocumentOut.of(info)


@router.post("/patients/{matricule}/emergency", response_model=EmergencyOut, tags=["patients"])
def emergency(request: Request, matricule: Matricule, body: EmergencyIn,
              caller: Caller) -> EmergencyOut:
    """Break the glass: open the record for 12 hours, flagged, notified to the patient and
    alerted to the data protection officer; at most 3 per professional in 24 hours."""
    from ncp.store.emergency import declare_emergency

    # The input first, then the patient: an unknown matricule is answered (and logged) as a
    # record one may not open, whatever the body (ncp/store/emergency.py).
    expires = declare_emergency(records(request), caller.actor, matricule, body.reason,
                                body.reason_code)
    return EmergencyOut(expires_at=expires)


@router.get("/documents/{unique_id}", response_model=DocumentOut, tags=["documents"])
def document(request: Request, unique_id: DocumentId, caller: Caller) -> DocumentOut:
    """One document's metadata (the read is logged)."""
    info, _ = records(request).read_document(caller.actor, unique_id)
    return DocumentOut.of(info)


CONTENT_TYPES = ("text/xml", "application/pdf", "text/plain", "image/png", "image/jpeg")
EXTENSIONS = {"application/pdf": "pdf", "text/xml": "xml", "image/png": "png",
              "image/jpeg": "jpg", "text/plain": "txt"}


@router.get("/documents/{unique_id}/content", tags=["documents"], response_class=Response,
            responses={200: {"description": "The stored document",
                             "content": {m: {"schema": {"type": "string", "format": "binary"}}
                                         for m in CONTENT_TYPES}}})
def content(request: Request, unique_id: DocumentId, caller: Caller) -> Response:
    """The document's content as stored (decrypted; the read is logged), as a download.

    Always an attachment under a sandbox CSP: stored XML opened by a browser in our origin
    could otherwise run a stylesheet or script with the caller's credentials.
    """
    info, data = records(request).read_document(caller.actor, unique_id)
    extension = EXTENSIONS.get(info.media_type, "bin")
    return Response(data, media_type=info.media_type, headers={
        "Content-Disposition": f'attachment; filename="document.{extension}"',
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})
