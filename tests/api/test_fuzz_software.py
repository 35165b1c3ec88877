"""The API of professional software (issue 17 item 9): relationships, registration at a
visit, document upload and the worklist are in the OpenAPI document with the answers they
give, and are fuzzed from it (schemathesis) as a referring doctor, who may do all of them,
against the real HTTPS server: ending relationships included, which the pharmacist's campaign
of test_fuzz.py leaves out."""

from __future__ import annotations

import os

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from ncp import demo
from ncp.auth.service import Authenticator
from ncp.store.db import session_factory
from ncp.store.models import TherapeuticRelationship
from tests.api.test_fuzz import CHECKS
from tests.portal.live import Live

#: The operations professional software calls, and the answers each must document.
SOFTWARE = {
    ("post", "/api/v1/patients"): {"201", "400", "401", "403", "422"},
    ("post", "/api/v1/patients/{matricule}/relationships"): {"201", "401", "403", "422"},
    ("post", "/api/v1/relationships/{relationship_id}/end"): {"200", "401", "404", "422"},
    ("post", "/api/v1/patients/{matricule}/documents"): {"201", "400", "401", "403", "422"},
    ("get", "/api/v1/worklist"): {"200", "401"},
}
EXAMPLES = int(os.environ.get("NCP_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def spec(live: Live) -> dict:  # type: ignore[type-arg]
    return live.client().get("/api/openapi.json").json()


def test_every_operation_of_professional_software_is_documented(spec: dict) -> None:  # type: ignore[type-arg]
    for (method, path), answers in SOFTWARE.items():
        operation = spec["paths"][path][method]
        assert operation.get("summary") and operation.get("description"), path
        assert answers <= set(operation["responses"]), (path, set(operation["responses"]))
        if method == "post" and path != "/api/v1/relationships/{relationship_id}/end":
            assert "requestBody" in operation, path


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_professional_software_fuzzed_as_a_referring_doctor(
        mode: GenerationMode, live: Live, spec: dict) -> None:  # type: ignore[type-arg]
    records = live.records
    auth = Authenticator(session_factory(live.engine), records)
    account = auth.store.by_login("lu-hp-100001")
    assert account is not None
    token = auth.issue_token(account.id, "fuzz-software")
    matricules = [r.patient.matricule for r in demo.PATIENTS]
    gp = records.professional_id("LU-HP-100001")
    with records.reading() as s:  # real ids, so that fuzzing reaches the store's rules
        ids = list(s.scalars(TherapeuticRelationship.__table__.select()
                             .with_only_columns(TherapeuticRelationship.id)
                             .where(TherapeuticRelationship.professional_id == gp)))
    for (method, path) in SOFTWARE:
        for param in spec["paths"][path][method].get("parameters", []):
            if param["name"] == "matricule":
                param["schema"]["examples"] = matricules
            if param["name"] == "relationship_id":
                param["schema"]["examples"] = ids or [1]
    schema = schemathesis.openapi.from_dict(spec)
    session = requests.Session()
    session.verify = str(live.pki / "lu" / "ca.pem")
    headers = {"Authorization": f"Bearer {token}"}
    seen: dict[tuple[str, str], set[int]] = {}

    def run(case: schemathesis.Case) -> None:
        response = case.call(base_url=live.url, session=session, headers=headers, timeout=60,
                             verify=session.verify)
        seen.setdefault((case.method.lower(), case.path), set()).add(response.status_code)
        case.validate_response(response, checks=CHECKS)

    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            if (operation.method.lower(), operation.path) not in SOFTWARE:
                continue
            fuzz = settings(max_examples=EXAMPLES, deadline=None, database=None,
                            suppress_health_check=list(HealthCheck))(
                given(operation.as_strategy(generation_mode=mode))(run))
            fuzz()
    finally:
        session.close()
    assert set(seen) == set(SOFTWARE)  # every operation was called
    if mode is GenerationMode.POSITIVE:  # and valid calls got through to the store
        assert 200 in seen[("get", "/api/v1/worklist")]
        assert seen[("post", "/api/v1/patients/{matricule}/relationships")] & {201, 403}
