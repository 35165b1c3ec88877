"""The peer corpus (issue 12): request messages laid out as the reference gateway (OpenNCP), a
German and a Danish gateway write them, for every transaction, sent over the real HTTPS
endpoint with a client certificate, to a gateway on its DEFAULT settings.

The files hold no assertion and no key: the signed HCP and TRC assertions are issued at test
time by the test PKI (a Belgian signer) and put where ``@@ASSERTIONS@@`` stands; the other
``@@NAME@@`` markers are filled with fresh ids, the current time and the documents the
conversation has found. What each layout reproduces, and from which description, is in the
README beside the files.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lxml import etree

from ncp.app import create_app
from ncp.ihe import registry, xcpd
from ncp.ihe.codes import QueryResponseCode, ResponseStatus
from ncp.ihe.schemas import validate_body
from ncp.ihe.xca import query, retrieve
from ncp.ihe.xcpd import hl7_now
from ncp.ihe.xdr import submit
from ncp.soap import parse_request as parse_soap
from ncp.store.dispensing import Dispensing
from ncp.testing.server import free_port, running_server
from ncp.xmlutil import parse_xml
from tests.gateway.conftest import GatewayEnv, patient
from tests.gateway.peer import HOME, PHARMACIST, REPOSITORY, dispensation, read_answer

CORPUS = Path(__file__).parent
PEERS = ("openncp", "de", "dk")
TRANSACTIONS = ("xcpd.xml", "xca_query_ps.xml", "xca_query_ep.xml", "xca_retrieve.xml",
                "xdr_submit.xml", "xdr_discard.xml")
_MARK = re.compile(rb"@@([A-Z0-9_]+)@@")
#: Content types as each peer sends them (the Danish templates carry no action parameter).
_WITH_ACTION = {"openncp": True, "de": True, "dk": False}


@pytest.fixture
def https_gateway(env_factory) -> Iterator[tuple[str, GatewayEnv]]:  # type: ignore[no-untyped-def]
    """The gateway on its default settings (only the port and folders are the test's)."""
    env = env_factory(port=free_port())
    with running_server(create_app(env.settings), env.settings) as url:
        yield url, env


class Conversation:
    """One peer talking to our gateway over HTTPS, as its layout has it."""

    def __init__(self, peer: str, url: str, env: GatewayEnv) -> None:
        self.peer, self.url, self.env = peer, url, env
        ctx = ssl.create_default_context(cafile=str(env.pki / "lu" / "ca.pem"))
        ctx.load_cert_chain(str(env.be.tls_cert), str(env.be.tls_key))
        self.client = httpx.Client(verify=ctx, timeout=60)
        self.patient = patient(0)
        #: A portal session's assertions (HCP, TRC), sent again on every request when set.
        self.session: list[etree._Element] | None = None

    def __enter__(self) -> Conversation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def fill(self, name: str, values: dict[str, bytes], *, path: str, with_trc: bool = True,
             hcp=None) -> bytes:  # type: ignore[no-untyped-def]
        kw = {"hcp": hcp} if hcp is not None else {}
        if self.session is not None:
            assertions = self.session if with_trc else self.session[:1]
        else:
            assertions = self.env.be.assertions(self.patient if with_trc else None,
                                                with_trc=with_trc, **kw)
        now = dt.datetime.now(dt.UTC)
        common = {
            "ASSERTIONS": b"".join(etree.tostring(a) for a in assertions),
            "MESSAGE_ID": f"urn:uuid:{uuid.uuid4()}".encode(),
            "HL7_NOW": hl7_now().encode(),
            "DTM": now.strftime("%Y%m%d%H%M%S").encode(),
            "HOME": HOME.encode(), "HOME_URN": f"urn:oid:{HOME}".encode(),
            "REPOSITORY": REPOSITORY.encode(), "MATRICULE": self.patient.extension.encode(),
            "SS_UID": f"2.25.{uuid.uuid4().int}".encode(),
            "ENDPOINT": (self.url + path).encode(),
        }
        raw = (CORPUS / self.peer / name).read_bytes()
        assert b"BEGIN" not in raw and b"<saml" not in raw.lower()   # no stored key/assertion

        fresh: dict[str, bytes] = {}

        def value(m: re.Match[bytes]) -> bytes:
            key = m.group(1).decode()
            if key.startswith("UUID"):   # one fresh UUID per marker name, within the message
                return fresh.setdefault(key, str(uuid.uuid4()).encode())
            return {**common, **values}[key]

        return _MARK.sub(value, raw)

    def post(self, path: str, body: bytes, action: str) -> tuple[bytes, str]:
        ct = "application/soap+xml; charset=UTF-8"
        if _WITH_ACTION[self.peer]:
            ct += f'; action="{action}"'
        # the filled message is lawful SOAP whose body validates against the eHDSI schemas
        msg = parse_soap(body, ct, max_bytes=50_000_000)
        tx = registry.by_request_action(action)
        assert tx is not None
        validate_body(msg.body_element, tx, "request")
        r = self.client.post(self.url + path, content=body, headers={"content-type": ct})
        assert r.status_code == 200, (self.peer, path, r.content[-800:])
        return r.content, r.headers["content-type"]

    def answer(self, path: str, body: bytes, action: str):  # type: ignore[no-untyped-def]
        data, ct = self.post(path, body, action)
        return read_answer(data, ct, self.env.trust)


def _query(c: Conversation, name: str) -> query.QueryResponse:
    msg = c.answer("/ws/xca", c.fill(name, {}, path="/ws/xca"), registry.ITI_38.request_action)
    validate_body(msg.body_element, registry.ITI_38, "response")
    return query.parse_response(msg.body_element)


def _retrieve(c: Conversation, uid: str) -> bytes:
    msg = c.answer("/ws/xca", c.fill("xca_retrieve.xml", {"DOCUMENT_UID": uid.encode()},
                                          path="/ws/xca"),
                   registry.ITI_39.request_action)
    got = retrieve.parse_response(msg.body_element, msg.attachments)
    assert got.status is ResponseStatus.SUCCESS, got.errors
    return got.documents[0].document


def _submit(c: Conversation, name: str, ed: bytes) -> submit.RegistryResponse:
    values = {"ED_B64": base64.b64encode(ed), "ED_SIZE": str(len(ed)).encode(),
              "ED_SHA1": hashlib.sha1(ed).hexdigest().encode(),  # noqa: S324 (XDS hash)
              "ED_XDS_UID": f"2.25.{uuid.uuid4().int}".encode()}
    msg = c.answer("/ws/xdr", c.fill(name, values, hcp=PHARMACIST, path="/ws/xdr"),
                   registry.ITI_41.request_action)
    return submit.parse_response(msg.body_element)


def test_every_transaction_file_is_there_with_a_readme() -> None:
    for peer in PEERS:
        assert (CORPUS / peer / "README.md").is_file(), peer
        for name in TRANSACTIONS:
            raw = (CORPUS / peer / name).read_bytes()
            assert b"@@ASSERTIONS@@" in raw and b"Timestamp" not in raw, (peer, name)
            assert b"ds:Signature" not in raw and b"BinarySecurityToken" not in raw


@pytest.mark.parametrize("peer", PEERS)
def test_a_peer_conversation_on_default_settings(https_gateway, peer: str) -> None:  # type: ignore[no-untyped-def]
    """Discovery, PS query and retrieve, eP query and retrieve, eD submit and its discard."""
    url, env = https_gateway
    with Conversation(peer, url, env) as c:
        _converse(c, env)


def _converse(c: Conversation, env: GatewayEnv) -> None:
    # XCPD: our patient found (UUID message ids; the German layout adds a KVNR id)
    msg = c.answer("/ws/xcpd", c.fill("xcpd.xml", {}, path="/ws/xcpd", with_trc=False),
                   registry.ITI_55.request_action)
    validate_body(msg.body_element, registry.ITI_55, "response")
    found = xcpd.parse_response(msg.body_element)
    assert found.query_response_code is QueryResponseCode.OK, found.details
    assert found.patients[0].ids[0].extension == c.patient.extension
    # Patient Summary: listed, then retrieved
    ps = _query(c, "xca_query_ps.xml")
    assert ps.status is ResponseStatus.SUCCESS, ps.errors
    assert ps.entries and {e.class_code.code for e in ps.entries} == {"60591-5"}
    document = parse_xml(_retrieve(c, ps.entries[0].unique_id))
    assert document.tag == "{urn:hl7-org:v3}ClinicalDocument"
    # ePrescription: listed, retrieved, dispensed abroad, and the dispensation discarded
    ep = _query(c, "xca_query_ep.xml")
    assert ep.status is ResponseStatus.SUCCESS, ep.errors
    pivot = _retrieve(c, ep.entries[0].unique_id)
    rx = parse_xml(pivot).find("{urn:hl7-org:v3}id").get("extension").removesuffix("-P")
    before = Dispensing(env.records).prescription(rx).packages_dispensed
    ed = dispensation(pivot, packages=1)
    done = _submit(c, "xdr_submit.xml", ed)
    assert done.status is ResponseStatus.SUCCESS, done.errors
    assert Dispensing(env.records).prescription(rx).packages_dispensed == before + 1
    undone = _submit(c, "xdr_discard.xml", ed)
    assert undone.status is ResponseStatus.SUCCESS, undone.errors
    assert Dispensing(env.records).prescription(rx).packages_dispensed == before


def test_the_reference_gateways_multi_class_orcd_query(https_gateway) -> None:  # type: ignore[no-untyped-def]
    url, env = https_gateway
    with Conversation("openncp", url, env) as c:
        res = _query(c, "xca_query_orcd.xml")
    assert res.status is ResponseStatus.SUCCESS, res.errors
    assert [e.class_code.code for e in res.entries] == ["11502-2"]   # the one shared OrCD


def test_an_openncp_portal_session_sends_the_same_assertions_again(https_gateway) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 item 2: the reference gateway's portal sends one HCP assertion for discovery,
    query and retrieve, and one TRC for the patient's query and retrieve."""
    url, env = https_gateway
    with Conversation("openncp", url, env) as c:
        c.session = env.be.assertions(c.patient)
        msg = c.answer("/ws/xcpd", c.fill("xcpd.xml", {}, path="/ws/xcpd", with_trc=False),
                       registry.ITI_55.request_action)
        assert xcpd.parse_response(msg.body_element).query_response_code is \
            QueryResponseCode.OK
        ps = _query(c, "xca_query_ps.xml")
        assert ps.status is ResponseStatus.SUCCESS, ps.errors
        _retrieve(c, ps.entries[0].unique_id)
