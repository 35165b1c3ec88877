"""XDR (ITI-41): eDispensation and discard for our ePrescriptions, atomic and idempotent."""

from __future__ import annotations

import threading
from dataclasses import replace

from ncp.ihe.codes import ClassCode, ResponseStatus
from ncp.ihe.registry import ITI_41
from ncp.ihe.schemas import validate_body
from ncp.ihe.xca import query, retrieve
from ncp.ihe.xdr import submit
from ncp.store.dispensing import Dispensing, PrescriptionStatus
from ncp.store.models import Dispensation, Document
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


def test_a_fully_dispensed_prescription_is_refused_and_leaves_the_query(env: GatewayEnv) -> None:
    pid = patient(0)
    uid, ep, rx = pivot_ep(env)
    total = state(env, rx).packages_prescribed
    assert registry_response(env, env.be.submit(
        pid, dispensation(ep, packages=total))).status is ResponseStatus.SUCCESS
    assert state(env, rx).status is PrescriptionStatus.DISPENSED
    counts = env.counts()
    res = registry_response(env, env.be.submit(pid, dispensation(ep, packages=1, number=2)))
    assert res.status is ResponseStatus.FAILURE and res.errors[0].error_code == "5007"
    after = env.counts()
    assert after["documents"] == counts["documents"]
    assert after["dispensations"] == counts["dispensations"]
    assert after["audit_messages"] == counts["audit_messages"] + 1
    r = env.post("xca", env.be.query(pid, ClassCode.EPRESCRIPTION))
    listed = query.parse_response(read_answer(r.body, r.content_type, env.trust).body_element)
    assert uid not in [e.unique_id for e in listed.entries]


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
    assert failed.errors[0].error_code == "5007"
    assert state(env, rx).packages_dispensed == total
    assert env.count(Dispensation) == 1


def test_unknown_prescription_or_another_patients_is_not_identifiable(env: GatewayEnv) -> None:
    _, ep, _ = pivot_ep(env)
    counts = env.counts()
    foreign = ep.replace(b'root="1.3.182.11.5"', b'root="2.999.1"')
    res = registry_response(env, env.be.submit(patient(0), dispensation(foreign)))
    assert res.status is ResponseStatus.FAILURE and res.errors[0].error_code == "5009"
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
    assert res.errors[0].error_code == "5017"
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


def test_invalid_ed_is_4106(env: GatewayEnv) -> None:
    res = registry_response(env, env.be.submit(patient(0), b"<notacda/>"))
    assert res.status is ResponseStatus.FAILURE and res.errors[0].error_code == "4106"


def test_ed_that_does_not_validate_against_the_cda_schema_is_4106(env: GatewayEnv) -> None:
    _, ep, rx = pivot_ep(env)
    ed = dispensation(ep, packages=1)
    broken = ed.replace(b"<title>", b"<unexpected/><title>", 1)
    assert broken != ed
    res = registry_response(env, env.be.submit(patient(0), broken))
    assert res.status is ResponseStatus.FAILURE and res.errors[0].error_code == "4106"
    assert state(env, rx).packages_dispensed == 0
