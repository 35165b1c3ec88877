"""The API fuzzed from its own OpenAPI document (schemathesis) against the real HTTPS server.

Every generated request (valid and invalid) must get an answer the document describes, never a
500, and no answer may carry data the policy denies the caller: before fuzzing, a patient blocks
the calling pharmacist, another masks a prescription, a doctor files a very restricted report
and one DSP is closed; none of that may appear in any response.
"""

from __future__ import annotations

import base64
import os

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from ncp import demo
from ncp.auth.service import Authenticator
from ncp.store.db import session_factory
from ncp.store.policy import Actor
from ncp.store.vocabulary import DocumentType
from tests.portal.live import Live

JEAN, MARIA, TOM, LEA, NICOLAS, EMMA = (r.patient.matricule for r in demo.PATIENTS)


@pytest.fixture(scope="module")
def setting(live: Live) -> dict[str, object]:
    """Forbidden data for the fuzzing pharmacist, and their token."""
    records = live.records
    auth = Authenticator(session_factory(live.engine), records)
    pharmacist = records.professional_actor(records.professional_id("LU-HP-100003"))
    gp = records.professional_actor(records.professional_id("LU-HP-100001"))
    lea, tom, jean = (records.patient_id(m) for m in (LEA, TOM, JEAN))
    records.set_rule(Actor.patient(lea), lea, pharmacist.professional_id, "block")
    forbidden = {d.unique_id for d in records.list_documents(Actor.patient(lea), lea)}
    masked = records.list_documents(Actor.patient(tom), tom, doc_type="prescription")[0]
    records.set_masked(Actor.patient(tom), masked.unique_id, True)
    secret = records.add_document(gp, jean, doc_type="prescription", title="Secret",
                                  media_type="application/pdf",
                                  content=b"%PDF-1.4\n%%EOF\n", confidentiality="V")
    nicolas = records.patient_id(NICOLAS)
    forbidden |= {masked.unique_id, secret.unique_id}
    forbidden |= {d.unique_id for d in records.list_documents(Actor.patient(nicolas), nicolas)}
    account = auth.store.by_login("lu-hp-100003")
    assert account is not None
    token = auth.issue_token(account.id, "fuzz")
    visible = records.list_documents(pharmacist, jean)
    assert visible and all(d.unique_id not in forbidden for d in visible)
    return {"token": token, "forbidden": forbidden, "names": ("Becker", "Reuter", "Secret")}


@pytest.fixture(scope="module")
def api_schema(live: Live) -> schemathesis.BaseSchema:
    spec = live.client().get("/api/openapi.json").json()
    # Seed the generators with ids that exist, so that fuzzing also reaches the policy.
    params = spec["paths"]["/api/v1/patients/{matricule}"]["get"]["parameters"]
    params[0]["schema"]["examples"] = [JEAN, LEA, NICOLAS, TOM]
    return schemathesis.openapi.from_dict(spec)


def no_leak(response: requests.Response, forbidden: set[str], names: tuple[str, ...]) -> None:
    body = response.text
    leaked = [uid for uid in forbidden if uid in body] + [n for n in names if n in body]
    assert not leaked, f"{response.request.method} {response.request.url} leaked {leaked}"


#: Generated requests per operation and mode (raise it for a longer campaign).
EXAMPLES = int(os.environ.get("NCP_FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_fuzz(mode: GenerationMode, live: Live, setting: dict[str, object],
                  api_schema: schemathesis.BaseSchema) -> None:
    """Each operation, valid then invalid inputs (schemathesis' pytest plugin does not run
    under pytest 9 yet, so hypothesis drives its strategies directly)."""
    session = requests.Session()
    session.verify = str(live.pki / "lu" / "ca.pem")
    headers = {"Authorization": f"Bearer {setting['token']}"}
    calls = 0

    def run(case: schemathesis.Case) -> None:
        nonlocal calls
        if isinstance(case.body, dict) and "content_base64" in case.body and \
                len(str(case.body.get("title", ""))) % 2:
            # Half the uploads carry a real document, so that the policy, not the parser,
            # answers.
            case.body["content_base64"] = base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode()
        response = case.call(base_url=live.url, session=session, headers=headers, timeout=60,
                             verify=session.verify)
        calls += 1
        case.validate_response(response, checks=CHECKS)
        no_leak(response, setting["forbidden"], setting["names"])  # type: ignore[arg-type]

    try:
        for result in api_schema.get_all_operations():
            operation = result.ok()
            if not operation.path.startswith("/api/v1/"):
                continue  # /health belongs to operations, not to the DSP API
            if operation.path.endswith("/end"):
                # Ending a relationship by a small random id ends the pharmacist's real ones,
                # which the probes below rely on (tested in test_relationships.py).
                continue
            strategy = operation.as_strategy(generation_mode=mode)
            fuzz = settings(max_examples=EXAMPLES, deadline=None, database=None,
                            suppress_health_check=list(HealthCheck))(given(strategy)(run))
            fuzz()
    finally:
        session.close()
    assert calls >= 7 * 10  # every operation was exercised


def test_the_pharmacist_sees_the_policy_not_more(live: Live, setting: dict[str, object]) -> None:
    """The direct probes of the fuzzed data: each forbidden id is refused."""
    client = live.client(headers={"Authorization": f"Bearer {setting['token']}"})
    patients = client.get("/api/v1/patients")
    assert patients.status_code == 200
    assert {p["matricule"] for p in patients.json()} == {JEAN, MARIA, TOM, EMMA}
    for uid in setting["forbidden"]:  # type: ignore[attr-defined]
        r = client.get(f"/api/v1/documents/{uid}")
        assert r.status_code == 403, (uid, r.text)
        no_leak(r, setting["forbidden"], setting["names"])  # type: ignore[arg-type]
    docs = client.get(f"/api/v1/patients/{JEAN}/documents").json()
    assert {d["doc_type"] for d in docs} <= {t.value for t in (
        DocumentType.PRESCRIPTION, DocumentType.PATIENT_SUMMARY, DocumentType.DISPENSATION)}
