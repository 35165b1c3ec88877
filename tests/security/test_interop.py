"""Interoperability: our signatures verify with the xmlsec1 tool and signxml, and theirs with ours.

Tests that need ``xmlsec1`` (Debian package xmlsec1) are skipped with the reason printed when it
is absent, except under CI (``CI=true``) where its absence is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from lxml import etree

from ncp.security.truststore import Purpose
from ncp.security.wssecurity import build_security_header, sign_envelope, verify_message
from ncp.security.xmldsig import verify_enveloped
from ncp.xmlutil import NS, parse_xml
from tests.security.conftest import NOW, soap_envelope

SAML_ASSERTION = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"


@pytest.fixture(scope="module")
def xmlsec1() -> str:
    path = shutil.which("xmlsec1")
    if path is None:
        reason = "xmlsec1 is not installed (apt-get install xmlsec1)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " and CI=true requires it")
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    return path


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def test_our_saml_signature_verifies_with_xmlsec1(xmlsec1, make_pair, pki_root, tmp_path):
    hcp, _ = make_pair()
    path = tmp_path / "hcp.xml"
    path.write_bytes(etree.tostring(hcp))
    cmd = [xmlsec1, "--verify", "--enabled-reference-uris", "same-doc",
           "--trusted-pem", str(pki_root / "be" / "ca.pem"),
           "--id-attr:ID", SAML_ASSERTION, str(path)]
    result = _run(cmd)
    assert result.returncode == 0, result.stderr
    # and xmlsec1 does see a tampered copy as broken (the check above is meaningful)
    path.write_bytes(etree.tostring(hcp).replace(b"Dr. An Peeters", b"Dr. Evil"))
    assert _run(cmd).returncode != 0


def test_xmlsec1_signature_verifies_with_ours(xmlsec1, pki_root, tmp_path, trust):
    import xmlsec

    saml = NS["saml"]
    el = etree.Element(f"{{{saml}}}Assertion", nsmap={"saml": saml}, ID="_x1", Version="2.0")
    etree.SubElement(el, f"{{{saml}}}Issuer").text = "urn:idp:BE:countryB"
    etree.SubElement(el, f"{{{saml}}}Subject").text = "signed by xmlsec1"
    sig = xmlsec.template.create(el, xmlsec.constants.TransformExclC14N,
                                 xmlsec.constants.TransformRsaSha256, ns="ds")
    el.insert(1, sig)
    ref = xmlsec.template.add_reference(sig, xmlsec.constants.TransformSha256, uri="#_x1")
    xmlsec.template.add_transform(ref, xmlsec.constants.TransformEnveloped)
    xmlsec.template.add_transform(ref, xmlsec.constants.TransformExclC14N)
    xmlsec.template.x509_data_add_certificate(
        xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(sig)))
    tmpl, out = tmp_path / "tmpl.xml", tmp_path / "signed.xml"
    tmpl.write_bytes(etree.tostring(el))
    key = f"{pki_root / 'be' / 'signing.key'},{pki_root / 'be' / 'signing.pem'}"
    result = _run([xmlsec1, "--sign", "--privkey-pem", key, "--id-attr:ID", SAML_ASSERTION,
                   "--output", str(out), str(tmpl)])
    assert result.returncode == 0, result.stderr
    verified = verify_enveloped(parse_xml(out.read_bytes()))
    trust.validate(verified.certificate, country="BE", purpose=Purpose.SIGNING, now=NOW)
    assert verified.element.findtext(f"{{{saml}}}Subject") == "signed by xmlsec1"


def test_our_message_signature_verifies_with_xmlsec1(xmlsec1, make_pair, be_creds, pki_root,
                                                     tmp_path):
    env = soap_envelope()
    build_security_header(env, assertions=make_pair(), now=NOW)
    sign_envelope(env, be_creds)
    path = tmp_path / "msg.xml"
    path.write_bytes(etree.tostring(env))
    wsu = NS["wsu"]
    cmd = [xmlsec1, "--verify", "--enabled-reference-uris", "same-doc",
           "--pubkey-cert-pem", str(pki_root / "be" / "signing.pem"),
           "--node-xpath", "/*/*[local-name()='Header']/*[local-name()='Security']/"
           "*[local-name()='Signature']"]
    for tag in (f"{NS['soap']}:Body", f"{wsu}:Timestamp", f"{NS['wsa']}:Action",
                f"{NS['wsa']}:MessageID", f"{NS['wsa']}:To"):
        cmd += ["--id-attr:Id", tag]
    result = _run([*cmd, str(path)])
    assert result.returncode == 0, result.stderr


def test_signxml_verifies_ours_and_we_verify_signxml(make_pair, be_creds, pki_root, trust):
    from signxml import XMLSigner, XMLVerifier
    from signxml.algorithms import CanonicalizationMethod

    hcp, _ = make_pair()
    cert_pem = (pki_root / "be" / "signing.pem").read_bytes()
    XMLVerifier().verify(etree.tostring(hcp), x509_cert=cert_pem, id_attribute="ID")

    saml = NS["saml"]
    el = etree.Element(f"{{{saml}}}Assertion", nsmap={"saml": saml}, ID="_s1", Version="2.0")
    etree.SubElement(el, f"{{{saml}}}Issuer").text = "urn:idp:BE:countryB"
    signed = XMLSigner(c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0
                       ).sign(el, key=(pki_root / "be" / "signing.key").read_bytes(),
                              cert=cert_pem.decode(), reference_uri="#_s1", id_attribute="ID")
    verified = verify_enveloped(parse_xml(etree.tostring(signed)))
    assert verified.certificate == be_creds.certificate


def test_message_roundtrip_through_bytes(make_pair, be_creds, trust):
    env = soap_envelope()
    build_security_header(env, assertions=make_pair(), now=NOW)
    sign_envelope(env, be_creds)
    msg = verify_message(etree.tostring(env), trust=trust, peer_country="BE", now=NOW)
    assert msg.message_signed


def test_python_xmlsec_verifies_our_rsa_and_ecdsa_signatures(make_pair, pki_root, tmp_path):
    import xmlsec
    from cryptography.hazmat.primitives import serialization

    from ncp.security.pki import _load, generate_key, issue_leaf
    from tests.security.test_validation import _creds

    ec_signer = issue_leaf(_load(pki_root / "be", "ca"), "signing", key=generate_key("ec"))
    for creds_arg, cert in ((None, (pki_root / "be" / "signing.pem").read_bytes()),
                            (_creds(ec_signer),
                             ec_signer.certificate.public_bytes(serialization.Encoding.PEM))):
        hcp, trc = make_pair(creds=creds_arg)
        for el in (hcp, trc):
            doc = parse_xml(etree.tostring(el))
            ctx = xmlsec.SignatureContext()
            ctx.key = xmlsec.Key.from_memory(cert, xmlsec.constants.KeyDataFormatCertPem)
            ctx.register_id(doc, "ID")
            ctx.verify(doc.find(f"{{{NS['ds']}}}Signature"))  # raises on failure


def test_xmlsec1_verifies_our_ecdsa_signature(xmlsec1, make_pair, pki_root, tmp_path):
    from ncp.security.pki import _load, generate_key, issue_leaf
    from tests.security.test_validation import _creds

    ec_signer = issue_leaf(_load(pki_root / "be", "ca"), "signing", key=generate_key("ec"))
    hcp, _ = make_pair(creds=_creds(ec_signer))
    path = tmp_path / "hcp.xml"
    path.write_bytes(etree.tostring(hcp))
    result = _run([xmlsec1, "--verify", "--enabled-reference-uris", "same-doc",
                   "--trusted-pem", str(pki_root / "be" / "ca.pem"),
                   "--id-attr:ID", SAML_ASSERTION, str(path)])
    assert result.returncode == 0, result.stderr
