"""Incoming TLS client certificates are pinned to the registered peer gateways (issue 14 item
5), on SQLite and PostgreSQL: a country registered in the peers directory is accepted only
from a certificate of its registered TLS anchor, and with ``require_registered_peers`` a
country absent from the directory is refused."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from ncp.gateway import build_gateway
from ncp.store.db import session_factory
from ncp.store.peers import PeerStore
from tests.gateway.conftest import GatewayEnv, patient
from tests.gateway.peer import Peer


def register(env: GatewayEnv, country: str, anchor_country: str) -> None:
    PeerStore(session_factory(env.engine)).upsert(
        country=country, name=f"NCPeH {country}", home_community_id="2.999.1",
        endpoints={}, source="manual", now=dt.datetime.now(dt.UTC),
        tls_anchor_pem=(env.pki / anchor_country.lower() / "ca.pem").read_text())


def gateway(env: GatewayEnv, **settings: object) -> GatewayEnv:
    s = env.settings.model_copy(update=settings)
    return replace(env, settings=s, gateway=build_gateway(s, env.engine, env.records))


def test_a_registered_peer_is_pinned_to_its_anchor(any_env: GatewayEnv) -> None:
    register(any_env, "BE", "FR")  # the directory says BE's gateway is under another CA
    env = gateway(any_env)
    r = env.post("xcpd", env.be.xcpd(patient(0).extension))
    assert r.status == 400 and b"SecurityTokenUnavailable" in r.body
    register(any_env, "BE", "BE")
    env = gateway(any_env)  # (a fresh process: the directory is cached for a few seconds)
    assert env.post("xcpd", env.be.xcpd(patient(0).extension)).status == 200


def test_unregistered_peers_are_refused_when_required(any_env: GatewayEnv) -> None:
    register(any_env, "BE", "BE")
    env = gateway(any_env, require_registered_peers=True)
    assert env.post("xcpd", env.be.xcpd(patient(0).extension)).status == 200
    fr = Peer(env.pki, "FR")
    r = env.post("xcpd", fr.xcpd(patient(0).extension), peer=fr)
    assert r.status == 400 and b"SecurityTokenUnavailable" in r.body
    # Without the requirement, an unregistered country is judged by the trust list alone.
    assert gateway(any_env).post("xcpd", fr.xcpd(patient(0).extension), peer=fr).status == 200


def test_an_smp_endpoint_certificate_pins_the_same_issuer(any_env: GatewayEnv) -> None:
    """``ncp peers import-smp`` registers the endpoint's server certificate: Belgium's client
    certificate (same CA) is accepted, France's is not."""
    PeerStore(session_factory(any_env.engine)).upsert(
        country="BE", name="NCPeH BE", home_community_id="2.999.1", endpoints={},
        source="smp:test", now=dt.datetime.now(dt.UTC),
        tls_anchor_pem=(any_env.pki / "be" / "tls-server.pem").read_text())
    env = gateway(any_env)
    assert env.post("xcpd", env.be.xcpd(patient(0).extension)).status == 200
    register(any_env, "FR", "BE")
    fr = Peer(env.pki, "FR")
    env = gateway(any_env)
    assert env.post("xcpd", fr.xcpd(patient(0).extension), peer=fr).status == 400


def test_production_refuses_unregistered_peers_by_default(any_env: GatewayEnv) -> None:
    """``NCP_REQUIRE_REGISTERED_PEERS`` unset: fail closed in production, open in development
    (where the tests' and the demo's peers come and go)."""
    assert any_env.settings.require_registered_peers is None
    fr = Peer(any_env.pki, "FR")
    production = gateway(any_env, environment="production")
    r = production.post("xcpd", fr.xcpd(patient(0).extension), peer=fr)
    assert r.status == 400 and b"SecurityTokenUnavailable" in r.body
    register(any_env, "FR", "FR")
    production = gateway(any_env, environment="production")
    assert production.post("xcpd", fr.xcpd(patient(0).extension), peer=fr).status == 200
    # the explicit setting wins over the environment's default
    assert gateway(any_env, environment="production", require_registered_peers=False
                   ).settings.require_registered_peers_effective is False
    assert gateway(any_env).settings.require_registered_peers_effective is False
