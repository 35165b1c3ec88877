"""XDR (ITI-41): eDispensation and discard for our ePrescriptions, atomic and idempotent."""

from __future__ import annotations

import threading
from dataclasses import replace

from lxml import etree
from sqlalchemy import select

from ncp.cda.kinds import DocumentKind, detect_kind
from ncp.cda.national import NATIONAL_TEMPLATES
from ncp.ihe.codes import ClassCode, ResponseStatus
from ncp.ihe.registry import ITI_41
from ncp.ihe.schemas import validate_body
from ncp.ihe.xca import query, retrieve
from ncp.ihe.xdr import submit
from ncp.store.dispensing import Dispensing, PrescriptionStatus
from ncp.store.models import AuditMessage, Dispensation, Document, ReceivedOriginal
from ncp.store.originals import Originals
from ncp.store.policy import Actor
from ncp.validation.validator import xsd_errors
from ncp.xmlutil import NS, parse_xml
from tests.gateway.conftest import GatewayEnv, patient
from tests.gateway.peer import PHARMACIST, Peer, dispensation, read_answer


def registry_response(env: GatewayEnv, sent, peer: Peer | None = None) -> submit.RegistryResponse:  # type: ignore[no-untyped-def]
    r = env.post("xdr", sent, peer=peer)
    assert r.status == 200, r.body[:800]
    msg = read_answer(r.body, r.content_type, env.trust)
    validate_body(msg.body_element, ITI_41, "response")
    return submit.parse_response(msg.body_element)


def pivot_ep(env: GatewayEnv, n: int = 0) -> tuple[str, bytes, str]:
    """(XDS unique id, pivot eP, prescription id) of the patient's first ePrescription."""
    pid = patient(n)
    r = env.post("xca", env.be.query(pid, ClassCode.EPRESCRIPTION))
    entry = query.parse_response(read_answer(r.body, r.content_type, env.trust).body_element
                                 ).entries[0]
    r = env.post("xca", env.be.retrieve(pid, [entry.unique_id]))
    msg = read_answer(r.body, r.content_type, env.trust)
    doc = retrieve.parse_response(msg.body_element, msg.attachments).documents[0].document
    from ncp.xmlutil import parse_xml

    ext = parse_xml(doc).find("{urn:hl7-org:v3}id").get("extension")
    return entry.unique_id, doc, ext.removesuffix("-P")


def state(env: GatewayEnv, prescription_id: str):  # type: ignore[no-untyped-def]
    return Dispensing(env.records).prescription(prescription_id)


def test_dispense_marks_the_prescription_and_stores_the_ed(env: GatewayEnv) -> None:
    pid = patient(0)
    _, ep, rx = pivot_ep(env)
    before = state(env, rx)
    docs = env.count(Document)
    ed = dispensation(ep, packages=1)
    res = registry_response(env, env.be.submit(pid, ed))
    assert res.status is ResponseStatus.SUCCESS, res.errors
    after = state(env, rx)
    assert after.packages_dispensed == 1
    expected = (PrescriptionStatus.DISPENSED if before.packages_prescribed == 1
                else PrescriptionStatus.PARTIALLY_DISPENSED)
    assert after.status is expected
    assert env.count(Document) == docs + 1 and env.count(Dispensation) == 1
    # the same eD again: idempotent, nothing new
    again = registry_response(env, env.be.submit(pid, ed))
    assert again.status is ResponseStatus.SUCCESS
    assert env.count(Dispensation) == 1 and state(env, rx).packages_dispensed == 1


def test_a_fully_dispensed_prescription_is_refused_and_listed_closed(env: GatewayEnv) -> None:
    pid = patient(0)
    uid, ep, rx = pivot_ep(env)
    total = state(env, rx).packages_prescribed
    assert registry_response(env, env.be.submit(
        pid, dispensation(ep, packages=total))).status is ResponseStatus.SUCCESS
    assert state(env, rx).status is PrescriptionStatus.DISPENSED
    counts = env.counts()
    res = registry_response(env, env.be.submit(pid, dispensation(ep, packages=1, number=2)))
    # the dictionary's "ePrescription has already been dispensed"
    assert res.status is ResponseStatus.FAILURE
    assert [e.error_code for e in res.errors] == ["4106"]
    after = env.counts()
    assert after["documents"] == counts["documents"]
    assert after["dispensations"] == counts["dispensations"]
    assert after["audit_messages"] == counts["audit_messages"] + 1
    r = env.post("xca", env.be.query(pid, ClassCode.EPRESCRIPTION))
    listed = query.parse_response(read_answer(r.body, r.content_type, env.trust).body_element)
    (entry,) = [e for e in listed.entries if e.unique_id == uid]
    # Listed with the XDW event code "closed" (the reference gateway's form), not dropped.
    assert entry.eprescription is not None and entry.eprescription.dispensable is False
    assert b"urn:ihe:iti:xdw:2011:eventCode:closed" in r.body


def test_two_simultaneous_dispenses_one_wins(any_env: GatewayEnv) -> None:
    env = any_env
    pid = patient(0)
    _, ep, rx = pivot_ep(env)
    total = state(env, rx).packages_prescribed
    sent = [env.be.submit(pid, dispensation(ep, packages=total, number=i)) for i in (1, 2)]
    results: list[submit.RegistryResponse] = []
    barrier = threading.Barrier(2)

    def go(s) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        results.append(registry_response(env, s))

    threads = [threading.Thread(target=go, args=(s,)) for s in sent]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = sorted(r.status.value for r in results)
    assert statuses == [ResponseStatus.FAILURE.value, ResponseStatus.SUCCESS.value]
    failed = next(r for r in results if r.status is ResponseStatus.FAILURE)
    assert failed.errors[0].error_code == "4106"  # the winner dispensed it all
    assert state(env, rx).packages_dispensed == total
    assert env.count(Dispensation) == 1 and env.count(ReceivedOriginal) == 1


def test_unknown_prescription_or_another_patients_is_not_identifiable(env: GatewayEnv) -> None:
    _, ep, _ = pivot_ep(env)
    counts = env.counts()
    foreign = ep.replace(b'root="1.3.182.11.5"', b'root="2.999.1"')
    res = registry_response(env, env.be.submit(patient(0), dispensation(foreign)))
    assert res.status is ResponseStatus.FAILURE
    assert res.errors[0].error_code == "ERROR_ED_EPRESCRIPTION_NOT_IDENTIFIABLE"
    # patient 1's prescription, submitted under patient 1's TRC but fulfilling patient 0's eP
    res = registry_response(env, env.be.submit(patient(1), dispensation(ep)))
    assert res.errors[0].error_code == "4206"
    after = env.counts()
    assert (after["documents"], after["dispensations"]) == (counts["documents"],
                                                             counts["dispensations"])


def test_ed_without_ep_consent_is_refused(env: GatewayEnv) -> None:
    _, ep, _ = pivot_ep(env)
    # patient 2 has no eP consent: even a (foreign) eD for them is refused with 4701
    res = registry_response(env, env.be.submit(patient(2), dispensation(ep)))
    assert res.status is ResponseStatus.FAILURE and res.errors[0].error_code == "4701"


def test_discard_by_the_same_organisation_only(env: GatewayEnv) -> None:
    pid = patient(0)
    _, ep, rx = pivot_ep(env)
    ed = dispensation(ep, packages=1)
    assert registry_response(env, env.be.submit(pid, ed)).status is ResponseStatus.SUCCESS
    other = replace(PHARMACIST, organisation="Apotheek Noord",
                    organisation_id="urn:oid:2.999.32.8")
    res = registry_response(env, env.be.submit(pid, ed, discard=True, hcp=other))
    assert res.errors[0].error_code == "ERROR_ED_DISCARD_FAILED"
    assert state(env, rx).packages_dispensed == 1
    res = registry_response(env, env.be.submit(pid, ed, discard=True))
    assert res.status is ResponseStatus.SUCCESS, res.errors
    assert state(env, rx).packages_dispensed == 0
    assert state(env, rx).status is PrescriptionStatus.ACTIVE


def test_mtom_submission_is_accepted(env: GatewayEnv) -> None:
    pid = patient(0)
    _, ep, rx = pivot_ep(env)
    sent = env.be.submit(pid, dispensation(ep, packages=1), mtom=True)
    assert sent.content_type.startswith("multipart/related")
    assert registry_response(env, sent).status is ResponseStatus.SUCCESS
    assert state(env, rx).packages_dispensed == 1


def test_invalid_ed_is_ed_generic(env: GatewayEnv) -> None:
    res = registry_response(env, env.be.submit(patient(0), b"<notacda/>"))
    assert res.status is ResponseStatus.FAILURE and res.errors[0].error_code == "ERROR_ED_GENERIC"


def test_ed_that_does_not_validate_against_the_cda_schema_is_ed_generic(env: GatewayEnv) -> None:
    _, ep, rx = pivot_ep(env)
    ed = dispensation(ep, packages=1)
    broken = ed.replace(b"<title>", b"<unexpected/><title>", 1)
    assert broken != ed
    res = registry_response(env, env.be.submit(patient(0), broken))
    assert res.status is ResponseStatus.FAILURE and res.errors[0].error_code == "ERROR_ED_GENERIC"
    assert state(env, rx).packages_dispensed == 0


# --------------------------------------------------------------------------- what is stored

LU_FORME = "1.3.182.2.4.1.100.3"
EDQM = "0.4.0.127.0.16.1.1.2.1"


def stored_unique_id(env: GatewayEnv, ed: bytes) -> str:
    """The DSP document recorded for the eD ``ed`` (by its ClinicalDocument id)."""
    ident = parse_xml(ed).find("hl7:id", NS)
    with env.records._sessions() as s:
        return str(s.scalar(select(Document.unique_id).join(
            Dispensation, Dispensation.document_id == Document.id).where(
            Dispensation.unique_id == f"{ident.get('root')}^{ident.get('extension')}")))


def product_forms(root: etree._Element) -> list[etree._Element]:
    return root.xpath("//hl7:supply/hl7:product//hl7:manufacturedMaterial/pharm:formCode",
                      namespaces=NS)


def audit_events(env: GatewayEnv) -> list[str]:
    with env.records._sessions() as s:
        return list(s.scalars(select(AuditMessage.event_code).order_by(AuditMessage.id)))


def test_the_dsp_holds_the_national_ed_and_the_received_pivot_sealed(
        any_env: GatewayEnv, specs_dir) -> None:  # type: ignore[no-untyped-def]
    env = any_env
    pid = patient(0)
    _, ep, _rx = pivot_ep(env)
    ed = dispensation(ep, packages=1)
    xds_id = "2.25.4141"
    assert registry_response(env, env.be.submit(pid, ed, unique_id=xds_id)).status is \
        ResponseStatus.SUCCESS
    assert audit_events(env)[-2:] == ["EHDSI-41", "EHDSI-94"]  # dispensed, and transformed
    with env.records._sessions() as s:
        translation = s.scalar(select(AuditMessage.message).order_by(AuditMessage.id.desc()))
    assert f'ParticipantObjectID="{xds_id}"' in translation and "ITI-41" in translation
    uid = stored_unique_id(env, ed)
    me = Actor.patient(env.patient_db_id(0))
    info, stored = env.records.read_document(me, uid)
    assert info.doc_type == "dispensation" and info.media_type == "text/xml"
    # national, as every DSP document: the national template, CDA-valid, national codes with
    # the eHDSI code kept as their translation, and a link to the pivot it came from
    root = parse_xml(stored)
    assert xsd_errors(root, specs=specs_dir) == []
    assert detect_kind(root) is None
    assert NATIONAL_TEMPLATES[DocumentKind.EDISPENSATION] in root.xpath(
        "hl7:templateId/@root", namespaces=NS)
    forms = product_forms(root)
    assert forms and all(f.get("codeSystem") == LU_FORME for f in forms)
    received_forms = product_forms(parse_xml(ed))
    translation = forms[0].find("hl7:translation", NS)
    assert (translation.get("codeSystem"), translation.get("code")) == (
        EDQM, received_forms[0].get("code"))
    pivot_id = parse_xml(ed).find("hl7:id", NS)
    parent = root.find("hl7:relatedDocument[@typeCode='XFRM']/hl7:parentDocument/hl7:id", NS)
    assert (parent.get("root"), parent.get("extension")) == (pivot_id.get("root"),
                                                             pivot_id.get("extension"))
    # the eD as received: kept, sealed, linked to the document, the same bytes when opened
    kept = Originals(env.records).read(me, uid)
    assert kept.content == ed and kept.country == "BE"
    with env.records._sessions() as s:
        row = s.scalars(select(ReceivedOriginal)).one()
        assert row.document_id == info.id and ed[-200:] not in row.ciphertext
    # re-submitted: answered as before, nothing new is stored or transformed
    counts = env.counts()
    assert registry_response(env, env.be.submit(pid, ed)).status is ResponseStatus.SUCCESS
    after = env.counts()
    assert after["audit_messages"] == counts["audit_messages"] + 1
    assert {k: v for k, v in after.items() if k not in ("audit_messages", "access_log")} == \
        {k: v for k, v in counts.items() if k not in ("audit_messages", "access_log")}
    assert audit_events(env)[-1] == "EHDSI-41"
    # discarded: the prescription is open again, the record and its evidence stay
    res = registry_response(env, env.be.submit(pid, ed, discard=True))
    assert res.status is ResponseStatus.SUCCESS, res.errors
    assert Originals(env.records).read(me, uid).content == ed


#: The Danish eD's own dose form (a national system of DK) as a real eD carries it.
DK_FORM = ("TABFILM", "2.16.17.710.802.1000.990.1.20.22", "filmovertrukne tabletter")


def with_foreign_codes(ed: bytes, specs_dir) -> bytes:  # type: ignore[no-untyped-def]
    """``ed`` with the dose form coded as the real Danish eD codes it (no national mapping
    can know it), and an EDQM dose form and an ATC ingredient our mapping files lack."""
    dk = parse_xml((specs_dir / "samples/cda/ed/DK-received_dispensation1.xml").read_bytes())
    dk_form = product_forms(dk)[0]
    assert (dk_form.get("code"), dk_form.get("codeSystem"), dk_form.get("displayName")) == \
        DK_FORM
    root = parse_xml(ed)
    form = product_forms(root)[0]
    for name in ("code", "codeSystem", "displayName"):
        form.set(name, dk_form.get(name))
    form.attrib.pop("codeSystemName", None)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_an_ed_with_codes_without_national_mapping_is_recorded_and_listed(
        any_env: GatewayEnv, specs_dir) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 item 11: the medicine was handed over abroad; the eD is recorded, the
    prescription's remaining quantity updated, the code kept as received and listed."""
    from ncp.store.terminology import list_unmapped

    env = any_env
    pid = patient(0)
    _, ep, rx = pivot_ep(env)
    ed = with_foreign_codes(dispensation(ep, packages=1), specs_dir)
    res = registry_response(env, env.be.submit(pid, ed))
    assert res.status is ResponseStatus.SUCCESS, res.errors
    assert state(env, rx).packages_dispensed == 1
    # the national document shows the code as received: code, system and display unchanged
    me = Actor.patient(env.patient_db_id(0))
    _, stored = env.records.read_document(me, stored_unique_id(env, ed))
    form = product_forms(parse_xml(stored))[0]
    assert (form.get("code"), form.get("codeSystem"), form.get("displayName")) == DK_FORM
    with env.records._sessions() as s:
        listed = list_unmapped(s)
    assert [(r.code, r.code_system, r.display, r.country) for r in listed
            if "formCode" in r.location][:1] == [(*DK_FORM, "BE")]
    assert all(r.document_kind == "eDispensation" for r in listed)
    # re-submitted: idempotent, and listed once only
    assert registry_response(env, env.be.submit(pid, ed)).status is ResponseStatus.SUCCESS
    with env.records._sessions() as s:
        assert len(list_unmapped(s)) == len(listed)


def test_an_ed_without_its_identifying_prescription_id_is_still_refused(
        env: GatewayEnv) -> None:
    """Only an identifying element that cannot be resolved refuses the eD (ERROR_ED_GENERIC),
    and then nothing but the audit record is written."""
    pid = patient(0)
    _, ep, rx = pivot_ep(env)
    root = parse_xml(dispensation(ep, packages=1))
    root.find("hl7:inFulfillmentOf/hl7:order/hl7:id", NS).attrib.pop("extension")
    counts = env.counts()
    res = registry_response(env, env.be.submit(pid, etree.tostring(root)))
    assert res.status is ResponseStatus.FAILURE and res.errors[0].error_code == "ERROR_ED_GENERIC"
    after = env.counts()
    assert after["audit_messages"] == counts["audit_messages"] + 1
    assert {k: v for k, v in after.items() if k != "audit_messages"} == \
        {k: v for k, v in counts.items() if k != "audit_messages"}
    assert state(env, rx).packages_dispensed == 0
