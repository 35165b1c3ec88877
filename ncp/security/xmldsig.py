"""XML signatures (XML-DSig) under strict rules: lxml canonicalisation, ``cryptography`` keys.

Rules enforced here, all before any canonicalisation or cryptography runs (a general XML-DSig
library such as xmlsec would otherwise happily fetch ``file://`` or ``http://`` Reference URIs,
follow RetrievalMethod, or run XSLT transforms):

* every Reference URI is a same-document ``#id`` (an NCName), nothing else;
* only exclusive canonicalisation, the enveloped-signature transform, SHA-2 digests and
  RSA/ECDSA with SHA-2; no ``ds:Object``, ``ds:Manifest``, XPath or XSLT transform, HMAC;
* IDs (``ID``, ``Id``, ``wsu:Id``, ``xml:id``) are unique in the whole document;
* an enveloped signature covers exactly its parent element, and that element carries exactly one
  signature: the caller gets back only the covered element (no signature wrapping);
* the key is taken from the certificate the caller has validated, never from KeyInfo lookups.

Signed XML is never re-indented or re-serialised with pretty printing.

Why not sign and verify through python-xmlsec: the accepted profile is small (exclusive c14n,
enveloped transform, SHA-2, RSA/ECDSA), lxml's canonicaliser and ``cryptography`` cover it
without any URI dereferencing code on the path, and they are several times faster than
xmlsec's node-set canonicalisation on 50 KB messages. Tests check both directions against the
``xmlsec1`` tool, python-xmlsec and signxml.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from lxml import etree

from ncp.security.errors import XmlSignatureError
from ncp.security.keys import SigningCredentials
from ncp.xmlutil import NS

__all__ = [
    "ID_ATTRIBUTES",
    "SignatureShape",
    "VerifiedElement",
    "index_ids",
    "inspect_signature",
    "key_info_certificate",
    "parse_certificate",
    "sign_enveloped",
    "sign_references",
    "verify_enveloped",
    "verify_signature",
]

DS = NS["ds"]
_DS = f"{{{DS}}}"
WSU_ID = f"{{{NS['wsu']}}}Id"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
#: Attributes treated as XML IDs anywhere in a document (duplicates are refused).
ID_ATTRIBUTES: tuple[str, ...] = ("ID", "Id", WSU_ID, XML_ID)

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
DIGESTS = frozenset({
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
})
SIGNATURE_METHODS = frozenset({
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
})
_NCNAME_REF = re.compile(r"#([A-Za-z_][A-Za-z0-9_.\-]*)\Z")


@dataclass(frozen=True, slots=True)
class SignatureShape:
    """What a signature claims, read without any library call."""

    signature: etree._Element
    reference_ids: tuple[str, ...]
    enveloped: tuple[bool, ...]
    key_info: etree._Element | None


@dataclass(frozen=True, slots=True)
class VerifiedElement:
    """The one element a signature covers, and the certificate whose key verified it."""

    element: etree._Element
    certificate: x509.Certificate


def _fail(reason: str, detail: str = "") -> XmlSignatureError:
    return XmlSignatureError(reason, detail)


_ID_XPATH = etree.XPath(
    "descendant-or-self::*/@ID | descendant-or-self::*/@Id"
    " | descendant-or-self::*/@wsu:Id | descendant-or-self::*/@xml:id",
    namespaces={"wsu": NS["wsu"]}, smart_strings=True)


def index_ids(root: etree._Element) -> dict[str, etree._Element]:
    """Map every ID value in the tree to its element; a value used twice is refused.

    One compiled XPath (evaluated in C) finds the ID attributes; walking the tree in Python
    costs several times more on a 50 KB message. Name tests (``@ID``: that local name, no
    namespace) rather than ``local-name()`` predicates: libxml2 compares names as strings
    either way, but a predicate calls two XPath functions per attribute (5x slower).
    """
    ids: dict[str, etree._Element] = {}
    for value in _ID_XPATH(root):  # type: ignore[union-attr]
        if value in ids:
            raise _fail("duplicate-id", f"the ID {value!r} occurs more than once")
        ids[str(value)] = value.getparent()  # type: ignore[union-attr]
    return ids


#: Counted by XPath, which compares names as strings (lxml's ``iter(tag)`` compares interned
#: names and can miss nodes a C library created) and creates no Python proxy per node.
_COUNT_SIGNATURES = etree.XPath("count(descendant-or-self::ds:Signature)", namespaces={"ds": DS})
_HAS_BANNED = etree.XPath(
    "boolean(descendant::ds:Manifest | descendant::ds:RetrievalMethod | descendant::ds:Object)",
    namespaces={"ds": DS})


def _only(parent: etree._Element, tag: str, *, required: bool = True) -> etree._Element | None:
    found = [c for c in parent if c.tag == tag]
    if len(found) > 1 or (required and not found):
        raise _fail("malformed-signature", f"expected one {tag.split('}')[1]}")
    return found[0] if found else None


def _check_c14n_method(el: etree._Element) -> None:
    if el.get("Algorithm") != EXC_C14N:
        raise _fail("algorithm-not-allowed", f"canonicalisation {el.get('Algorithm')}")
    for child in el:
        if not isinstance(child.tag, str):
            continue
        if child.tag != f"{{{EXC_C14N}}}InclusiveNamespaces" or len(child):
            raise _fail("malformed-signature", "unexpected content in a c14n method")


def inspect_signature(sig: etree._Element) -> SignatureShape:
    """Check a ``ds:Signature`` against the rules of this module; no library is called."""
    if sig.tag != f"{_DS}Signature":
        raise _fail("malformed-signature", "not a ds:Signature")
    for child in sig:
        if not isinstance(child.tag, str):
            continue
        if child.tag not in (f"{_DS}SignedInfo", f"{_DS}SignatureValue", f"{_DS}KeyInfo"):
            raise _fail("malformed-signature", f"{child.tag} is not allowed in a signature")
    if _HAS_BANNED(sig):
        raise _fail("malformed-signature", "Manifest, Object and RetrievalMethod are not allowed")
    signed_info = _only(sig, f"{_DS}SignedInfo")
    _only(sig, f"{_DS}SignatureValue")
    key_info = _only(sig, f"{_DS}KeyInfo", required=False)
    assert signed_info is not None
    refs: list[str] = []
    enveloped: list[bool] = []
    seen_method = False
    for position, child in enumerate(c for c in signed_info if isinstance(c.tag, str)):
        if position == 0:
            if child.tag != f"{_DS}CanonicalizationMethod":
                raise _fail("malformed-signature", "CanonicalizationMethod must come first")
            _check_c14n_method(child)
        elif position == 1:
            if child.tag != f"{_DS}SignatureMethod":
                raise _fail("malformed-signature", "SignatureMethod must come second")
            if child.get("Algorithm") not in SIGNATURE_METHODS or len(child):
                raise _fail("algorithm-not-allowed", f"signature method {child.get('Algorithm')}")
            seen_method = True
        elif child.tag == f"{_DS}Reference":
            ref_id, env = _inspect_reference(child)
            refs.append(ref_id)
            enveloped.append(env)
        else:
            raise _fail("malformed-signature", f"{child.tag} is not allowed in SignedInfo")
    if not seen_method or not refs:
        raise _fail("malformed-signature", "SignedInfo needs a method and a reference")
    if len(set(refs)) != len(refs):
        raise _fail("malformed-signature", "an element is referenced twice")
    return SignatureShape(sig, tuple(refs), tuple(enveloped), key_info)


def _inspect_reference(ref: etree._Element) -> tuple[str, bool]:
    uri = ref.get("URI")
    match = _NCNAME_REF.match(uri or "")
    if match is None:
        raise _fail("external-reference",
                    f"Reference URI {uri!r} is not a same-document #id reference")
    enveloped = False
    children = [c for c in ref if isinstance(c.tag, str)]
    tags = [c.tag for c in children]
    if tags not in ([f"{_DS}Transforms", f"{_DS}DigestMethod", f"{_DS}DigestValue"],
                    [f"{_DS}DigestMethod", f"{_DS}DigestValue"]):
        raise _fail("malformed-signature", "unexpected content in a Reference")
    if tags[0] == f"{_DS}Transforms":
        for tr in children[0]:
            if not isinstance(tr.tag, str):
                continue
            alg = tr.get("Algorithm")
            if tr.tag != f"{_DS}Transform" or alg not in (ENVELOPED, EXC_C14N):
                raise _fail("algorithm-not-allowed", f"transform {alg}")
            if alg == ENVELOPED:
                if len(tr):
                    raise _fail("malformed-signature", "unexpected content in a transform")
                enveloped = True
            else:
                _check_c14n_method(tr)
    digest = children[-2]
    if digest.get("Algorithm") not in DIGESTS:
        raise _fail("algorithm-not-allowed", f"digest {digest.get('Algorithm')}")
    return match.group(1), enveloped


@functools.lru_cache(maxsize=512)
def parse_certificate(der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise _fail("bad-certificate", "the signer certificate cannot be parsed") from None


def decode_base64(text: str | None, reason: str = "bad-certificate") -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise _fail(reason, "invalid base64") from None


def key_info_certificate(key_info: etree._Element | None) -> bytes:
    """The DER certificate of ``ds:KeyInfo/ds:X509Data/ds:X509Certificate`` (exactly one)."""
    if key_info is None:
        raise _fail("no-certificate", "the signature carries no KeyInfo")
    x509_data = [c for c in key_info if c.tag == f"{_DS}X509Data"]
    if len(x509_data) != 1:
        raise _fail("no-certificate", "expected exactly one ds:X509Data")
    certs = [c for c in x509_data[0] if c.tag == f"{_DS}X509Certificate"]
    if len(certs) != 1:
        raise _fail("no-certificate", "expected exactly one ds:X509Certificate")
    return decode_base64(certs[0].text)


_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "http://www.w3.org/2001/04/xmlenc#sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmlenc#sha512": hashes.SHA512,
}
_MORE = "http://www.w3.org/2001/04/xmldsig-more#"
_SIGNATURE_ALGORITHMS: dict[str, tuple[str, type[hashes.HashAlgorithm]]] = {
    _MORE + "rsa-sha256": ("rsa", hashes.SHA256),
    _MORE + "rsa-sha384": ("rsa", hashes.SHA384),
    _MORE + "rsa-sha512": ("rsa", hashes.SHA512),
    _MORE + "ecdsa-sha256": ("ec", hashes.SHA256),
    _MORE + "ecdsa-sha384": ("ec", hashes.SHA384),
    _MORE + "ecdsa-sha512": ("ec", hashes.SHA512),
}


def _prefixes(method: etree._Element | None) -> list[str] | None:
    """The InclusiveNamespaces PrefixList of an exclusive c14n method, if any."""
    if method is None:
        return None
    for child in method:
        if child.tag == f"{{{EXC_C14N}}}InclusiveNamespaces":
            return [p for p in (child.get("PrefixList") or "").split() if p != "#default"]
    return None


def _exc_c14n(el: etree._Element, prefixes: list[str] | None) -> bytes:
    return etree.tostring(el, method="c14n", exclusive=True, with_comments=False,
                          inclusive_ns_prefixes=prefixes or None)


def _without(target: etree._Element, sig: etree._Element, prefixes: list[str] | None) -> bytes:
    """Exclusive c14n of ``target`` minus the ``sig`` element (the enveloped transform).

    Works on a copy, so the received tree is never touched: removing and re-inserting an element
    makes lxml re-declare namespaces on it, which would change what a later consumer serialises.
    A copy is faithful for exclusive c14n, which renders only visibly used namespaces and no
    inherited ``xml:`` attributes. The signature's tail text (which the transform keeps) moves
    onto the preceding node of the copy.
    """
    path = [sig]
    while path[-1] is not target:
        parent_el = path[-1].getparent()
        if parent_el is None:
            raise _fail("malformed-signature", "the signature is not inside its target")
        path.append(parent_el)
    clone = copy.deepcopy(target)
    node = clone
    for el in reversed(path[:-1]):
        node = node[el.getparent().index(el)]  # type: ignore[union-attr]
    parent = node.getparent()
    assert parent is not None
    tail, prev = node.tail, node.getprevious()
    parent.remove(node)
    if tail:
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    return _exc_c14n(clone, prefixes)


def _kids(parent: etree._Element, local: str) -> list[etree._Element]:
    """ds children by plain tag comparison.

    Not ``find``: lxml's tag matcher compares interned names and misses nodes that C libraries
    (python-xmlsec in interop tests) created in a tree, which string comparison does not.
    """
    tag = f"{_DS}{local}"
    return [c for c in parent if c.tag == tag]


def _kid(parent: etree._Element, local: str) -> etree._Element:
    found = _kids(parent, local)
    if len(found) != 1:
        raise _fail("malformed-signature", f"expected one ds:{local}")
    return found[0]


@functools.lru_cache(maxsize=512)
def _public_key(der: bytes) -> object:
    return parse_certificate(der).public_key()


def verify_signature(shape: SignatureShape, *, ids: Mapping[str, etree._Element],
                     certificate_der: bytes) -> None:
    """Verify ``shape``'s signature cryptographically with the key of ``certificate_der``.

    Every reference must resolve through ``ids`` (the document's unique IDs); the caller has
    already checked which elements those are and that the certificate is trusted.

    Nothing is ever dereferenced: each reference is looked up in ``ids``.
    """
    sig = shape.signature
    signed_info = _kid(sig, "SignedInfo")
    for ref, ref_id in zip(_kids(signed_info, "Reference"), shape.reference_ids, strict=True):
        target = ids.get(ref_id)
        if target is None:
            raise _fail("dangling-reference", f"no element has the ID {ref_id!r}")
        transforms = [t for ts in _kids(ref, "Transforms") for t in _kids(ts, "Transform")]
        algs = [t.get("Algorithm") for t in transforms]
        if algs not in ([EXC_C14N], [ENVELOPED, EXC_C14N]):
            raise _fail("algorithm-not-allowed",
                        "a reference must end with exclusive c14n (enveloped first if any)")
        prefixes = _prefixes(transforms[-1])
        if algs[0] == ENVELOPED:
            if sig.getparent() is not target:
                raise _fail("enveloped-not-parent", "enveloped transform on a foreign element")
            data = _without(target, sig, prefixes)
        else:
            if any(a is sig for a in target.iterancestors()) or target is sig:
                raise _fail("malformed-signature", "a reference inside its own signature")
            if any(a is target for a in sig.iterancestors()):
                raise _fail("malformed-signature", "a detached reference contains its signature")
            data = _exc_c14n(target, prefixes)
        h = hashes.Hash(_HASHES[_kid(ref, "DigestMethod").get("Algorithm") or ""]())
        h.update(data)
        expected = decode_base64(_kid(ref, "DigestValue").text, "bad-signature")
        if not hmac.compare_digest(h.finalize(), expected):
            raise _fail("bad-signature", f"digest mismatch for #{ref_id}")
    kind, hash_cls = _SIGNATURE_ALGORITHMS[_kid(signed_info, "SignatureMethod").get("Algorithm")
                                           or ""]
    value = decode_base64(_kid(sig, "SignatureValue").text, "bad-signature")
    signed = _exc_c14n(signed_info, _prefixes(_kid(signed_info, "CanonicalizationMethod")))
    key = _public_key(certificate_der)
    try:
        if kind == "rsa" and isinstance(key, rsa.RSAPublicKey):
            key.verify(value, signed, padding.PKCS1v15(), hash_cls())
        elif kind == "ec" and isinstance(key, ec.EllipticCurvePublicKey) and \
                len(value) % 2 == 0 and value:
            half = len(value) // 2
            der = utils.encode_dss_signature(int.from_bytes(value[:half], "big"),
                                             int.from_bytes(value[half:], "big"))
            key.verify(der, signed, ec.ECDSA(hash_cls()))
        else:
            raise _fail("bad-signature", "the key does not fit the signature method")
    except InvalidSignature:
        raise _fail("bad-signature", "signature value does not verify") from None


def verify_enveloped(
    element: etree._Element,
    *,
    id_attribute: str = "ID",
    ids: Mapping[str, etree._Element] | None = None,
    check_signer: Callable[[x509.Certificate], object] | None = None,
) -> VerifiedElement:
    """Verify the enveloped signature of ``element`` and return exactly what it covers.

    ``element`` must carry exactly one ``ds:Signature`` child whose single Reference is
    ``#<its own ID>`` with the enveloped-signature transform, and no other signature below it.
    The certificate is read from ``ds:KeyInfo``; ``check_signer`` (the trust store check) runs
    on it after the structural checks and before the cryptography, and must raise to refuse.
    Without it the caller must validate the returned certificate itself.
    """
    own_id = element.get(id_attribute)
    if not own_id:
        raise _fail("no-id", f"the signed element has no {id_attribute} attribute")
    if ids is None:
        ids = index_ids(element.getroottree().getroot())
    if ids.get(own_id) is not element:
        raise _fail("duplicate-id", "the element's ID does not designate it uniquely")
    direct = [c for c in element if c.tag == f"{_DS}Signature"]
    if not direct:
        raise _fail("signature-missing", "the element is not signed")
    if len(direct) > 1:
        raise _fail("multiple-signatures", "the element carries more than one signature")
    if _COUNT_SIGNATURES(element) != 1:
        raise _fail("nested-signature", "a signature inside the signed element is not allowed")
    shape = inspect_signature(direct[0])
    if shape.reference_ids != (own_id,) or shape.enveloped != (True,):
        raise _fail("reference-not-parent",
                    "the signature must cover exactly its parent element (enveloped)")
    der = key_info_certificate(shape.key_info)
    cert = parse_certificate(der)
    if check_signer is not None:
        check_signer(cert)
    verify_signature(shape, ids=ids, certificate_der=der)
    return VerifiedElement(element, cert)


SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"


def _ds(parent: etree._Element, local: str, text: str | None = None,
        **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, f"{_DS}{local}", attrs)
    if text is not None:
        el.text = text
    return el


def _digest(data: bytes) -> str:
    h = hashes.Hash(hashes.SHA256())
    h.update(data)
    return base64.b64encode(h.finalize()).decode("ascii")


@functools.lru_cache(maxsize=64)
def _signature_template(method: str, enveloped: tuple[bool, ...]) -> etree._Element:
    """The ``ds:Signature`` skeleton for one signature method and reference layout.

    Why a template: a signature has some twenty-five elements, and creating each one through
    lxml's element factory costs several times more than one C-level deep copy of the whole
    skeleton; only the reference URIs and digests differ between signatures of one layout.
    The template is never handed out: callers get a copy.
    """
    sig = etree.Element(f"{_DS}Signature", nsmap={"ds": DS})
    signed_info = _ds(sig, "SignedInfo")
    _ds(signed_info, "CanonicalizationMethod", Algorithm=EXC_C14N)
    _ds(signed_info, "SignatureMethod", Algorithm=method)
    for env in enveloped:
        ref = _ds(signed_info, "Reference", URI="#")
        transforms = _ds(ref, "Transforms")
        if env:
            _ds(transforms, "Transform", Algorithm=ENVELOPED)
        _ds(transforms, "Transform", Algorithm=EXC_C14N)
        _ds(ref, "DigestMethod", Algorithm=SHA256)
        _ds(ref, "DigestValue", "")
    return sig


def _signature(credentials: SigningCredentials,
               references: Sequence[tuple[str, str, bool]]) -> etree._Element:
    """A ``ds:Signature`` with one Reference per (id, digest, enveloped), SignedInfo signed."""
    sig = copy.deepcopy(_signature_template(credentials.signature_method,
                                            tuple(env for _, _, env in references)))
    signed_info = sig[0]
    for ref, (ref_id, digest, _env) in zip(signed_info[2:], references, strict=True):
        ref.set("URI", "#" + ref_id)
        ref[-1].text = digest
    value = credentials.sign(_exc_c14n(signed_info, None))
    _ds(sig, "SignatureValue", base64.b64encode(value).decode("ascii"))
    return sig


def _x509_key_info(sig: etree._Element, credentials: SigningCredentials) -> None:
    data = _ds(_ds(sig, "KeyInfo"), "X509Data")
    _ds(data, "X509Certificate", base64.b64encode(credentials.certificate_der).decode("ascii"))


def sign_enveloped(
    element: etree._Element,
    credentials: SigningCredentials,
    *,
    id_attribute: str = "ID",
    position: int = 1,
) -> etree._Element:
    """Add an enveloped exclusive-c14n signature over ``element`` at child ``position``.

    ``position`` 1 puts it right after ``saml:Issuer``, where the SAML schema wants it.
    The certificate goes into ``ds:KeyInfo/ds:X509Data``. The digest is taken before the
    signature is inserted (without tail text), which is what the enveloped transform sees.
    """
    own_id = element.get(id_attribute)
    if not own_id or not _NCNAME_REF.match("#" + own_id):
        raise ValueError(f"element needs an NCName {id_attribute} to be signed")
    if any(el.tag == f"{_DS}Signature" for el in element.iter()):
        raise ValueError("the element already carries a signature")
    sig = _signature(credentials, [(own_id, _digest(_exc_c14n(element, None)), True)])
    _x509_key_info(sig, credentials)
    element.insert(position, sig)
    return sig


def sign_references(
    parent: etree._Element,
    targets: Sequence[etree._Element],
    credentials: SigningCredentials,
    *,
    key_info: etree._Element | None = None,
    position: int | None = None,
) -> etree._Element:
    """Add to ``parent`` a detached signature over ``targets`` (each must carry an ID).

    ``key_info`` (a ``ds:KeyInfo`` element, e.g. with a WS-Security token reference) replaces
    the default X509Data KeyInfo.
    """
    refs = []
    for target in targets:
        ref_id = target.get(WSU_ID) or target.get("ID") or target.get("Id")
        if not ref_id or not _NCNAME_REF.match("#" + ref_id):
            raise ValueError("every signed element needs an NCName ID")
        refs.append((ref_id, _digest(_exc_c14n(target, None)), False))
    sig = _signature(credentials, refs)
    if key_info is None:
        _x509_key_info(sig, credentials)
    else:
        sig.append(key_info)
    if position is None:
        parent.append(sig)
    else:
        parent.insert(position, sig)
    return sig
