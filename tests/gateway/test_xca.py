"""XCA query (ITI-38) and retrieve (ITI-39): consent per service, policy-filtered metadata,
ePrescription metadata, pivot documents (cached), per-document errors."""

from __future__ import annotations

from ncp.cda.kinds import DocumentKind, detect_kind
from ncp.ihe.codes import ClassCode, ResponseStatus
from ncp.ihe.registry import ITI_38, ITI_39
from ncp.ihe.schemas import validate_body
from ncp.ihe.xca import query, retrieve
from ncp.store.pivot_cache import PivotCacheEntry
from ncp.store.vocabulary import DocumentType
from ncp.xmlutil import parse_xml
from tests.gateway.conftest import GatewayEnv, patient
from tests.gateway.peer import REPOSITORY, read_answer


def ask(env: GatewayEnv, sent) -> query.QueryResponse:  # type: ignore[no-untyped-def]
    r = env.post("xca", sent)
    assert r.status == 200, r.body[:800]
    msg = read_answer(r.body, r.content_type, env.trust)
    validate_body(msg.body_element, ITI_38, "response")
    return query.parse_response(msg.body_element)


def fetch(env: GatewayEnv, sent) -> tuple[retrieve.RetrieveResponse, object]:  # type: ignore[no-untyped-def]
    r = env.post("xca", sent)
    assert r.status == 200, r.body[:800]
    msg = read_answer(r.body, r.content_type, env.trust)
    validate_body(msg.reconstituted_body_element(), ITI_39, "response")
    return retrieve.parse_response(msg.body_element, msg.attachments), r


def test_ps_query_lists_the_patient_summary(env: GatewayEnv) -> None:
    pid = patient(0)
    res = ask(env, env.be.query(pid))
    assert res.status is ResponseStatus.SUCCESS and not res.errors
    entry, rendition = res.entries
    assert rendition.format_code.code == "urn:ihe:iti:xds-sd:pdf:2008"
    assert rendition.unique_id == entry.unique_id + ".1"
    (xfrm,) = res.associations
    assert xfrm.association_type == "urn:ihe:iti:2007:AssociationType:XFRM"
    assert (xfrm.source, xfrm.target) == (rendition.entry_uuid, entry.entry_uuid)
    assert entry.class_code.code == "60591-5"
    assert entry.format_code.code == "urn:epSOS:ps:ps:2010"
    assert entry.patient_id == pid and entry.home_community_id == "urn:oid:1.3.182.2.4.1"
    assert entry.repository_unique_id == REPOSITORY
    assert entry.confidentiality_codes[0].code == "N"
    assert entry.size is None  # not transcoded yet: no size/hash before the first retrieve


def test_ep_query_lists_each_dispensable_prescription_with_metadata(env: GatewayEnv) -> None:
    pid = patient(0)
    res = ask(env, env.be.query(pid, ClassCode.EPRESCRIPTION))
    assert res.status is ResponseStatus.SUCCESS and res.entries
    for entry in res.entries:
        meta = entry.eprescription
        assert entry.format_code.code == "urn:epsos:ep:pre:2010"
        assert meta is not None and meta.dispensable is True
        assert meta.atc is not None and meta.atc.scheme == "2.16.840.1.113883.6.73"
        assert meta.dose_form is not None and meta.dose_form.scheme == "0.4.0.127.0.16.1.1.2.1"
        assert meta.strength and meta.substitution is not None
    n_ep = len(env.records.list_documents(
        env.records.professional_actor(env.records.professional_id("LU-HP-100001")),
        env.patient_db_id(0), doc_type=DocumentType.PRESCRIPTION))
    assert len(res.entries) == n_ep


def test_orcd_query_lists_the_shared_pdfs_only(env: GatewayEnv) -> None:
    pid = patient(0)
    res = ask(env, env.be.query(pid, ClassCode.ORCD_LABORATORY_RESULTS))
    (entry,) = res.entries
    assert entry.mime_type == "application/pdf"
    assert entry.format_code.code == "urn:eHDSI:orcd:pdf:2021"
    masked = ask(env, env.be.query(pid, ClassCode.ORCD_IMAGING_REPORT))
    assert not masked.entries  # the masked imaging report is never listed
    assert masked.errors[0].error_code == "1104" and masked.status is ResponseStatus.SUCCESS


def test_consent_is_per_service(env: GatewayEnv) -> None:
    pid = patient(2)  # Tom Wagner: PS consent only
    assert ask(env, env.be.query(pid)).entries
    res = ask(env, env.be.query(pid, ClassCode.EPRESCRIPTION))
    assert res.status is ResponseStatus.FAILURE and not res.entries
    assert res.errors[0].error_code == "4701"
    for n in (3, 4):  # no consent; closed DSP
        res = ask(env, env.be.query(patient(n)))
        assert res.status is ResponseStatus.FAILURE and not res.entries
        assert res.errors[0].error_code == "4701"


def test_no_patient_summary_is_warning_1102(env: GatewayEnv) -> None:
    pid = patient(5)
    with env.records._sessions() as s, s.begin():
        from sqlalchemy import update

        from ncp.store.models import Document

        s.execute(update(Document).where(Document.patient_id == env.patient_db_id(5),
                                         Document.doc_type == "patient-summary")
                  .values(is_current=False))
    res = ask(env, env.be.query(pid))
    assert res.status is ResponseStatus.SUCCESS and not res.entries
    assert res.errors[0].error_code == "1102"
    assert res.errors[0].severity.name == "WARNING"


def test_query_for_another_patient_than_the_trc_is_refused(env: GatewayEnv) -> None:
    res = ask(env, env.be.query(patient(0), trc_patient=patient(1).cx))
    assert res.status is ResponseStatus.FAILURE and not res.entries
    assert res.errors[0].error_code == "4206"


def test_retrieve_ps_returns_the_pivot_as_mtom_and_caches_it(any_env: GatewayEnv) -> None:
    env = any_env
    pid = patient(0)
    entry = ask(env, env.be.query(pid)).entries[0]
    res, raw = fetch(env, env.be.retrieve(pid, [entry.unique_id]))
    assert raw.content_type.startswith("multipart/related")
    assert res.status is ResponseStatus.SUCCESS
    (doc,) = res.documents
    assert doc.mime_type == "text/xml" and doc.home_community_id == "urn:oid:1.3.182.2.4.1"
    root = parse_xml(doc.document)
    assert detect_kind(root) is DocumentKind.PATIENT_SUMMARY
    assert root.find("{urn:hl7-org:v3}relatedDocument").get("typeCode") == "XFRM"
    assert env.count(PivotCacheEntry) == 1
    from ncp.store.models import AuditMessage

    with env.records._sessions() as s:
        events = [r.event_code for r in s.query(AuditMessage).order_by(AuditMessage.id)]
    assert events[-2:] == ["EHDSI-22", "EHDSI-94"]  # retrieve, and the transcoding
    again, _ = fetch(env, env.be.retrieve(pid, [entry.unique_id]))
    assert again.documents[0].document == doc.document
    assert env.count(PivotCacheEntry) == 1
    with env.records._sessions() as s:
        events = [r.event_code for r in s.query(AuditMessage).order_by(AuditMessage.id)]
    assert events[-1] == "EHDSI-22"  # from the cache: no transcoding, no EHDSI-94
    # the query now carries size and hash of the pivot
    listed = ask(env, env.be.query(pid)).entries[0]
    import hashlib

    assert listed.size == len(doc.document)
    assert listed.hash == hashlib.sha1(doc.document).hexdigest()  # noqa: S324


def test_retrieve_the_level1_rendition(env: GatewayEnv) -> None:
    import base64

    pid = patient(0)
    rendition = ask(env, env.be.query(pid)).entries[1]
    res, _ = fetch(env, env.be.retrieve(pid, [rendition.unique_id]))
    (doc,) = res.documents
    root = parse_xml(doc.document)
    assert detect_kind(root) is DocumentKind.PATIENT_SUMMARY_L1
    text = root.find("{urn:hl7-org:v3}component/{urn:hl7-org:v3}nonXMLBody/{urn:hl7-org:v3}text")
    assert text.get("mediaType") == "application/pdf"
    assert base64.b64decode(text.text).startswith(b"%PDF-")
    again, _ = fetch(env, env.be.retrieve(pid, [rendition.unique_id]))
    assert again.documents[0].document == doc.document  # from the cache
    assert env.count(PivotCacheEntry) == 2  # the pivot and its rendition


def test_retrieve_ep_and_orcd(env: GatewayEnv) -> None:
    pid = patient(0)
    ep = ask(env, env.be.query(pid, ClassCode.EPRESCRIPTION)).entries[0]
    lab = ask(env, env.be.query(pid, ClassCode.ORCD_LABORATORY_RESULTS)).entries[0]
    res, _ = fetch(env, env.be.retrieve(pid, [ep.unique_id, lab.unique_id]))
    assert res.status is ResponseStatus.SUCCESS
    by_id = {d.document_unique_id: d for d in res.documents}
    assert detect_kind(parse_xml(by_id[ep.unique_id].document)) is DocumentKind.EPRESCRIPTION
    assert by_id[lab.unique_id].mime_type == "application/pdf"
    assert by_id[lab.unique_id].document.startswith(b"%PDF-")


def test_masked_and_unknown_documents_get_the_same_error_and_nothing_else(
        env: GatewayEnv) -> None:
    pid = patient(0)
    actor = env.records.professional_actor(env.records.professional_id("LU-HP-100006"))
    masked = [d for d in env.records.list_documents(actor, env.patient_db_id(0),
                                                    doc_type=DocumentType.IMAGING_REPORT)]
    assert masked and masked[0].masked
    good = ask(env, env.be.query(pid)).entries[0]
    other = env.records.list_documents(
        env.records.professional_actor(env.records.professional_id("LU-HP-100001")),
        env.patient_db_id(1), doc_type=DocumentType.PATIENT_SUMMARY)[0]
    before = env.count(PivotCacheEntry)
    res, raw = fetch(env, env.be.retrieve(pid, [masked[0].unique_id, "2.25.1234567",
                                                other.unique_id, good.unique_id]))
    assert res.status is ResponseStatus.PARTIAL_SUCCESS
    assert [d.document_unique_id for d in res.documents] == [good.unique_id]
    codes = [(e.error_code, e.location) for e in res.errors]
    assert codes == [(code, uid) for uid in (masked[0].unique_id, "2.25.1234567", other.unique_id)
                     for code in ("ERROR_GENERIC_DOCUMENT_MISSING", "XDSDocumentUniqueIdError")]
    body = raw.body
    # the title, not a fragment of it: three letters can occur by chance in base64 signatures
    assert b"IRM genou" not in body and masked[0].unique_id.encode() in body
    assert env.count(PivotCacheEntry) == before + 1


def test_retrieve_from_another_repository_is_unknown(env: GatewayEnv) -> None:
    pid = patient(0)
    good = ask(env, env.be.query(pid)).entries[0]
    res, _ = fetch(env, env.be.retrieve(pid, [good.unique_id], repository="1.2.3.4"))
    assert res.status is ResponseStatus.FAILURE and not res.documents
    assert [e.error_code for e in res.errors] == ["ERROR_GENERIC_DOCUMENT_MISSING",
                                                  "XDSUnknownRepositoryId"]


def test_ep_only_professional_cannot_retrieve_a_patient_summary(env: GatewayEnv) -> None:
    from dataclasses import replace

    from tests.gateway.peer import PHARMACIST

    pid = patient(0)
    ps = ask(env, env.be.query(pid)).entries[0]
    ep = ask(env, env.be.query(pid, ClassCode.EPRESCRIPTION)).entries[0]
    pharmacist = replace(PHARMACIST, permissions=frozenset({"PRD-004", "PRD-010"}))
    res, _ = fetch(env, env.be.retrieve(pid, [ps.unique_id, ep.unique_id], hcp=pharmacist))
    assert [d.document_unique_id for d in res.documents] == [ep.unique_id]
    assert res.errors[0].error_code == "4703"
    from ncp.store.policy import Actor

    log = env.records.access_log(Actor.patient(env.patient_db_id(0)), env.patient_db_id(0))
    by_doc = {(e.document_unique_id, e.outcome) for e in log if e.action == "read"}
    assert (ps.unique_id, "denied") in by_doc and (ps.unique_id, "success") not in by_doc
    assert (ep.unique_id, "success") in by_doc


def test_a_document_that_cannot_be_transcoded_is_its_own_error(env: GatewayEnv) -> None:
    import re

    pid = patient(0)
    records = env.records
    gp = records.professional_actor(records.professional_id("LU-HP-100001"))
    current = records.list_documents(gp, env.patient_db_id(0),
                                     doc_type=DocumentType.PATIENT_SUMMARY)[0]
    _, national = records.read_document(gp, current.unique_id)
    broken, n = re.subn(rb'code="S0\d+"', b'code="S9999"', national, count=1)
    assert n == 1
    fixed = records.add_document(gp, env.patient_db_id(0), doc_type="patient-summary",
                                 title="Résumé patient", media_type="text/xml", content=broken,
                                 supersedes=current.unique_id)
    lab = ask(env, env.be.query(pid, ClassCode.ORCD_LABORATORY_RESULTS)).entries[0]
    before = env.count(PivotCacheEntry)
    res, raw = fetch(env, env.be.retrieve(pid, [fixed.unique_id, lab.unique_id]))
    assert res.status is ResponseStatus.PARTIAL_SUCCESS
    assert [d.document_unique_id for d in res.documents] == [lab.unique_id]
    (error,) = res.errors
    assert error.error_code == "ERROR_PS_MISSING_EXPECTED_MAPPING"
    assert error.location == fixed.unique_id
    assert b"S9999" not in raw.body  # never the untranslated document
    assert env.count(PivotCacheEntry) == before


def test_retrieve_needs_the_consent_of_the_documents_service(env: GatewayEnv) -> None:
    pid = patient(2)  # PS consent only
    gp = env.records.professional_actor(env.records.professional_id("LU-HP-100001"))
    ep = env.records.list_documents(gp, env.patient_db_id(2),
                                    doc_type=DocumentType.PRESCRIPTION)[0]
    ps = ask(env, env.be.query(pid)).entries[0]
    res, raw = fetch(env, env.be.retrieve(pid, [ep.unique_id, ps.unique_id]))
    assert [d.document_unique_id for d in res.documents] == [ps.unique_id]
    assert [(e.error_code, e.location) for e in res.errors] == [("4701", ep.unique_id)]
    assert b"Ordonnance" not in raw.body


def test_optional_query_parameters_narrow_the_answer(env: GatewayEnv) -> None:
    from dataclasses import replace as dc_replace

    from ncp.ihe.rim import Coded
    from ncp.ihe.xca.query import build_request, parse_request
    from ncp.xmlutil import qname

    pid = patient(0)

    def ask_with(class_code: ClassCode, **params: object) -> query.QueryResponse:
        sent = env.be.query(pid, class_code)
        q = parse_request(parse_xml(sent.body).find(qname("soap", "Body"))[0])
        q = dc_replace(q, **params)
        env_ = env.be.envelope(build_request(q), "urn:ihe:iti:2007:CrossGatewayQuery",
                               env.be.assertions(pid))
        return ask(env, env.be.send(env_))

    pdf_only = ask_with(ClassCode.PATIENT_SUMMARY, format_codes=(
        Coded(code="urn:ihe:iti:xds-sd:pdf:2008", scheme="1.3.6.1.4.1.19376.1.2.3"),))
    assert [e.format_code.code for e in pdf_only.entries] == ["urn:ihe:iti:xds-sd:pdf:2008"]
    assert not pdf_only.associations  # its XFRM target is not in the answer
    every = ask(env, env.be.query(pid, ClassCode.EPRESCRIPTION)).entries
    atc = every[0].eprescription.atc
    one = ask_with(ClassCode.EPRESCRIPTION, event_codes=(Coded(code=atc.code,
                                                                scheme=atc.scheme),))
    assert one.entries and all(e.eprescription.atc.code == atc.code for e in one.entries)
    later = ask_with(ClassCode.PATIENT_SUMMARY, creation_time_from="2999")
    assert later.status is ResponseStatus.SUCCESS and not later.entries


def test_a_closed_dsp_shares_nothing_on_retrieve_either(env: GatewayEnv) -> None:
    from ncp.store.models import Document

    pid = patient(4)  # consents given, DSP closed
    with env.records._sessions() as s:
        uids = [u for (u,) in s.query(Document.unique_id).filter(
            Document.patient_id == env.patient_db_id(4))]
    assert uids
    res, raw = fetch(env, env.be.retrieve(pid, uids))
    assert res.status is ResponseStatus.FAILURE and not res.documents
    assert {e.error_code for e in res.errors} == {"ERROR_GENERIC_DOCUMENT_MISSING",
                                                  "XDSDocumentUniqueIdError"}
    assert b"ClinicalDocument" not in raw.body
