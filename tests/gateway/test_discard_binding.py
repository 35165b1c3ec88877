"""XDR discard is bound to the eDispensation, the prescription it fulfils, the TRC's patient and
the dispensing country (issue 14 item 3), on SQLite and PostgreSQL.

The attacks of the review: a Belgian pharmacy holding Jean's TRC discarded Maria's
eDispensation (a discard document for Jean's prescription carrying Maria's eD id); a gateway
of another country claiming the same organisation id discarded Belgium's dispensation.
"""

from __future__ import annotations

from lxml import etree

from ncp.ihe.codes import ResponseStatus
from tests.gateway.conftest import GatewayEnv, patient
from tests.gateway.peer import Peer, dispensation
from tests.gateway.test_xdr import pivot_ep, registry_response, state


def _ed_extension(ed: bytes) -> str:
    ext = etree.fromstring(ed).find("{urn:hl7-org:v3}id").get("extension")
    assert ext
    return ext


def test_a_trc_for_one_patient_cannot_discard_another_patients_dispensation(
        any_env: GatewayEnv) -> None:
    env = any_env
    _, ep_jean, rx_jean = pivot_ep(env, 0)
    _, ep_maria, rx_maria = pivot_ep(env, 1)
    ed_maria = dispensation(ep_maria, packages=1)
    assert registry_response(env, env.be.submit(patient(1), ed_maria)
                             ).status is ResponseStatus.SUCCESS
    assert state(env, rx_maria).packages_dispensed == 1
    # Jean's discard document (his own prescription, his TRC) naming Maria's eD id.
    forged = dispensation(ep_jean, packages=1)
    forged = forged.replace(_ed_extension(forged).encode(), _ed_extension(ed_maria).encode())
    counts = env.counts()
    res = registry_response(env, env.be.submit(patient(0), forged, discard=True))
    assert res.status is ResponseStatus.FAILURE
    assert res.errors[0].error_code == "ERROR_ED_DISCARD_FAILED"
    assert state(env, rx_maria).packages_dispensed == 1
    assert state(env, rx_jean).packages_dispensed == 0
    after = env.counts()
    assert after["dispensations"] == counts["dispensations"]
    assert after["audit_messages"] == counts["audit_messages"] + 1
    # Maria's own discard, by the pharmacy that dispensed, under her TRC, still works.
    res = registry_response(env, env.be.submit(patient(1), ed_maria, discard=True))
    assert res.status is ResponseStatus.SUCCESS, res.errors
    assert state(env, rx_maria).packages_dispensed == 0


def test_another_country_with_the_same_organisation_id_cannot_discard(
        any_env: GatewayEnv) -> None:
    env = any_env
    _, ep, rx = pivot_ep(env, 0)
    ed = dispensation(ep, packages=1)
    assert registry_response(env, env.be.submit(patient(0), ed)).status is ResponseStatus.SUCCESS
    fr = Peer(env.pki, "FR")  # same PHARMACIST claims: organisation id urn:oid:2.999.32.7
    res = registry_response(env, fr.submit(patient(0), ed, discard=True), peer=fr)
    assert res.status is ResponseStatus.FAILURE
    assert res.errors[0].error_code == "ERROR_ED_DISCARD_FAILED"
    assert state(env, rx).packages_dispensed == 1
    res = registry_response(env, env.be.submit(patient(0), ed, discard=True))
    assert res.status is ResponseStatus.SUCCESS, res.errors
    assert state(env, rx).packages_dispensed == 0
