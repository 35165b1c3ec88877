"""``ncp probe``: our conformance cases against a real foreign gateway (the demo partner,
Belgium, its own process) through the production client; and against a partner whose directory
entry is deliberately misconfigured, where the report names the misconfiguration."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

from sqlalchemy import update

from ncp import demo
from ncp.crossborder.partner import COUNTRIES, environment
from ncp.store import matricule
from ncp.store.db import make_engine
from ncp.store.peers import PeerGateway
from tests.crossborder.conftest import Country, TwoCountries

EMMA = "1968051421109"      # the demo partner's test patient (consent given)
NOBODY = "1900010100099"    # no such person in Belgium
MARIA_LU = demo.PATIENTS[1].patient.matricule
NOBODY_LU = matricule.make(dt.date(1931, 3, 3), 333)


def probe(lu: Country, *args: str) -> tuple[int, str]:
    env = environment(COUNTRIES["LU"], var_dir=lu.var, pki_dir=lu.pki,
                      port=int(lu.url.rsplit(":", 1)[1]))
    done = subprocess.run([sys.executable, "-c", "from ncp.cli import app; app()", "probe",
                           *args], env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    return done.returncode, done.stdout + done.stderr


def test_the_demo_partner_passes_every_case(two_countries: TwoCountries) -> None:
    code, out = probe(two_countries.lu, "BE", "--as", "lu-hp-100001", "--known", EMMA,
                      "--unknown", NOBODY, "--json")
    assert "{" in out, out
    report = json.loads(out[out.index("{"):])
    verdicts = {r["case"]: r["verdict"] for r in report["results"]}
    assert verdicts == {"directory": "pass", "xcpd-known": "pass", "xcpd-unknown": "pass",
                        "ps-query": "pass", "ps-retrieve": "pass",
                        "ep-query": verdicts["ep-query"]}, out
    assert verdicts["ep-query"] in ("pass", "warn")
    assert code == 0 and report["passed"] is True


def test_a_misconfigured_partner_is_named_in_the_report(two_countries: TwoCountries) -> None:
    lu = two_countries.lu
    engine = make_engine(f"sqlite:///{lu.var / 'ncp.sqlite'}")
    try:
        with engine.begin() as c:
            saved = c.execute(PeerGateway.__table__.select().where(
                PeerGateway.country == "BE")).one()._asdict()
            c.execute(update(PeerGateway).where(PeerGateway.country == "BE")
                      .values(home_community_id="", signing_anchor_pem=""))
        code, out = probe(lu, "BE", "--as", "lu-hp-100001", "--known", EMMA)
        assert code == 1, out
        assert "FAIL  directory" in out
        assert "missing: home community id, signing anchor" in out
        assert "SKIP  xcpd-known" in out
    finally:
        with engine.begin() as c:
            c.execute(update(PeerGateway).where(PeerGateway.country == "BE").values(
                home_community_id=saved["home_community_id"],
                signing_anchor_pem=saved["signing_anchor_pem"]))
        engine.dispose()


def test_our_own_gateway_passes_every_case_including_dispensing(
        two_countries: TwoCountries) -> None:
    """Belgium probes Luxembourg (this product on both sides), dispensing and discarding one
    package of Maria Da Silva's ePrescription (no other test dispenses hers)."""
    be = two_countries.be
    env = environment(COUNTRIES["BE"], var_dir=be.var, pki_dir=be.pki,
                      port=int(be.url.rsplit(":", 1)[1]))
    done = subprocess.run([sys.executable, "-c", "from ncp.cli import app; app()", "probe",
                           "LU", "--as", "be-hp-200001", "--known", MARIA_LU, "--unknown",
                           NOBODY_LU, "--pharmacist", "be-hp-200002", "--dispense"],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    out = done.stdout + done.stderr
    for case in ("directory", "xcpd-known", "xcpd-unknown", "ps-query", "ps-retrieve",
                 "ep-query", "ed-submit", "ed-discard"):
        assert f"PASS  {case}" in out, out
    assert done.returncode == 0 and "LU: conformant on every case run" in out
