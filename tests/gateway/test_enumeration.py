"""Enumerating matricules over XCPD is detected and slowed (issue 14 item 13), on SQLite and
PostgreSQL: discoveries are counted in the database per peer, per foreign professional and per
patient; past a limit they are refused with the reference gateway's warnings and one operator
alert per window, while discovery by matricule (and its reasons: no consent, closed DSP) keeps
working below the limits. Answers carry no more demographics than eHDSI needs."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from ncp.gateway import build_gateway
from ncp.ihe.codes import QueryResponseCode
from ncp.store.db import session_factory
from ncp.store.volumes import OperatorAlert
from tests.gateway.conftest import GatewayEnv, patient
from tests.gateway.peer import DOCTOR
from tests.gateway.test_xcpd import answer

#: Valid-looking matricules of nobody (what an enumeration walks through).
NOBODY = [f"19990101{n:05d}" for n in range(20)]


def limited(env: GatewayEnv, **limits: int) -> GatewayEnv:
    """Another gateway process over the same database, with these limits."""
    settings = env.settings.model_copy(update=limits)
    return replace(env, settings=settings,
                   gateway=build_gateway(settings, env.engine, env.records))


def alerts(env: GatewayEnv) -> list[tuple[str, str, int]]:
    with session_factory(env.engine)() as s:
        return [(a.kind, a.key, a.count) for a in s.scalars(
            select(OperatorAlert).order_by(OperatorAlert.id))]


def test_one_professional_walking_matricules_is_stopped(any_env: GatewayEnv) -> None:
    env = limited(any_env, discovery_limit_per_professional=5)
    for m in NOBODY[:5]:
        assert answer(env, env.be.xcpd(m)).query_response_code is QueryResponseCode.NF
    refused = answer(env, env.be.xcpd(patient(0).extension))  # even a real patient now
    assert refused.query_response_code is QueryResponseCode.AE and not refused.patients
    assert refused.details[0].code == \
        "WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS_FOR_UNIQUE_POINT_OF_CARE"
    answer(env, env.be.xcpd(NOBODY[6]))
    assert alerts(env) == [("WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS_FOR_UNIQUE_POINT_OF_CARE",
                            f"BE:{DOCTOR.subject_id}", 6)]  # one alert per window
    # Another professional of the same peer is not affected.
    colleague = replace(DOCTOR, subject_id="jo.maes@uzleuven.be")
    ok = answer(env, env.be.xcpd(patient(0).extension, hcp=colleague))
    assert ok.query_response_code is QueryResponseCode.OK


def test_the_counts_are_shared_by_every_process(any_env: GatewayEnv) -> None:
    one = limited(any_env, discovery_limit_per_peer=4)
    two = limited(any_env, discovery_limit_per_peer=4)
    hcps = [replace(DOCTOR, subject_id=f"doctor{n}@uzleuven.be") for n in range(6)]
    assert answer(one, one.be.xcpd(NOBODY[0], hcp=hcps[0])).query_response_code.value == "NF"
    assert answer(two, two.be.xcpd(NOBODY[1], hcp=hcps[1])).query_response_code.value == "NF"
    assert answer(one, one.be.xcpd(NOBODY[2], hcp=hcps[2])).query_response_code.value == "NF"
    assert answer(two, two.be.xcpd(NOBODY[3], hcp=hcps[3])).query_response_code.value == "NF"
    fifth = answer(one, one.be.xcpd(patient(0).extension, hcp=hcps[4]))
    assert fifth.query_response_code is QueryResponseCode.AE
    assert fifth.details[0].code == "WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS"
    assert [a[0] for a in alerts(one)] == ["WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS"]


def test_one_patient_asked_for_too_often(any_env: GatewayEnv) -> None:
    env = limited(any_env, discovery_limit_per_patient=3)
    jean = patient(0).extension
    for n in range(3):
        hcp = replace(DOCTOR, subject_id=f"doctor{n}@uzleuven.be")
        assert answer(env, env.be.xcpd(jean, hcp=hcp)).query_response_code is QueryResponseCode.OK
    res = answer(env, env.be.xcpd(jean, hcp=replace(DOCTOR, subject_id="x@uzleuven.be")))
    assert res.details[0].code == "WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS_FOR_UNIQUE_PATIENT"
    assert alerts(env)[0][:2] == ("WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS_FOR_UNIQUE_PATIENT",
                                  jean)


def test_below_the_limits_discovery_works_and_says_why(env: GatewayEnv) -> None:
    ok = answer(env, env.be.xcpd(patient(0).extension))
    (p,) = ok.patients
    assert p.addresses == () or not p.addresses  # id, name, gender, birth date: no address
    for n in (3, 4):  # no consent; closed DSP
        res = answer(env, env.be.xcpd(patient(n).extension))
        assert res.query_response_code is QueryResponseCode.AE
        assert res.details[0].code == "4701"
    assert alerts(env) == []
