"""Benchmark of the security layer, printed in one run (``python bench/security.py``).

Figures (medians):
* floor: parse the HCP+TRC bytes, exclusive c14n of the document, one RSA-2048 PKCS#1 v1.5
  SHA-256 signature and its verification with ``cryptography`` — the least any validator does;
* validating an HCP+TRC pair from bytes (parse, both signatures, trust, every rule, replay in
  memory) — target: at most 2x the floor; also with the replay cache in SQLite;
* signing and verifying a 50 KB WS-Security message (Body, Timestamp, WS-Addressing headers).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ncp.security.keys import load_credentials
from ncp.security.permissions import REQUIRED_PERMISSIONS, Transaction
from ncp.security.pki import init_pki
from ncp.security.replay import DatabaseReplayCache, InMemoryReplayCache
from ncp.security.saml import (
    HcpClaims,
    TrcClaims,
    build_hcp_assertion,
    build_trc_assertion,
)
from ncp.security.truststore import TrustStore
from ncp.security.validation import AssertionValidator
from ncp.security.wssecurity import (
    build_security_header,
    sign_envelope,
    verify_message,
)
from ncp.xmlutil import NS, parse_xml

PATIENT = "1980010112345^^^&1.3.182.4.4&ISO"
WSSE = NS["wsse"]


def median_us(samples: list[int]) -> float:
    return statistics.median(samples) / 1000


def timed(fn: Callable[[], object]) -> int:
    t = time.perf_counter_ns()
    fn()
    return time.perf_counter_ns() - t


def pair_bytes(creds, now: dt.datetime) -> bytes:
    hcp_id = f"_{uuid.uuid4()}"
    claims = HcpClaims(subject_id="dr.peeters@be", name="Dr. An Peeters", role_code="221",
                       organisation="UZ Leuven", organisation_id="urn:oid:2.999.1",
                       locality="Leuven",
                       permissions=frozenset().union(*REQUIRED_PERMISSIONS.values()))
    hcp = build_hcp_assertion(claims, issuer="urn:idp:BE:countryB", credentials=creds, now=now,
                              assertion_id=hcp_id)
    trc = build_trc_assertion(TrcClaims(subject_id="dr.peeters@be", patient_id=PATIENT,
                                        hcp_assertion_id=hcp_id),
                              issuer="urn:initgw:BE:countryB", credentials=creds, now=now)
    sec = etree.Element(f"{{{WSSE}}}Security", nsmap={"wsse": WSSE})
    sec.append(hcp)
    sec.append(trc)
    return etree.tostring(sec)


def envelope_50k() -> etree._Element:
    soap, wsa = NS["soap"], NS["wsa"]
    env = etree.Element(f"{{{soap}}}Envelope", nsmap={"soap": soap, "wsa": wsa})
    header = etree.SubElement(env, f"{{{soap}}}Header")
    etree.SubElement(header, f"{{{wsa}}}Action").text = "urn:ihe:iti:2007:CrossGatewayQuery"
    etree.SubElement(header, f"{{{wsa}}}MessageID").text = f"urn:uuid:{uuid.uuid4()}"
    etree.SubElement(header, f"{{{wsa}}}To").text = "https://ncp.example.lu/xca"
    body = etree.SubElement(env, f"{{{soap}}}Body")
    rim = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
    resp = etree.SubElement(body, f"{{{NS['query']}}}AdhocQueryResponse", nsmap={"rim": rim})
    lst = etree.SubElement(resp, f"{{{rim}}}RegistryObjectList")
    i = 0
    while len(etree.tostring(env)) < 40_000:
        eo = etree.SubElement(lst, f"{{{rim}}}ExtrinsicObject", id=f"urn:uuid:{uuid.uuid4()}",
                              mimeType="text/xml")
        for name in ("creationTime", "languageCode", "sourcePatientId", "repositoryUniqueId"):
            slot = etree.SubElement(eo, f"{{{rim}}}Slot", name=name)
            etree.SubElement(etree.SubElement(slot, f"{{{rim}}}ValueList"),
                             f"{{{rim}}}Value").text = f"value-{i}-{name}"
        i += 1
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=300, help="iterations per figure")
    args = parser.parse_args()
    n = args.n
    now = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "pki"
        init_pki(root, ("LU", "BE"))
        creds = load_credentials(root / "be" / "signing.key", root / "be" / "signing.pem")
        trust = TrustStore(root / "trust-list.json")

        # --- floor -------------------------------------------------------------------------
        sample = pair_bytes(creds, now)
        key = creds.private_key
        pub = creds.certificate.public_key()

        def floor() -> None:
            doc = parse_xml(sample)
            data = etree.tostring(doc, method="c14n", exclusive=True)
            sig = key.sign(data, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[call-arg]
            pub.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[call-arg]

        for _ in range(20):
            floor()
        floor_us = median_us([timed(floor) for _ in range(n)])

        # --- pair validation ---------------------------------------------------------------
        pairs = [pair_bytes(creds, now) for _ in range(n + 20)]

        def run_pairs(validator: AssertionValidator) -> float:
            samples = []
            for i, data in enumerate(pairs):
                def one(data: bytes = data) -> None:
                    sec = parse_xml(data)
                    validator.validate(list(sec), transaction=Transaction.XCA_QUERY_PS,
                                       patient_id=PATIENT, peer_country="BE", now=now)
                t = timed(one)
                if i >= 20:
                    samples.append(t)
            return median_us(samples)

        pair_mem_us = run_pairs(AssertionValidator(trust, InMemoryReplayCache()))
        from ncp.store.db import make_engine, session_factory, upgrade

        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        upgrade(engine)
        pair_db_us = run_pairs(
            AssertionValidator(trust, DatabaseReplayCache(session_factory(engine))))
        engine.dispose()

        # --- 50 KB WS-Security message -----------------------------------------------------
        template = envelope_50k()
        build_security_header(template, assertions=list(parse_xml(pair_bytes(creds, now))),
                              now=now)
        copies = [copy.deepcopy(template) for _ in range(n)]
        sign_samples = []
        for env in copies:
            sign_samples.append(timed(lambda env=env: etree.tostring(
                (sign_envelope(env, creds), env)[1])))
        wire = etree.tostring(copies[0])
        verify_samples = [timed(lambda: verify_message(wire, trust=trust, peer_country="BE",
                                                       now=now)) for _ in range(n)]

    def line(label: str, us: float, note: str = "") -> None:
        print(f"  {label:<58} {us:9.1f} us  {note}".rstrip())

    print(f"security benchmark, {n} iterations each, medians")
    line(f"floor: parse + exc-c14n + RSA-2048 sign + verify ({len(sample)} B)", floor_us)
    line("validate HCP+TRC pair, replay cache in memory", pair_mem_us,
         f"({pair_mem_us / floor_us:.2f}x floor; target <= 2x)")
    line("validate HCP+TRC pair, replay cache in SQLite", pair_db_us,
         f"({pair_db_us / floor_us:.2f}x floor)")
    line(f"sign a 50 KB WS-Security message ({len(wire)} B)", median_us(sign_samples))
    line("verify a 50 KB WS-Security message (parse + verify)", median_us(verify_samples))

if __name__ == "__main__":
    main()
