"""Lawful message shapes real peers send (issue 12 items 3, 4, 8, 9, 12), through the gateway:
UUID/RUID roots and root-only ids in XCPD, foreign patient id components, XML comments and
processing instructions anywhere, another community's query, value lists as peers write them.
"""

from __future__ import annotations

import copy
import re
import uuid

import pytest
from lxml import etree

from ncp.ihe import xcpd
from ncp.ihe.codes import ClassCode, QueryResponseCode, ResponseStatus, StatusType
from ncp.ihe.identifiers import II, PatientId
from ncp.ihe.rim import Coded
from ncp.ihe.xca import query
from ncp.ihe.xcpd import Device, PatientDiscoveryQuery, PatientDiscoveryRequest, hl7_now
from ncp.ihe.xcpd import build_request as build_xcpd
from ncp.ihe.xdr import submit
from ncp.store.models import Dispensation
from tests.gateway.conftest import GatewayEnv, patient
from tests.gateway.peer import HOME, LU_ROOT, PHARMACIST, Sent, dispensation, read_answer
from tests.gateway.test_xdr import pivot_ep

XCPD_ACTION = "urn:hl7-org:v3:PRPA_IN201305UV02:CrossGatewayPatientDiscovery"
LOINC = "2.16.840.1.113883.6.1"


def xcpd_sent(env: GatewayEnv, ids: tuple[II, ...], *, root: str) -> Sent:
    """A discovery whose message, device and query ids all have the root ``root``."""
    request = PatientDiscoveryRequest(
        message_id=II(root=root, extension=str(uuid.uuid4())), creation_time=hl7_now(),
        sender=Device(id=II(root=root), home_community_id="2.999.32.99"),
        receiver=Device(id=II(root=HOME), home_community_id=HOME),
        query=PatientDiscoveryQuery(query_id=II(root=root, extension=str(uuid.uuid4())),
                                    patient_ids=ids))
    env_el = env.be.envelope(build_xcpd(request), XCPD_ACTION,
                             env.be.assertions(None, with_trc=False))
    return env.be.send(env_el)


def discovery(env: GatewayEnv, sent: Sent) -> xcpd.PatientDiscoveryResponse:
    r = env.post("xcpd", sent)
    assert r.status == 200, r.body[:600]
    return xcpd.parse_response(read_answer(r.body, r.content_type, env.trust).body_element)


# --- item 3: II/@root is uid = OID | UUID | RUID ------------------------------------------------

@pytest.mark.parametrize("root", ["4ad4e0af-59bc-4233-aa50-27ff21883104", "OpenNCP", "2.999"])
def test_uuid_and_ruid_message_ids_get_an_answer(env: GatewayEnv, root: str) -> None:
    res = discovery(env, xcpd_sent(env, (II(root=LU_ROOT, extension=patient(0).extension),),
                                   root=root))
    assert res.query_response_code is QueryResponseCode.OK
    assert res.target_message_id.root == root   # echoed as received


def test_a_root_only_patient_id_gets_an_answer_never_a_fault(env: GatewayEnv) -> None:
    for ids in ((II(root=LU_ROOT),), (II(root="1.2.276.0.76.4.8"),)):
        res = discovery(env, xcpd_sent(env, ids, root="4ad4e0af-59bc-4233-aa50-27ff21883104"))
        assert res.query_response_code is QueryResponseCode.AE
        assert not res.patients


# --- item 4: foreign identifier components; our matricules stay strict --------------------------

def test_a_malformed_matricule_of_ours_is_no_patient(env: GatewayEnv) -> None:
    good = patient(0).extension
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)           # wrong Verhoeff digit
    for ext in (bad, f"{good}|X", f"{good}0"):
        res = discovery(env, xcpd_sent(env, (II(root=LU_ROOT, extension=ext),), root="2.999"))
        assert res.query_response_code is not QueryResponseCode.OK and not res.patients


def test_a_german_patient_id_in_a_query_is_answered_no_match_not_pi_generic(
        env: GatewayEnv) -> None:
    german = PatientId.from_cx("X110571344|ABC123^^^&1.2.276.0.76.4.8&ISO")
    r = env.post("xca", env.be.query(german, ClassCode.PATIENT_SUMMARY))
    assert r.status == 200, r.body[:500]
    res = query.parse_response(read_answer(r.body, r.content_type, env.trust).body_element)
    assert res.status is ResponseStatus.FAILURE
    assert res.errors[0].error_code != "ERROR_PI_GENERIC"


# --- item 9: AdhocQuery/@home -----------------------------------------------------------------

def _query(env: GatewayEnv, q: query.FindDocumentsQuery) -> query.QueryResponse:
    env_el = env.be.envelope(query.build_request(q), "urn:ihe:iti:2007:CrossGatewayQuery",
                             env.be.assertions(q.patient_id))
    r = env.post("xca", env.be.send(env_el))
    assert r.status == 200, r.body[:500]
    return query.parse_response(read_answer(r.body, r.content_type, env.trust).body_element)


def _find(pid: PatientId, codes: tuple[str, ...], **kw: object) -> query.FindDocumentsQuery:
    return query.FindDocumentsQuery(
        patient_id=pid, statuses=(StatusType.APPROVED,),
        class_codes=tuple(Coded(code=c, scheme=LOINC) for c in codes), **kw)  # type: ignore[arg-type]


def test_another_communitys_query_is_xds_unknown_community(env: GatewayEnv) -> None:
    pid = patient(0)
    res = _query(env, _find(pid, ("60591-5",), home_community_id="urn:oid:2.999.32.99"))
    assert res.status is ResponseStatus.FAILURE and not res.entries
    # IHE's code (NIST XCA 15815) after the dictionary's, which the reference client reads
    assert [e.error_code for e in res.errors] == ["ERROR_GENERIC", "XDSUnknownCommunity"]
    for ours in (f"urn:oid:{HOME}", f"URN:OID:{HOME}", None):
        ok = _query(env, _find(pid, ("60591-5",), home_community_id=ours))
        assert ok.status is ResponseStatus.SUCCESS and ok.entries


# --- item 12: value lists as the reference gateway writes them ----------------------------------

def test_a_multi_class_orcd_query_in_one_quoted_string_is_answered(env: GatewayEnv) -> None:
    pid = patient(0)
    q = query.build_request(_find(pid, ("11502-2", "34105-7", "18748-4")))
    slot = q.xpath("//rim:Slot[@name='$XDSDocumentEntryClassCode']/rim:ValueList/rim:Value",
                   namespaces={"rim": "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"})[0]
    slot.text = f"('11502-2^^{LOINC},34105-7^^{LOINC},18748-4^^{LOINC}')"
    env_el = env.be.envelope(q, "urn:ihe:iti:2007:CrossGatewayQuery", env.be.assertions(pid))
    r = env.post("xca", env.be.send(env_el))
    res = query.parse_response(read_answer(r.body, r.content_type, env.trust).body_element)
    assert res.status is ResponseStatus.SUCCESS, res.errors
    assert [e.class_code.code for e in res.entries] == ["11502-2"]   # the shared lab report


# --- item 8: comments and processing instructions anywhere ------------------------------------

_BETWEEN = re.compile(rb">(?=\s*<)")


def _inject(data: bytes, n: int, what: bytes) -> bytes:
    """``data`` with ``what`` inserted after the ``n``-th tag that is followed by a tag."""
    spots = [m.end() for m in _BETWEEN.finditer(data)]
    at = spots[n % len(spots)]
    return data[:at] + what + data[at:]


def _context(data: bytes, n: int) -> bytes:
    spots = [m.end() for m in _BETWEEN.finditer(data)]
    at = spots[n % len(spots)]
    return data[max(0, at - 80):at + 80]


def _spots(data: bytes) -> int:
    return len(_BETWEEN.findall(data))


_MAKERS = {
    "xcpd": lambda env: env.be.xcpd(patient(0).extension),
    "xca-query": lambda env: env.be.query(patient(0), ClassCode.PATIENT_SUMMARY),
    "xca-retrieve": lambda env: env.be.retrieve(patient(0), ["1.2.3.unknown"]),
    "xdr": lambda env: env.be.submit(patient(0), b"<not-an-ed/>", hcp=PHARMACIST),
}


@pytest.mark.parametrize("endpoint", list(_MAKERS))
def test_comments_between_elements_change_nothing_and_pis_never_crash(
        env: GatewayEnv, endpoint: str) -> None:
    """A comment anywhere between elements is lawful XML and outside every signature
    (exclusive c14n without comments): the answer is the one without it. A processing
    instruction may break a signature (c14n keeps it), so it may be refused, never a 500."""
    maker = _MAKERS[endpoint]
    path = endpoint.split("-")[0]
    total = _spots(maker(env).body)
    step = max(1, total // 40)   # about 40 places per message, spread over all of it
    for n in range(0, total, step):
        for what, lawful in ((b"<!-- peer note -->", True), (b"<?peer note?>", False)):
            sent = maker(env)
            r = env.post(path, Sent(_inject(sent.body, n, what), sent.content_type, ""))
            assert r.status != 500 and r.status < 600, (n, what, r.body[:300])
            if lawful:
                assert r.status == 200, (n, _context(sent.body, n), r.body[-700:])


def test_an_ed_with_comments_and_pis_in_the_document_is_recorded(env: GatewayEnv) -> None:
    """The crash of issue 12: a comment as a direct child of ClinicalDocument (HTTP 500)."""
    pid = patient(0)
    _, ep, _rx = pivot_ep(env)
    ed = dispensation(ep, packages=1)
    root_end = ed.index(b">", ed.index(b"<ClinicalDocument")) + 1
    ed = (ed[:root_end] + b"<!-- sent by the pharmacy system --><?app hint?>" + ed[root_end:])
    ed = ed.replace(b"</ClinicalDocument>", b"<!-- end --></ClinicalDocument><!-- after -->")
    r = env.post("xdr", env.be.submit(pid, ed, hcp=PHARMACIST))
    assert r.status == 200, r.body[:500]
    res = submit.parse_response(read_answer(r.body, r.content_type, env.trust).body_element)
    assert res.status is ResponseStatus.SUCCESS, res.errors
    assert env.count(Dispensation) == 1


# --- no input gives a server error ------------------------------------------------------------

_NASTY = ["", " ", "x" * 5000, "urn:uuid:", "^^^&&ISO", "'", "('a'", "\u202e\u0000"[:1],
          "1.2.3", "-1", "99999999999999999999", "2026-13-45", "../../etc/passwd", "%00",
          "'1956031212359^^^&1.3.182.4.4&ISO'", "urn:oid:", "\U0001f600", "&", "]]>"]


def _mutate(body: etree._Element, rng) -> None:  # type: ignore[no-untyped-def]
    """One random, well-formed change: remove, duplicate or empty an element, or give a
    text or an attribute a hostile value, or add a comment/PI child."""
    elements = [e for e in body.iter() if isinstance(e.tag, str)]
    el = rng.choice(elements)
    kind = rng.randrange(7)
    parent = el.getparent()
    if kind == 0 and parent is not None:
        parent.remove(el)
    elif kind == 1 and parent is not None:
        el.addnext(copy.deepcopy(el))
    elif kind == 2:
        el.text = rng.choice(_NASTY)
    elif kind == 3 and el.attrib:
        el.set(rng.choice(list(el.attrib)), rng.choice(_NASTY))
    elif kind == 4:
        el.attrib.clear()
    elif kind == 5:
        el.insert(0, etree.Comment(" x ") if rng.random() < 0.5 else etree.PI("x", "y"))
    else:
        for child in list(el):
            el.remove(child)
        el.text = None


def _bodies(env: GatewayEnv) -> dict[str, tuple[str, etree._Element, list[etree._Element]]]:
    pid = patient(0)
    out = {}
    for name, sent, path in (("xcpd", env.be.xcpd(pid.extension), "xcpd"),
                             ("query", env.be.query(pid, ClassCode.EPRESCRIPTION), "xca"),
                             ("retrieve", env.be.retrieve(pid, ["1.2.3"]), "xca"),
                             ("submit", env.be.submit(pid, b"<x/>", hcp=PHARMACIST), "xdr")):
        envelope = etree.fromstring(sent.body)
        body = envelope.find("{http://www.w3.org/2003/05/soap-envelope}Body")[0]
        out[name] = (path, body, [])
    return out


@pytest.mark.parametrize("schema", [True, False], ids=["xsd-on", "xsd-off"])
def test_no_mutated_request_gives_a_server_error(env: GatewayEnv, schema: bool) -> None:
    """Signed, well-formed requests with random changes reach every parser (with the request
    XSD check on, as by default, and off, so that the readers themselves are tried): every
    answer is an answer or a fault, never HTTP 500, and nothing but audit rows is written."""
    import random

    from tests.gateway.peer import DOCTOR

    env.gateway.validate_request_schema = schema
    rng = random.Random(1205 + schema)
    pid = patient(0)
    actions = {"xcpd": XCPD_ACTION, "query": "urn:ihe:iti:2007:CrossGatewayQuery",
               "retrieve": "urn:ihe:iti:2007:CrossGatewayRetrieve",
               "submit": "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"}
    before = env.counts()
    for name, (path, body, _) in _bodies(env).items():
        for _ in range(25):
            mutated = copy.deepcopy(body)
            for _ in range(rng.randrange(1, 4)):
                _mutate(mutated, rng)
            hcp = PHARMACIST if name == "submit" else DOCTOR
            assertions = env.be.assertions(None if name == "xcpd" else pid, hcp=hcp,
                                           with_trc=name != "xcpd")
            sent = env.be.send(env.be.envelope(mutated, actions[name], assertions))
            r = env.post(path, sent)
            assert r.status < 500, (name, r.status, r.body[-400:])
    after = env.counts()
    for table in ("documents", "dispensations", "pivot_cache"):
        assert after[table] == before[table], table
