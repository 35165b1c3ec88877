"""Work done once per request and reused: the message's ID index, each assertion's parse, the
signature skeleton, the signing credentials. Each reuse must give exactly what redoing the work
would, and never reach past the document or the moment it was made for."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from lxml import etree

from ncp.errors import NcpError
from ncp.security import saml, validation, xmldsig
from ncp.security.keys import CredentialSource, load_credentials
from ncp.security.permissions import Transaction
from ncp.security.wssecurity import build_security_header, sign_envelope, verify_message
from ncp.xmlutil import NS
from tests.security.conftest import NOW, PATIENT, soap_envelope, wrap_in_security

DS = NS["ds"]


@pytest.fixture
def message(make_pair, be_creds, trust):
    env = soap_envelope()
    build_security_header(env, assertions=make_pair(), now=NOW)
    sign_envelope(env, be_creds)
    return verify_message(etree.tostring(env), trust=trust, peer_country="BE", now=NOW)


def _validate(validator, msg, **kw):
    return validator.validate(msg.assertions, transaction=Transaction.XCA_QUERY_PS,
                              patient_id=PATIENT, peer_country="BE", now=NOW,
                              message_id=msg.message_id, **kw)


def test_identify_reuses_the_index_and_reads_each_assertion_once(message, validator,
                                                                 monkeypatch):
    parses: list[etree._Element] = []
    real_parse = saml.parse_assertion
    monkeypatch.setattr(saml, "parse_assertion", lambda el: parses.append(el) or real_parse(el))
    monkeypatch.setattr(validation, "index_ids", lambda root: pytest.fail("indexed again"))
    for el in message.assertions:  # a face reading the claims first (ITI-39 does)
        message.read_assertion(el)
    ident = _validate(validator, message, indexed=(message.envelope, message.ids),
                      read=message.read_assertion)
    assert ident.hcp.name == "Dr. An Peeters"
    assert parses == list(message.assertions)


def test_the_message_index_is_the_one_a_fresh_indexing_makes(message):
    assert dict(message.ids) == xmldsig.index_ids(message.envelope)


def test_an_index_of_another_document_is_not_used(make_pair, validator):
    other = etree.fromstring(b"<other/>")
    # An empty index used for the assertions' document would refuse them ("duplicate-id":
    # their IDs would not designate them); it belongs to another root, so it is ignored.
    ident = validator.validate(wrap_in_security(*make_pair()),
                               transaction=Transaction.XCA_QUERY_PS, patient_id=PATIENT,
                               peer_country="BE", now=NOW, indexed=(other, {}))
    assert ident.trc is not None


def test_a_failed_read_is_not_remembered():
    reader = saml.AssertionReader()
    not_an_assertion = etree.Element("{urn:x}Thing")
    for _ in range(2):
        with pytest.raises(NcpError):
            reader(not_an_assertion)


def test_a_read_is_remembered_per_element(make_pair):
    hcp, trc = make_pair()
    reader = saml.AssertionReader()
    first = reader(hcp)
    assert reader(hcp) is first
    assert reader(trc) is not first and reader(trc).kind == saml.AssertionKind.TRC.value


def test_signatures_are_copies_of_an_untouched_skeleton(be_creds):
    root = etree.fromstring(b'<r><a ID="x1">one</a><b ID="x2">two</b></r>')
    first = xmldsig.sign_references(root, [root[0]], be_creds)
    second = xmldsig.sign_references(root, [root[1]], be_creds)
    assert first is not second
    uris = [s.find(f".//{{{DS}}}Reference").get("URI") for s in (first, second)]
    assert uris == ["#x1", "#x2"]
    digests = {s.findtext(f".//{{{DS}}}DigestValue") for s in (first, second)}
    assert len(digests) == 2 and "" not in digests
    skeleton = xmldsig._signature_template(be_creds.signature_method, (False,))
    assert skeleton.find(f".//{{{DS}}}Reference").get("URI") == "#"
    assert skeleton.findtext(f".//{{{DS}}}DigestValue") == ""
    assert skeleton.find(f"{{{DS}}}SignatureValue") is None


def test_credential_source_rereads_a_rotated_key_after_its_delay(pki_root: Path,
                                                                 tmp_path: Path) -> None:
    key, cert = tmp_path / "signing.key", tmp_path / "signing.pem"
    shutil.copy(pki_root / "be" / "signing.key", key)
    shutil.copy(pki_root / "be" / "signing.pem", cert)
    patient = CredentialSource(key, cert, recheck=3600)
    eager = CredentialSource(key, cert, recheck=0)
    before = patient()
    assert eager().certificate == before.certificate
    shutil.copy(pki_root / "lu" / "signing.key", key)
    shutil.copy(pki_root / "lu" / "signing.pem", cert)
    stat = os.stat(key)
    os.utime(key, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a new version for sure
    lu = load_credentials(pki_root / "lu" / "signing.key", pki_root / "lu" / "signing.pem")
    assert patient() is before  # within its delay: not looked at again
    assert eager().certificate == lu.certificate
