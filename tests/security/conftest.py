"""Fixtures for the security tests: one development PKI per session, assertion and SOAP builders.

Tests that alter trust (revocation, trust-list edits) work on their own copy of the PKI
(``pki_copy``) so that they cannot disturb the others.
"""

from __future__ import annotations

import datetime as dt
import http.server
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from ncp.security.keys import SigningCredentials, load_credentials
from ncp.security.permissions import REQUIRED_PERMISSIONS
from ncp.security.pki import init_pki
from ncp.security.replay import InMemoryReplayCache
from ncp.security.saml import HcpClaims, TrcClaims, build_hcp_assertion, build_trc_assertion
from ncp.security.truststore import TrustStore
from ncp.security.validation import AssertionValidator
from ncp.xmlutil import NS
from tests.clock import NOW

PATIENT = "1980010112345^^^&1.3.182.4.4&ISO"
ALL_PERMISSIONS = frozenset().union(*REQUIRED_PERMISSIONS.values())

HCP = HcpClaims(
    subject_id="dr.peeters@be",
    name="Dr. An Peeters",
    role_code="221",
    organisation="UZ Leuven",
    organisation_id="urn:oid:2.999.1.2",
    facility_type="Hospital",
    purpose_of_use="TREATMENT",
    locality="Leuven",
    permissions=ALL_PERMISSIONS,
)


@pytest.fixture(scope="session")
def pki_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pki")
    init_pki(root, ("LU", "BE"), now=NOW)
    return root


@pytest.fixture
def pki_copy(pki_root: Path, tmp_path: Path) -> Path:
    """A private copy of the session PKI for tests that change trust."""
    dest = tmp_path / "pki"
    shutil.copytree(pki_root, dest)
    return dest


@pytest.fixture(scope="session")
def trust(pki_root: Path) -> TrustStore:
    return TrustStore(pki_root / "trust-list.json")


@pytest.fixture(scope="session")
def be_creds(pki_root: Path) -> SigningCredentials:
    return load_credentials(pki_root / "be" / "signing.key", pki_root / "be" / "signing.pem")


@pytest.fixture(scope="session")
def lu_creds(pki_root: Path) -> SigningCredentials:
    return load_credentials(pki_root / "lu" / "signing.key", pki_root / "lu" / "signing.pem")


@pytest.fixture
def validator(trust: TrustStore) -> AssertionValidator:
    return AssertionValidator(trust, InMemoryReplayCache())


PairFactory = Callable[..., tuple[etree._Element, etree._Element]]


@pytest.fixture
def make_pair(be_creds: SigningCredentials) -> PairFactory:
    """Build a signed (HCP, TRC) pair as a Belgian gateway would send it, with overrides."""

    def make(
        *,
        creds: SigningCredentials | None = None,
        trc_creds: SigningCredentials | None = None,
        now: dt.datetime = NOW,
        hcp_lifetime: dt.timedelta = dt.timedelta(hours=1),
        trc_lifetime: dt.timedelta = dt.timedelta(hours=1),
        patient: str = PATIENT,
        hcp_ref: str | None = None,
        country: str = "BE",
        **hcp_changes: object,
    ) -> tuple[etree._Element, etree._Element]:
        c = creds or be_creds
        hcp_id = f"_{uuid.uuid4()}"
        hcp = build_hcp_assertion(replace(HCP, **hcp_changes), issuer=f"urn:idp:{country}:countryB",
                                  credentials=c, now=now, lifetime=hcp_lifetime,
                                  assertion_id=hcp_id)
        trc = build_trc_assertion(
            TrcClaims(subject_id=HCP.subject_id, patient_id=patient,
                      hcp_assertion_id=hcp_ref or hcp_id),
            issuer=f"urn:initgw:{country}:countryB", credentials=trc_creds or c, now=now,
            lifetime=trc_lifetime)
        return hcp, trc

    return make


def wrap_in_security(*assertions: etree._Element) -> list[etree._Element]:
    """Put assertions into one document (as a wsse:Security header would), without re-indenting."""
    sec = etree.Element(f"{{{NS['wsse']}}}Security", nsmap={"wsse": NS["wsse"]})
    for a in assertions:
        sec.append(a)
    return list(sec)


def reparse(el: etree._Element) -> etree._Element:
    """Serialise and parse again, as the receiving gateway sees the bytes."""
    from ncp.xmlutil import parse_xml

    return parse_xml(etree.tostring(el))


def soap_envelope(body_text: str = "query", *, action: str = "urn:ihe:iti:2007:CrossGatewayQuery"
                  ) -> etree._Element:
    """A minimal SOAP 1.2 envelope with WS-Addressing headers, built with lxml."""
    soap, wsa = NS["soap"], NS["wsa"]
    env = etree.Element(f"{{{soap}}}Envelope", nsmap={"soap": soap, "wsa": wsa})
    header = etree.SubElement(env, f"{{{soap}}}Header")
    etree.SubElement(header, f"{{{wsa}}}Action").text = action
    etree.SubElement(header, f"{{{wsa}}}MessageID").text = f"urn:uuid:{uuid.uuid4()}"
    etree.SubElement(header, f"{{{wsa}}}To").text = "https://ncp.example.lu/xca"
    body = etree.SubElement(env, f"{{{soap}}}Body")
    q = etree.SubElement(body, "{urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0}AdhocQueryRequest")
    q.text = body_text
    return env


@pytest.fixture
def loopback_http() -> Iterator[tuple[str, list[str]]]:
    """A tiny HTTP server on 127.0.0.1 recording every request path: (url, hits)."""
    hits: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<x/>")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/ref", hits
    finally:
        server.shutdown()
        server.server_close()
