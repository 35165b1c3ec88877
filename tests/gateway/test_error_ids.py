"""Every error we send carries our error id where the peer keeps it (issue 12 item 10).

The reference gateway's client reads only ``errorCode`` and passes ``codeContext`` and
``location`` through as the message and context of its exception; our own client finds the id
with :func:`ncp.peers.errors.error_id_in`. The id is the one of the audit record, so that
``ncp explain`` answers a peer that quotes it.
"""

from __future__ import annotations

from sqlalchemy import select

from ncp.ihe.codes import ClassCode, ResponseStatus
from ncp.ihe.identifiers import PatientId
from ncp.ihe.xca import query, retrieve
from ncp.ihe.xdr import submit
from ncp.peers.errors import error_id_in, from_codes
from ncp.store.models import AuditMessage
from tests.gateway.conftest import GatewayEnv, patient
from tests.gateway.peer import read_answer


def audited_ids(env: GatewayEnv) -> set[str]:
    with env.records._read() as s:  # the audit as ncp explain reads it
        return {i for i in s.scalars(select(AuditMessage.error_id)) if i}


def test_a_refused_query_carries_the_audited_error_id(env: GatewayEnv) -> None:
    unknown = PatientId(extension="1900010100152", root=patient(0).root)
    r = env.post("xca", env.be.query(unknown))
    res = query.parse_response(read_answer(r.body, r.content_type, env.trust).body_element)
    assert res.status is ResponseStatus.FAILURE
    (first, *_) = res.errors
    sent = error_id_in(first.code_context)
    assert sent is not None and sent in audited_ids(env)
    # our own client, reading such an answer, keeps the peer's id for the help desk
    err = from_codes([(e.error_code, e.code_context) for e in res.errors], default="peer_refused")
    assert err.peer_error_id == sent


def test_each_refused_document_of_a_retrieve_carries_an_error_id(env: GatewayEnv) -> None:
    r = env.post("xca", env.be.retrieve(patient(0), ["1.2.3.4.5.unknown", "1.2.3.4.5.other"]))
    msg = read_answer(r.body, r.content_type, env.trust)
    res = retrieve.parse_response(msg.body_element, msg.attachments)
    assert res.status is ResponseStatus.FAILURE
    ids = {error_id_in(e.code_context) for e in res.errors}
    assert None not in ids
    assert ids & audited_ids(env)  # the exchange's record names the first refusal's id
    # location still names the document each error is about
    assert {e.location for e in res.errors} == {"1.2.3.4.5.unknown", "1.2.3.4.5.other"}


def test_a_refused_submission_carries_the_audited_error_id(env: GatewayEnv) -> None:
    r = env.post("xdr", env.be.submit(patient(0), b"<not-a-dispensation/>"))
    res = submit.parse_response(read_answer(r.body, r.content_type, env.trust).body_element)
    assert res.status is ResponseStatus.FAILURE
    sent = error_id_in(res.errors[0].code_context)
    assert sent is not None and sent in audited_ids(env)


def test_a_warning_carries_an_error_id_too(env: GatewayEnv) -> None:
    # patient 0's only imaging report is masked: the warning 1104, with an id of its own
    r = env.post("xca", env.be.query(patient(0), ClassCode.ORCD_IMAGING_REPORT))
    res = query.parse_response(read_answer(r.body, r.content_type, env.trust).body_element)
    assert res.status is ResponseStatus.SUCCESS and res.errors
    for e in res.errors:
        assert error_id_in(e.code_context), e

