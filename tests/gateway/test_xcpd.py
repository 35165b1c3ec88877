"""XCPD (ITI-55) answers: OK with the patient, NF, AE with the specified reason."""

from __future__ import annotations

from lxml import etree

from ncp.ihe import xcpd
from ncp.ihe.codes import QueryResponseCode
from ncp.ihe.xcpd import PersonName
from ncp.store.models import AuditMessage
from tests.gateway.conftest import GatewayEnv, patient
from tests.gateway.peer import read_answer


def answer(env: GatewayEnv, sent) -> xcpd.PatientDiscoveryResponse:  # type: ignore[no-untyped-def]
    r = env.post("xcpd", sent)
    assert r.status == 200, r.body[:500]
    msg = read_answer(r.body, r.content_type, env.trust)
    return xcpd.parse_response(msg.body_element)


def test_discovery_by_matricule_answers_ok_with_the_patient(env: GatewayEnv) -> None:
    pid = patient(0)
    res = answer(env, env.be.xcpd(pid.extension))
    assert res.query_response_code is QueryResponseCode.OK
    assert res.acknowledgement_type.value == "AA"
    (p,) = res.patients
    assert p.ids[0].extension == pid.extension and p.ids[0].root == "1.3.182.4.4"
    assert p.names[0].family == ("Schmit",) and p.names[0].given == ("Jean",)
    assert p.gender == "M" and p.birth_time == "19560312"
    assert p.custodian_id == "1.3.182.2.4.1"


def test_matching_demographics_are_accepted_and_a_mismatch_is_nf(env: GatewayEnv) -> None:
    pid = patient(1)
    ok = answer(env, env.be.xcpd(pid.extension, names=(PersonName(family=("da silva",),
                                                                    given=("MARIA",)),),
                                 birth_time="19781102", gender="F"))
    assert ok.query_response_code is QueryResponseCode.OK
    for kw in ({"gender": "M"}, {"birth_time": "19781103"},
               {"names": (PersonName(family=("Schmit",)),)}):
        res = answer(env, env.be.xcpd(pid.extension, **kw))  # type: ignore[arg-type]
        assert res.query_response_code is QueryResponseCode.NF
        assert not res.patients


def test_unknown_patient_is_nf(env: GatewayEnv) -> None:
    res = answer(env, env.be.xcpd("1999010100000"))
    # as the reference gateway answers it, so that its client shows the dictionary's text
    assert res.query_response_code is QueryResponseCode.NF and not res.patients
    assert [(i.code, i.placement) for i in res.issues] == [("AnswerNotAvailable", "mitigatedBy")]
    assert [d.code for d in res.details] == ["ERROR_PI_NO_MATCH"]


def test_no_consent_and_closed_dsp_are_refused_with_ae(env: GatewayEnv) -> None:
    for n in (3, 4):  # no consent at all; closed DSP (with consents)
        res = answer(env, env.be.xcpd(patient(n).extension))
        assert res.query_response_code is QueryResponseCode.AE
        assert not res.patients
        assert res.issues[0].code == "PolicyViolation"
        assert res.details[0].code == "4701"


def test_demographics_only_query_is_not_allowed(env: GatewayEnv) -> None:
    res = answer(env, env.be.xcpd(None, names=(PersonName(family=("Schmit",)),),
                                  birth_time="19560312"))
    assert res.query_response_code is QueryResponseCode.AE
    assert res.issues[0].code == "DemographicsQueryNotAllowed"
    assert res.issues[0].placement == "triggerFor"


def test_missing_permission_is_ae_insufficient_rights(env: GatewayEnv) -> None:
    from dataclasses import replace

    from tests.gateway.peer import DOCTOR

    hcp = replace(DOCTOR, permissions=frozenset({"PRD-003"}))
    res = answer(env, env.be.xcpd(patient(0).extension, hcp=hcp))
    assert res.query_response_code is QueryResponseCode.AE
    assert res.issues[0].code == "InsufficientRights"
    assert not res.patients


def test_every_discovery_is_audited_with_the_patient_id_not_demographics(env: GatewayEnv) -> None:
    pid = patient(0)
    answer(env, env.be.xcpd(pid.extension, names=(PersonName(family=("Schmit",)),)))
    with env.records._sessions() as s:
        row = s.query(AuditMessage).order_by(AuditMessage.id.desc()).first()
    assert row is not None and row.transaction == "ITI-55" and row.event_code == "EHDSI-11"
    assert row.patient_ref == pid.cx and row.outcome == "0"
    audit = etree.fromstring(row.message.encode())
    ids = [o.get("ParticipantObjectID") for o in audit.iter("ParticipantObjectIdentification")]
    assert pid.cx in ids and "Schmit" not in row.message
