"""The replay cache lives in the database: shared by processes, atomic per request."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from ncp.security.errors import ReplayDetected
from ncp.security.permissions import Transaction
from ncp.security.replay import DatabaseReplayCache
from ncp.security.validation import AssertionValidator
from ncp.store.db import make_engine, session_factory
from ncp.store.models import AssertionReplay
from tests.security.conftest import NOW, PATIENT, wrap_in_security


def _validate(validator, hcp, trc, now=NOW, message_id=None):
    return validator.validate(wrap_in_security(hcp, trc), transaction=Transaction.XCA_QUERY_PS,
                              patient_id=PATIENT, peer_country="BE", now=now,
                              message_id=message_id)


def _forged(be_creds, original):
    """Another validly signed HCP assertion under ``original``'s id."""
    from dataclasses import replace

    from ncp.security.saml import build_hcp_assertion
    from tests.security.conftest import HCP

    return build_hcp_assertion(replace(HCP, name="Dr. Someone Else"),
                               issuer="urn:idp:BE:countryB", credentials=be_creds, now=NOW,
                               lifetime=dt.timedelta(hours=1), assertion_id=original.get("ID"))


def test_reuse_is_lawful_and_replay_refused_across_processes(any_db_engine, trust, make_pair,
                                                             be_creds):
    # two engines on the same database stand for two gateway processes
    other = make_engine(any_db_engine.url.render_as_string(hide_password=False))
    try:
        first = AssertionValidator(trust, DatabaseReplayCache(session_factory(any_db_engine)))
        second = AssertionValidator(trust, DatabaseReplayCache(session_factory(other)))
        hcp, trc = make_pair()
        _validate(first, hcp, trc, message_id="urn:uuid:a")
        # the same assertions in the next request of the session, served by another process
        _validate(second, hcp, trc, message_id="urn:uuid:b")
        # another assertion under the seen HCP id: a replay
        with pytest.raises(ReplayDetected) as info:
            _validate(second, _forged(be_creds, hcp), trc, message_id="urn:uuid:c")
        assert info.value.reason == "replay" and info.value.error.code == "1001"
        # the same message again: refused whatever it carries
        with pytest.raises(ReplayDetected) as info:
            _validate(first, hcp, trc, message_id="urn:uuid:b")
        assert info.value.reason == "message-replay"
        with session_factory(any_db_engine)() as s:
            # per assertion its id and its content row, per accepted message its id
            assert s.scalar(select(func.count()).select_from(AssertionReplay)) == 6
    finally:
        other.dispose()


def test_replay_of_one_id_records_nothing(any_db_engine, trust, make_pair, be_creds):
    validator = AssertionValidator(trust, DatabaseReplayCache(session_factory(any_db_engine)))
    hcp, trc = make_pair()
    _validate(validator, hcp, trc)
    fresh_hcp, _ = make_pair()
    # a fresh HCP with the already used TRC: refused, and the fresh HCP id is not consumed
    trc2 = make_pair(hcp_ref=fresh_hcp.get("ID"))[1]
    trc2.set("ID", trc.get("ID"))  # same TRC id: replay of the TRC (signature re-made below)
    from ncp.security.xmldsig import sign_enveloped

    trc2.remove(trc2.find("{http://www.w3.org/2000/09/xmldsig#}Signature"))
    sign_enveloped(trc2, be_creds)
    with pytest.raises(ReplayDetected):
        _validate(validator, fresh_hcp, trc2)
    with session_factory(any_db_engine)() as s:
        ids = set(s.scalars(select(AssertionReplay.assertion_id)))
    assert fresh_hcp.get("ID") not in ids


def test_expired_id_may_be_seen_again(any_db_engine, trust, make_pair):
    validator = AssertionValidator(trust, DatabaseReplayCache(session_factory(any_db_engine)))
    hcp, trc = make_pair()
    _validate(validator, hcp, trc)
    cache = DatabaseReplayCache(session_factory(any_db_engine))
    later = NOW + dt.timedelta(hours=3)
    assert cache.register_all([(hcp.get("ID"), later + dt.timedelta(hours=1))], now=later) is None


def test_concurrent_registration_of_one_id_has_one_winner(any_db_engine):
    import threading

    caches = [DatabaseReplayCache(session_factory(any_db_engine)) for _ in range(6)]
    until = NOW + dt.timedelta(hours=1)
    results: list[str | None] = []
    barrier = threading.Barrier(len(caches))

    def register(cache: DatabaseReplayCache) -> None:
        barrier.wait()
        results.append(cache.register_all([("_race", until), (f"_own{id(cache)}", until)],
                                          now=NOW))

    threads = [threading.Thread(target=register, args=(c,)) for c in caches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=str) == [None] + ["_race"] * (len(caches) - 1)
    with session_factory(any_db_engine)() as s:
        ids = set(s.scalars(select(AssertionReplay.assertion_id)))
    # the losers recorded nothing, not even their own fresh id
    assert len(ids) == 2 and "_race" in ids
