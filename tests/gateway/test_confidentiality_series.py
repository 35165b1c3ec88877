"""Confidentiality and mask belong to the document series (issue 14 item 4), on SQLite and
PostgreSQL: Jean sets his patient summary to V, his GP uploads a new version (supersedes) with
the default level; the new version stays V, the cardiologist cannot read it and a Belgian
retrieve is refused. Only the patient lowers the level again."""

from __future__ import annotations

import pytest

from ncp import demo
from ncp.cda.demo import national_documents
from ncp.ihe.codes import ResponseStatus
from ncp.store.errors import AccessDenied
from ncp.store.policy import Actor
from ncp.store.vocabulary import Confidentiality, DocumentType
from tests.gateway.conftest import GatewayEnv, patient
from tests.gateway.test_xca import ask, fetch


def test_a_new_version_keeps_the_patients_confidentiality(any_env: GatewayEnv) -> None:
    env = any_env
    records = env.records
    jean = env.patient_db_id(0)
    gp = records.professional_actor(records.professional_id("LU-HP-100001"))
    cardiologist = records.professional_actor(records.professional_id("LU-HP-100002"))
    (ps,) = records.list_documents(gp, jean, doc_type=DocumentType.PATIENT_SUMMARY)
    records.set_confidentiality(Actor.patient(jean), ps.unique_id, Confidentiality.VERY_RESTRICTED)
    content = national_documents(demo.PATIENTS[0].patient)[0].content
    new = records.add_document(gp, jean, doc_type=DocumentType.PATIENT_SUMMARY,
                               title="Résumé patient (mis à jour)", media_type="text/xml",
                               content=content, supersedes=ps.unique_id)
    assert new.version == ps.version + 1
    assert new.confidentiality is Confidentiality.VERY_RESTRICTED
    with pytest.raises(AccessDenied):
        records.read_document(cardiologist, new.unique_id)
    # Belgium: not listed, and a retrieve by its id is refused like an unknown document.
    listed = ask(env, env.be.query(patient(0)))
    assert new.unique_id not in [e.unique_id for e in listed.entries]
    res, _ = fetch(env, env.be.retrieve(patient(0), [new.unique_id]))
    assert not res.documents and res.status is ResponseStatus.FAILURE
    assert [(e.error_code, e.location) for e in res.errors] == [
        ("ERROR_GENERIC_DOCUMENT_MISSING", new.unique_id),
        ("XDSDocumentUniqueIdError", new.unique_id)]
    # The GP cannot lower it; a stricter level asked with a new version is kept.
    with pytest.raises(AccessDenied):
        records.set_confidentiality(gp, new.unique_id, Confidentiality.NORMAL)
    # The patient lowers it: the series is shared again.
    records.set_confidentiality(Actor.patient(jean), new.unique_id, Confidentiality.NORMAL)
    res, _ = fetch(env, env.be.retrieve(patient(0), [new.unique_id]))
    assert [d.document_unique_id for d in res.documents] == [new.unique_id]
