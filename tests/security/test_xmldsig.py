"""XML signature rules, each checked by an input that only that rule refuses."""

from __future__ import annotations

import time

import pytest
from lxml import etree

from ncp.security.errors import XmlSignatureError
from ncp.security.xmldsig import (
    index_ids,
    inspect_signature,
    sign_enveloped,
    verify_enveloped,
)
from tests.security.conftest import reparse

DS = "http://www.w3.org/2000/09/xmldsig#"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"


def _assertion(aid: str = "_a1", text: str = "hello") -> etree._Element:
    el = etree.Element(f"{{{SAML}}}Assertion", nsmap={"saml": SAML}, ID=aid, Version="2.0")
    etree.SubElement(el, f"{{{SAML}}}Issuer").text = "urn:test"
    etree.SubElement(el, f"{{{SAML}}}Subject").text = text
    return el


@pytest.fixture
def signed(be_creds) -> etree._Element:
    el = _assertion()
    sign_enveloped(el, be_creds)
    return reparse(el)


def _reason(fn, *args, **kw) -> str:
    with pytest.raises(XmlSignatureError) as info:
        fn(*args, **kw)
    return info.value.reason


def test_roundtrip_returns_the_covered_element_and_signer(signed, be_creds):
    verified = verify_enveloped(signed)
    assert verified.element is signed
    assert verified.certificate == be_creds.certificate


def test_signing_does_not_reindent(be_creds):
    el = _assertion(text="a\n  b")
    sign_enveloped(el, be_creds)
    out = etree.tostring(el)
    assert b"<saml:Subject>a\n  b</saml:Subject>" in out
    assert b"<saml:Issuer>urn:test</saml:Issuer><ds:Signature" in out


def test_tampering_is_detected(signed):
    signed.find(f"{{{SAML}}}Subject").text = "evil"
    assert _reason(verify_enveloped, signed) == "bad-signature"


def test_unsigned_element(be_creds):
    assert _reason(verify_enveloped, _assertion()) == "signature-missing"


def test_duplicate_ids_are_refused(signed):
    root = etree.Element("wrapper")
    root.append(signed)
    root.append(_assertion("_a1", "evil"))
    assert _reason(verify_enveloped, signed) == "duplicate-id"
    assert _reason(index_ids, root) == "duplicate-id"


def test_xml_id_counts_as_an_id(signed):
    root = etree.Element("wrapper")
    root.append(signed)
    evil = etree.SubElement(root, "evil")
    evil.set("{http://www.w3.org/XML/1998/namespace}id", "_a1")
    assert _reason(verify_enveloped, signed) == "duplicate-id"


def test_two_signatures_on_one_element(signed):
    sig = signed.find(f"{{{DS}}}Signature")
    signed.append(etree.fromstring(etree.tostring(sig)))
    assert _reason(verify_enveloped, signed) == "multiple-signatures"


def test_nested_signature_is_refused(signed, be_creds):
    inner = _assertion("_inner")
    sign_enveloped(inner, be_creds)
    signed.find(f"{{{SAML}}}Subject").append(inner)
    assert _reason(verify_enveloped, signed) == "nested-signature"


def test_signature_must_cover_its_parent(signed, be_creds):
    # Wrapping: the signature of the genuine assertion is moved into an evil assertion which
    # carries the genuine one inside; the signature still verifies, over the wrong element.
    evil = _assertion("_evil", "evil")
    sig = signed.find(f"{{{DS}}}Signature")
    evil.insert(1, sig)
    evil.find(f"{{{SAML}}}Subject").append(signed)
    assert _reason(verify_enveloped, evil) in {"reference-not-parent", "nested-signature"}
    # the same with the genuine assertion as a sibling (no nesting): only the coverage rule
    wrapper = etree.Element("wrapper")
    wrapper.append(evil)
    wrapper.append(signed)
    assert _reason(verify_enveloped, evil) == "reference-not-parent"


def _set_ref(el: etree._Element, uri: str) -> None:
    el.find(f"{{{DS}}}Signature/{{{DS}}}SignedInfo/{{{DS}}}Reference").set("URI", uri)


@pytest.mark.parametrize("uri", [
    "file:///dev/zero", "file:///etc/passwd", "", "#xpointer(/)", "#xpointer(id('_a1'))",
    "other.xml#_a1", "#_a1 ", "data:text/plain,hello",
])
def test_only_same_document_id_references(signed, uri):
    _set_ref(signed, uri)
    started = time.monotonic()
    assert _reason(verify_enveloped, signed) == "external-reference"
    assert time.monotonic() - started < 1  # /dev/zero was never read


def test_http_reference_is_refused_without_any_request(signed, loopback_http):
    url, hits = loopback_http
    _set_ref(signed, url)
    assert _reason(verify_enveloped, signed) == "external-reference"
    assert hits == []


def test_loopback_server_records_requests(loopback_http):
    # guard for the tests using it: the server really answers, so "no hit" means no request
    import urllib.request

    url, hits = loopback_http
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310
        assert resp.status == 200
    assert hits == ["/ref"]


@pytest.mark.parametrize(("xpath", "attr", "value"), [
    ("{ds}SignedInfo/{ds}SignatureMethod", "Algorithm", "http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
    ("{ds}SignedInfo/{ds}SignatureMethod", "Algorithm", "http://www.w3.org/2000/09/xmldsig#hmac-sha1"),
    ("{ds}SignedInfo/{ds}Reference/{ds}DigestMethod", "Algorithm",
     "http://www.w3.org/2000/09/xmldsig#sha1"),
    ("{ds}SignedInfo/{ds}CanonicalizationMethod", "Algorithm",
     "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"),
    ("{ds}SignedInfo/{ds}Reference/{ds}Transforms/{ds}Transform", "Algorithm",
     "http://www.w3.org/TR/1999/REC-xslt-19991116"),
    ("{ds}SignedInfo/{ds}Reference/{ds}Transforms/{ds}Transform", "Algorithm",
     "http://www.w3.org/TR/1999/REC-xpath-19991116"),
])
def test_algorithms_outside_the_allow_list(signed, xpath, attr, value):
    sig = signed.find(f"{{{DS}}}Signature")
    sig.find(xpath.format(ds=f"{{{DS}}}").replace("{ds}", f"{{{DS}}}")).set(attr, value)
    assert _reason(inspect_signature, sig) == "algorithm-not-allowed"


@pytest.mark.parametrize("child", ["Object", "Manifest"])
def test_object_and_manifest_are_refused(signed, child):
    sig = signed.find(f"{{{DS}}}Signature")
    etree.SubElement(sig, f"{{{DS}}}{child}")
    assert _reason(inspect_signature, sig) == "malformed-signature"


def test_retrieval_method_is_refused(signed):
    sig = signed.find(f"{{{DS}}}Signature")
    etree.SubElement(sig.find(f"{{{DS}}}KeyInfo"), f"{{{DS}}}RetrievalMethod",
                     URI="http://127.0.0.1:9/cert")
    assert _reason(inspect_signature, sig) == "malformed-signature"


def test_xslt_transform_content_is_refused(signed):
    tr = signed.find(f".//{{{DS}}}Transform")
    etree.SubElement(tr, "{http://www.w3.org/1999/XSL/Transform}stylesheet")
    assert _reason(inspect_signature, signed.find(f"{{{DS}}}Signature")) == "malformed-signature"


def test_certificate_comes_from_exactly_one_x509_certificate(signed):
    data = signed.find(f".//{{{DS}}}X509Data")
    data.append(etree.fromstring(etree.tostring(data.find(f"{{{DS}}}X509Certificate"))))
    assert _reason(verify_enveloped, signed) == "no-certificate"


def test_signature_by_another_key_than_keyinfo_says(signed, lu_creds):
    import base64

    cert = signed.find(f".//{{{DS}}}X509Certificate")
    cert.text = base64.b64encode(lu_creds.certificate_der).decode()
    assert _reason(verify_enveloped, signed) == "bad-signature"


def test_enveloped_signature_with_tail_text_and_tree_left_intact(be_creds, pki_root):
    import xmlsec

    from ncp.xmlutil import parse_xml

    el = parse_xml(f'<saml:Assertion xmlns:saml="{SAML}" ID="_w" Version="2.0">\n  '
                   f'<saml:Issuer>i</saml:Issuer>\n  <saml:Subject>s</saml:Subject>\n'
                   f'</saml:Assertion>'.encode())
    c = xmlsec.constants
    sig = xmlsec.template.create(el, c.TransformExclC14N, c.TransformRsaSha256, ns="ds")
    el.insert(1, sig)
    sig.tail = "\n  "
    ref = xmlsec.template.add_reference(sig, c.TransformSha256, uri="#_w")
    xmlsec.template.add_transform(ref, c.TransformEnveloped)
    xmlsec.template.add_transform(ref, c.TransformExclC14N)
    xmlsec.template.x509_data_add_certificate(
        xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(sig)))
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_file(str(pki_root / "be" / "signing.key"),
                                   xmlsec.constants.KeyDataFormatPem)
    ctx.key.load_cert_from_file(str(pki_root / "be" / "signing.pem"),
                                xmlsec.constants.KeyDataFormatPem)
    ctx.register_id(el, "ID")
    ctx.sign(sig)
    received = reparse(el)
    before = etree.tostring(received)
    verify_enveloped(received)
    assert etree.tostring(received) == before
    # the tail text is covered by the digest (the enveloped transform keeps it)
    received.find(f"{{{DS}}}Signature").tail = "\n    "
    assert _reason(verify_enveloped, received) == "bad-signature"


def test_detached_signature_inside_an_evil_element_is_refused(be_creds):
    # Wrapping without the enveloped transform: the evil element carries a valid detached
    # signature over the genuine sibling. Only "the signature must cover its parent" stops it.
    from ncp.security.xmldsig import sign_references

    wrapper = etree.Element("wrapper")
    genuine = etree.SubElement(wrapper, f"{{{SAML}}}Assertion", ID="_genuine", Version="2.0")
    etree.SubElement(genuine, f"{{{SAML}}}Subject").text = "genuine"
    evil = etree.SubElement(wrapper, f"{{{SAML}}}Assertion", ID="_evil", Version="2.0")
    etree.SubElement(evil, f"{{{SAML}}}Subject").text = "evil"
    sign_references(evil, [genuine], be_creds, position=0)
    evil_received = reparse(wrapper).find(f"{{{SAML}}}Assertion[@ID='_evil']")
    assert _reason(verify_enveloped, evil_received) == "reference-not-parent"


def test_enveloped_transform_must_name_the_signature_parent(signed, be_creds):
    from ncp.security.xmldsig import verify_signature

    # a signature whose enveloped reference points at a sibling, checked below the
    # verify_enveloped layer
    wrapper = etree.Element("wrapper")
    other = _assertion("_other")
    wrapper.append(signed)
    wrapper.append(other)
    sig = signed.find(f"{{{DS}}}Signature")
    sig.find(f".//{{{DS}}}Reference").set("URI", "#_other")
    shape = inspect_signature(sig)
    assert _reason(verify_signature, shape, ids=index_ids(wrapper),
                   certificate_der=be_creds.certificate_der) == "enveloped-not-parent"


def test_verification_leaves_namespace_declarations_alone(signed):
    """The ds namespace declared on an ancestor, as in SMP records: verifying must not make
    lxml re-declare it on the Signature (the tree is canonicalised from a copy)."""
    from ncp.xmlutil import parse_xml

    inner = etree.tostring(signed).decode().replace(f' xmlns:ds="{DS}"', "")
    outer = parse_xml(f'<Wrapper xmlns:ds="{DS}">{inner}</Wrapper>'.encode())
    before = etree.tostring(outer)
    verify_enveloped(outer[0])
    assert etree.tostring(outer) == before
