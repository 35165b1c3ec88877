"""A DSP opened at a visit is not discoverable across borders: XCPD answers "no match" for its
provisional identifier in the matricule's domain (its own domain is not the national one
and is answered as any other domain), before and after the merge;
the matricule it was merged into is found."""

from __future__ import annotations

import datetime as dt

import pytest

from ncp.ihe.codes import QueryResponseCode
from ncp.ihe.oids import LU_PROVISIONAL_ID
from ncp.store import matricule
from ncp.store.merge import merge_records
from ncp.store.policy import Actor
from ncp.store.visits import VisitIdentity, register_at_visit
from tests.gateway.conftest import GatewayEnv
from tests.gateway.test_xcpd import answer


def test_a_provisional_identifier_is_no_match_and_its_matricule_is_found(
        env: GatewayEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    records = env.records
    doctor = records.professional_actor(records.professional_id("LU-HP-100001"))
    done = register_at_visit(records, doctor, VisitIdentity("Ana", "Silva",
                                                            dt.date(1993, 6, 1), "F"))
    me = Actor.patient(done.patient_id, "Ana Silva")
    records.give_consent(me, done.patient_id, "patient-summary")  # discoverable if it could be
    res = answer(env, env.be.xcpd(done.provisional_id))
    assert res.query_response_code is QueryResponseCode.NF and not res.patients
    with monkeypatch.context() as m:
        m.setattr("tests.gateway.peer.LU_ROOT", LU_PROVISIONAL_ID.value)
        # Another domain than the national identifier's: answered as for any foreign
        # domain (no national identifier in the query), the record never named.
        res = answer(env, env.be.xcpd(done.provisional_id))
        assert res.query_response_code is not QueryResponseCode.OK and not res.patients
        assert "Silva" not in str(res)
    number = matricule.make(dt.date(1993, 6, 1), 404)
    merge_records(records, done.provisional_id, number, operator="ops")
    records.give_consent(me, done.patient_id, "patient-summary")
    assert answer(env, env.be.xcpd(done.provisional_id)).query_response_code \
        is QueryResponseCode.NF
    found = answer(env, env.be.xcpd(number))
    assert found.query_response_code is QueryResponseCode.OK
    assert found.patients[0].ids[0].extension == number
