"""The transaction registry: complete, consistent, and the only source of actions and roots."""

from __future__ import annotations

import dataclasses

import pytest

from ncp.ihe import registry, schemas
from ncp.ihe.codes import Service
from ncp.xmlutil import NS


def test_four_transactions_with_their_ehdsi_actions() -> None:
    assert set(registry.TRANSACTIONS) == {"ITI-55", "ITI-38", "ITI-39", "ITI-41"}
    assert registry.get("ITI-38").request_action == "urn:ihe:iti:2007:CrossGatewayQuery"
    assert registry.get("ITI-39").response_action == (
        "urn:ihe:iti:2007:CrossGatewayRetrieveResponse")
    assert registry.get("ITI-55").request_action == (
        "urn:hl7-org:v3:PRPA_IN201305UV02:CrossGatewayPatientDiscovery")
    assert registry.get("ITI-41").response_action == (
        "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse")


def test_lookups_are_consistent() -> None:
    for tx in registry.TRANSACTIONS.values():
        assert registry.by_request_action(tx.request_action) is tx
        assert registry.by_response_action(tx.response_action) is tx
        assert registry.by_request_root(tx.request_root) is tx
    assert registry.by_request_action("urn:ihe:iti:2007:RegistryStoredQuery") is None
    actions = [a for t in registry.TRANSACTIONS.values()
               for a in (t.request_action, t.response_action)]
    assert len(actions) == len(set(actions))


def test_roots_are_in_the_right_namespaces() -> None:
    assert registry.ITI_55.request_root == f"{{{NS['hl7']}}}PRPA_IN201305UV02"
    assert registry.ITI_38.response_root == f"{{{NS['query']}}}AdhocQueryResponse"
    assert registry.ITI_41.response_root == f"{{{NS['rs']}}}RegistryResponse"


@pytest.mark.parametrize("iti", sorted(registry.TRANSACTIONS))
def test_schemas_exist_and_declare_the_roots(iti: str) -> None:
    tx = registry.get(iti)
    for direction in ("request", "response"):
        schema = schemas.schema_for(tx, direction)
        assert schema is schemas.schema_for(tx, direction)  # compiled once, then cached


def test_audit_codes_follow_ehdsi() -> None:
    assert registry.ITI_55.audit.ehdsi_event(Service.PATIENT_IDENTIFICATION) == "EHDSI-11"
    assert registry.ITI_38.audit.ehdsi_event(Service.PATIENT_SUMMARY) == "EHDSI-21"
    assert registry.ITI_38.audit.ehdsi_event(Service.EPRESCRIPTION) == "EHDSI-31"
    assert registry.ITI_38.audit.ehdsi_event(Service.ORCD) == "EHDSI-61"
    assert registry.ITI_39.audit.ehdsi_event(Service.PATIENT_SUMMARY) == "EHDSI-22"
    assert registry.ITI_39.audit.ehdsi_event(Service.EPRESCRIPTION) == "EHDSI-32"
    assert registry.ITI_39.audit.ehdsi_event(Service.ORCD) == "EHDSI-62"
    assert registry.ITI_41.audit.ehdsi_event(Service.EDISPENSATION) == "EHDSI-41"
    assert registry.ITI_41.audit.ehdsi_event(Service.EDISPENSATION_DISCARD) == "EHDSI-42"
    assert (registry.ITI_38.audit.event_id, registry.ITI_39.audit.event_id,
            registry.ITI_41.audit.event_id) == ("110112", "110106", "110107")
    with pytest.raises(KeyError):
        registry.ITI_38.audit.ehdsi_event(Service.EDISPENSATION)
    with pytest.raises(TypeError):
        registry.ITI_38.audit.ehdsi_events[Service.ORCD] = "x"  # type: ignore[index]


def test_records_are_frozen_and_keyword_only() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        registry.ITI_38.request_action = "x"  # type: ignore[misc]
    fields = [f.name for f in dataclasses.fields(registry.Transaction)]
    with pytest.raises(TypeError):
        registry.Transaction(*["x"] * len(fields))  # type: ignore[misc]
    with pytest.raises(TypeError):
        registry.TRANSACTIONS["ITI-18"] = registry.ITI_38  # type: ignore[index]
