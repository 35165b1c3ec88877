"""The initiating side's tables: the peers directory, contexts bound to one account and to
their lifetime, dispensation copies kept no longer than a discard may need them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from ncp.store.crypto import KeyRing
from ncp.store.db import session_factory
from ncp.store.errors import NotFound
from ncp.store.keys import KeyRingSource
from ncp.store.peers import CrossBorderStore, PeerStore
from tests.clock import NOW

CX = "1968051421109^^^&1.3.6.1.4.1.48336&ISO"


def test_peers_merge_records_one_transaction_at_a_time(db_engine: Engine) -> None:
    peers = PeerStore(session_factory(db_engine))
    peers.upsert(country="cy", name="NCPeH CY", home_community_id="", source="smp:a", now=NOW,
                 endpoints={"ITI-55": "https://cy/xcpd"}, tls_anchor_pem="PEM-A")
    peers.upsert(country="CY", name="", home_community_id="", source="smp:b", now=NOW,
                 endpoints={"ITI-38": "https://cy/xca"}, search_mask="<mask/>")
    cy = peers.get("CY")
    assert cy.endpoints == {"ITI-38": "https://cy/xca", "ITI-55": "https://cy/xcpd"}
    assert (cy.name, cy.tls_anchor_pem, cy.search_mask) == ("NCPeH CY", "PEM-A", "<mask/>")
    peers.upsert(country="CY", name="Cyprus", home_community_id="2.16.1", source="manual",
                 now=NOW, endpoints={"ITI-55": "https://cy2/xcpd"}, merge=False)
    cy = peers.get("CY")
    assert cy.endpoints == {"ITI-55": "https://cy2/xcpd"} and cy.tls_anchor_pem is None
    assert peers.remove("CY") and not peers.all()
    with pytest.raises(NotFound):
        peers.get("CY")


def test_contexts_belong_to_their_account_and_expire(db_engine: Engine, keyring: KeyRing) -> None:
    store = CrossBorderStore(session_factory(db_engine), KeyRingSource.fixed(keyring))
    ctx = store.open_context(account_id=7, country="be", patient_cx=CX,
                             patient_name="Emma Janssens", birth_date="1968-05-14", gender="F",
                             purpose="", now=NOW, lifetime=dt.timedelta(minutes=15))
    assert len(ctx.token) >= 32 and ctx.country == "BE"
    with pytest.raises(NotFound):
        store.context(ctx.token, account_id=8, now=NOW)  # another professional
    with pytest.raises(NotFound):
        store.confirm_context(ctx.token, account_id=7, purpose="TREATMENT",
                              now=NOW + dt.timedelta(minutes=16), lifetime=dt.timedelta(hours=2))
    ctx = store.open_context(account_id=7, country="BE", patient_cx=CX, patient_name="E",
                             birth_date=None, gender=None, purpose="", now=NOW,
                             lifetime=dt.timedelta(minutes=15))
    confirmed = store.confirm_context(ctx.token, account_id=7, purpose="EMERGENCY", now=NOW,
                                      lifetime=dt.timedelta(hours=2))
    assert confirmed.purpose == "EMERGENCY"
    assert store.context(ctx.token, account_id=7, now=NOW + dt.timedelta(minutes=119))
    with pytest.raises(NotFound):
        store.context(ctx.token, account_id=7, now=NOW + dt.timedelta(hours=2))
    assert ctx.token in [c.token for c in store.contexts_of(7, NOW)]
    assert not store.contexts_of(7, NOW + dt.timedelta(hours=3))


def test_dispensation_copies_are_emptied_after_the_discard_window(db_engine: Engine,
                                                                 keyring: KeyRing) -> None:
    store = CrossBorderStore(session_factory(db_engine), KeyRingSource.fixed(keyring))
    day = dt.timedelta(hours=24)

    def sent(n: int, at: dt.datetime) -> int:
        return store.record_dispensation(
            account_id=1, country="LU", patient_cx=CX, prescription_id=f"p^{n}",
            document_unique_id=f"1.2.3.{n}", document_id=f"1.2^{n}", product="X", packages=1,
            substituted=False, content=b"<ClinicalDocument/>", status="sent",
            outcome="accepted", now=at, keep_content=day).id

    old = sent(1, NOW)
    assert store.dispensation(old, account_id=1).content == b"<ClinicalDocument/>"
    with db_engine.connect() as conn:  # encrypted at rest, like every document
        stored = conn.exec_driver_sql(
            "SELECT ciphertext FROM crossborder_dispensations").scalar_one()
    assert b"ClinicalDocument" not in stored
    new = sent(2, NOW + day + dt.timedelta(minutes=1))
    assert store.dispensation(old, account_id=1).content == b""
    assert store.dispensation(new, account_id=1).content
    with pytest.raises(NotFound):
        store.dispensation(new, account_id=2)
    store.mark_discarded(new, outcome="discarded", now=NOW + day * 1.5)
    assert store.dispensation(new, account_id=1).status == "discarded"
