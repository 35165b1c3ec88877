"""Signed eHDSI SMP records (OASIS BDXR SMP 2016/05): verify, then read the endpoint they publish.

What the eHDSI SMP serves (see ``../shared/specs/smp/smp/*Signed.xml``) is a
``SignedServiceMetadata`` holding

* ``ServiceMetadata/ServiceInformation``: the participant (``urn:ehealth:<cc>:ncp-idp``), the
  document identifier naming the transaction (``...##ITI-55``, ``##ITI-38``, ``##ITI-39``,
  ``##ITI-41``, or the International Search Mask ``##ehealth-107``), one ``Endpoint`` with its
  URI, activation and expiration dates, the endpoint certificate, and for the ISM the mask in
  ``Endpoint/Extension``; its ``Extension`` carries the *country's* signature, made over the
  ServiceMetadata when it was a document of its own;
* a second signature, the *SMP server's*, directly under the root, over the whole document.

Both are enveloped signatures with ``Reference URI=""`` and inclusive canonical XML 1.0, which
the general rules of :mod:`ncp.security.xmldsig` (``#id`` references, exclusive c14n only)
refuse on purpose. This module accepts exactly that shape and nothing more, under the same
spirit: the signature must be where the profile puts it and cover the whole (sub)document, one
Reference, transforms exactly [enveloped] (optionally followed by a c14n), SHA-2 digests,
RSA/ECDSA with SHA-2, no Object/Manifest/RetrievalMethod, the key taken from the one
``X509Certificate`` of KeyInfo, and that certificate accepted only if it chains to an anchor the
operator configured or matches a pinned SHA-256 fingerprint, at the given instant. Nothing is
ever dereferenced. A record whose signatures do not both verify is refused whole.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from ncp.peers.ism import ISM, SearchMask, parse_search_mask
from ncp.security.xmldsig import decode_base64, key_info_certificate, parse_certificate
from ncp.xmlutil import XmlInputError, parse_xml

__all__ = ["TRANSACTIONS", "SmpError", "SmpRecord", "read_smp_record", "verify_smp_record"]

SMP = "http://docs.oasis-open.org/bdxr/ns/SMP/2016/05"
DS = "http://www.w3.org/2000/09/xmldsig#"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "http://www.w3.org/2001/04/xmlenc#sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmlenc#sha512": hashes.SHA512,
}
_MORE = "http://www.w3.org/2001/04/xmldsig-more#"
_METHODS: dict[str, tuple[str, type[hashes.HashAlgorithm]]] = {
    _MORE + "rsa-sha256": ("rsa", hashes.SHA256), _MORE + "rsa-sha384": ("rsa", hashes.SHA384),
    _MORE + "rsa-sha512": ("rsa", hashes.SHA512), _MORE + "ecdsa-sha256": ("ec", hashes.SHA256),
    _MORE + "ecdsa-sha384": ("ec", hashes.SHA384), _MORE + "ecdsa-sha512": ("ec", hashes.SHA512),
}
#: Document identifier suffix -> IHE transaction (or "ISM").
TRANSACTIONS = {"ITI-55": "ITI-55", "ITI-38": "ITI-38", "ITI-39": "ITI-39", "ITI-41": "ITI-41",
                "ehealth-107": "ISM"}
_PARTICIPANT = re.compile(r"urn:ehealth:([a-z]{2}):ncp-idp", re.IGNORECASE)


class SmpError(ValueError):
    """The record is refused; ``reason`` is a stable key, ``detail`` says why."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SmpRecord:
    """What a verified record says."""

    country: str
    participant: str
    document_identifier: str
    transaction: str  # ITI-55, ITI-38, ITI-39, ITI-41 or ISM
    endpoint_url: str
    transport_profile: str
    activation: dt.datetime | None
    expiration: dt.datetime | None
    endpoint_certificate: x509.Certificate | None
    search_mask: SearchMask | None
    search_mask_xml: str | None
    smp_signer: x509.Certificate
    country_signer: x509.Certificate

    def endpoint_certificate_pem(self) -> str | None:
        if self.endpoint_certificate is None:
            return None
        return self.endpoint_certificate.public_bytes(Encoding.PEM).decode()


def _kids(el: etree._Element, tag: str) -> list[etree._Element]:
    return [c for c in el if c.tag == tag]


def _one(el: etree._Element, tag: str) -> etree._Element:
    found = _kids(el, tag)
    if len(found) != 1:
        raise SmpError("malformed-record", f"expected one {etree.QName(tag).localname}")
    return found[0]


def _c14n(el: etree._Element, algorithm: str) -> bytes:
    """Canonical form of ``el`` as a document of its own, with every in-scope namespace.

    Why the round trip through a serialization: libxml2's inclusive c14n of a subtree emits a
    spurious ``xmlns=""`` on children whose default namespace is inherited, and copying the
    subtree under a new root renames prefixes; lxml's serializer writes every in-scope
    declaration on the element, which is exactly the inclusive c14n input.
    """
    if el.getparent() is None:
        return etree.tostring(el, method="c14n", exclusive=algorithm == EXC_C14N,
                              with_comments=False)
    alone = parse_xml(etree.tostring(el, with_tail=False))
    return etree.tostring(alone, method="c14n", exclusive=algorithm == EXC_C14N,
                          with_comments=False)


def _check_shape(sig: etree._Element) -> tuple[str, str, str, str]:
    """(c14n of SignedInfo, digest algorithm, digest value, c14n of the reference)."""
    allowed = {f"{{{DS}}}SignedInfo", f"{{{DS}}}SignatureValue", f"{{{DS}}}KeyInfo"}
    if any(isinstance(c.tag, str) and c.tag not in allowed for c in sig):
        raise SmpError("malformed-signature", "unexpected content in ds:Signature")
    if any(el.tag in (f"{{{DS}}}Object", f"{{{DS}}}Manifest", f"{{{DS}}}RetrievalMethod")
           for el in sig.iter()):
        raise SmpError("malformed-signature", "Object, Manifest and RetrievalMethod are refused")
    signed_info = _one(sig, f"{{{DS}}}SignedInfo")
    parts = [c for c in signed_info if isinstance(c.tag, str)]
    if len(parts) != 3 or [c.tag for c in parts] != [
            f"{{{DS}}}CanonicalizationMethod", f"{{{DS}}}SignatureMethod", f"{{{DS}}}Reference"]:
        raise SmpError("malformed-signature", "SignedInfo must hold a method and one Reference")
    c14n_method, sig_method, ref = parts
    if c14n_method.get("Algorithm") not in (C14N, EXC_C14N) or len(c14n_method):
        raise SmpError("algorithm-not-allowed", f"c14n {c14n_method.get('Algorithm')}")
    if sig_method.get("Algorithm") not in _METHODS:
        raise SmpError("algorithm-not-allowed", f"signature {sig_method.get('Algorithm')}")
    if ref.get("URI") != "":
        raise SmpError("external-reference",
                       "an SMP signature references the whole document (URI=\"\")")
    ref_parts = [c for c in ref if isinstance(c.tag, str)]
    if [c.tag for c in ref_parts] != [f"{{{DS}}}Transforms", f"{{{DS}}}DigestMethod",
                                      f"{{{DS}}}DigestValue"]:
        raise SmpError("malformed-signature", "a Reference needs Transforms, digest method "
                       "and value")
    algs = [t.get("Algorithm") for t in ref_parts[0] if isinstance(t.tag, str)]
    if any(t.tag != f"{{{DS}}}Transform" or len(t) for t in ref_parts[0]
           if isinstance(t.tag, str)):
        raise SmpError("malformed-signature", "unexpected transform content")
    if algs not in ([ENVELOPED], [ENVELOPED, C14N], [ENVELOPED, EXC_C14N]):
        raise SmpError("algorithm-not-allowed", f"transforms {algs}")
    digest_alg = ref_parts[1].get("Algorithm") or ""
    if digest_alg not in _HASHES:
        raise SmpError("algorithm-not-allowed", f"digest {digest_alg}")
    return (c14n_method.get("Algorithm") or C14N, digest_alg, ref_parts[2].text or "",
            algs[-1] if len(algs) == 2 else C14N)


def _verify(sig: etree._Element, document: etree._Element, *, anchors: Sequence[x509.Certificate],
            pinned: frozenset[str], at: dt.datetime, who: str) -> x509.Certificate:
    """Verify ``sig`` (a child somewhere under ``document``) over ``document`` as a whole."""
    c14n_alg, digest_alg, digest_b64, ref_c14n = _check_shape(sig)
    der = key_info_certificate(_kids(sig, f"{{{DS}}}KeyInfo")[0]
                               if _kids(sig, f"{{{DS}}}KeyInfo") else None)
    cert = parse_certificate(der)
    _check_signer(cert, der, anchors=anchors, pinned=pinned, at=at, who=who)
    data = _c14n(_without_signature(document, sig), ref_c14n)
    h = hashes.Hash(_HASHES[digest_alg]())
    h.update(data)
    if not hmac.compare_digest(h.finalize(), decode_base64(digest_b64, "bad-signature")):
        raise SmpError("bad-signature", f"the {who} signature's digest does not match")
    signed_info = _kids(sig, f"{{{DS}}}SignedInfo")[0]
    method = _kids(signed_info, f"{{{DS}}}SignatureMethod")[0].get("Algorithm") or ""
    kind, hash_cls = _METHODS[method]
    value = decode_base64(_one(sig, f"{{{DS}}}SignatureValue").text, "bad-signature")
    signed = _c14n(signed_info, c14n_alg)
    key = cert.public_key()
    try:
        if kind == "rsa" and isinstance(key, rsa.RSAPublicKey):
            key.verify(value, signed, padding.PKCS1v15(), hash_cls())
        elif kind == "ec" and isinstance(key, ec.EllipticCurvePublicKey) and value and \
                len(value) % 2 == 0:
            half = len(value) // 2
            key.verify(utils.encode_dss_signature(int.from_bytes(value[:half], "big"),
                                                  int.from_bytes(value[half:], "big")),
                       signed, ec.ECDSA(hash_cls()))
        else:
            raise SmpError("bad-signature", f"the {who} key does not fit the method")
    except InvalidSignature:
        raise SmpError("bad-signature", f"the {who} signature does not verify") from None
    return cert


def _without_signature(document: etree._Element, sig: etree._Element) -> etree._Element:
    """A copy of ``document`` (as a document of its own) without ``sig``: the enveloped
    transform. Works on a re-parsed copy because removing an element from an lxml tree and
    putting it back rewrites namespace prefixes, which would break the signature's own c14n."""
    path = []
    node = sig
    while node is not document:
        parent = node.getparent()
        if parent is None:
            raise SmpError("malformed-signature", "the signature is not inside the document")
        path.append(parent.index(node))
        node = parent
    copy_root = parse_xml(etree.tostring(document, with_tail=False))
    target = copy_root
    for index in reversed(path):
        target = target[index]
    parent = target.getparent()
    assert parent is not None
    prev, tail = target.getprevious(), target.tail
    parent.remove(target)
    if tail:  # the transform removes the element, not the text after it
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    return copy_root


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def _check_signer(cert: x509.Certificate, der: bytes, *, anchors: Sequence[x509.Certificate],
                  pinned: frozenset[str], at: dt.datetime, who: str) -> None:
    if not cert.not_valid_before_utc <= at < cert.not_valid_after_utc:
        raise SmpError("certificate-expired",
                       f"the {who} certificate is not valid at {at.isoformat()} "
                       f"({cert.not_valid_before_utc.date()} - {cert.not_valid_after_utc.date()})")
    if hashlib.sha256(der).hexdigest() in pinned:
        return
    for anchor in anchors:
        if anchor == cert:
            return
        if cert.issuer == anchor.subject:
            try:
                cert.verify_directly_issued_by(anchor)
            except (InvalidSignature, ValueError, TypeError):
                continue
            if not anchor.not_valid_before_utc <= at < anchor.not_valid_after_utc:
                continue
            return
    raise SmpError("untrusted-signer",
                   f"the {who} signer {cert.subject.rfc4514_string()} (SHA-256 "
                   f"{hashlib.sha256(der).hexdigest()}) is neither pinned nor issued by a "
                   "configured SMP anchor")


def _instant(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SmpError("malformed-record", f"bad date {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def verify_smp_record(data: bytes, *, anchors: Sequence[x509.Certificate] = (),
                      pinned: Sequence[str] = (), at: dt.datetime | None = None) -> SmpRecord:
    """Verify both signatures of a signed SMP record and return what it publishes.

    ``anchors``: CA (or signer) certificates the SMP and country signers may be issued by;
    ``pinned``: SHA-256 fingerprints (hex) of signer certificates accepted as they are;
    ``at``: the instant the certificates must be valid at (default now).
    """
    at = at or dt.datetime.now(dt.UTC)
    pins = frozenset(p.lower().replace(":", "") for p in pinned)
    try:
        root = parse_xml(data)
    except XmlInputError as exc:
        raise SmpError("malformed-record", str(exc)) from None
    if root.tag != f"{{{SMP}}}SignedServiceMetadata":
        raise SmpError("malformed-record", "not a SignedServiceMetadata")
    kids = [c for c in root if isinstance(c.tag, str)]
    if [c.tag for c in kids] != [f"{{{SMP}}}ServiceMetadata", f"{{{DS}}}Signature"]:
        raise SmpError("malformed-record", "expected ServiceMetadata then the SMP signature")
    metadata, smp_sig = kids
    if sum(1 for el in root.iter(f"{{{DS}}}Signature")) != 2:
        raise SmpError("malformed-record", "expected exactly two signatures")
    info = _one(metadata, f"{{{SMP}}}ServiceInformation")
    extension = _one(info, f"{{{SMP}}}Extension")
    country_sig = _one(extension, f"{{{DS}}}Signature")
    smp_signer = _verify(smp_sig, root, anchors=anchors, pinned=pins, at=at, who="SMP")
    # The country signed the ServiceMetadata as a document of its own (URI="" then meant it).
    country_signer = _verify(country_sig, metadata, anchors=anchors, pinned=pins, at=at,
                             who="country")
    return _read(info, smp_signer, country_signer)


def _read(info: etree._Element, smp_signer: x509.Certificate,
          country_signer: x509.Certificate) -> SmpRecord:
    participant = (_one(info, f"{{{SMP}}}ParticipantIdentifier").text or "").strip()
    match = _PARTICIPANT.fullmatch(participant)
    if match is None:
        raise SmpError("malformed-record", f"participant {participant!r} is not an NCPeH")
    country = match.group(1).upper()
    doc_id = (_one(info, f"{{{SMP}}}DocumentIdentifier").text or "").strip()
    suffix = doc_id.rsplit("##", 1)[-1]
    transaction = TRANSACTIONS.get(suffix)
    if transaction is None:
        raise SmpError("unsupported-service", f"document identifier {doc_id!r}")
    endpoints = list(info.iter(f"{{{SMP}}}Endpoint"))
    if len(endpoints) != 1:
        raise SmpError("malformed-record", "expected exactly one Endpoint")
    endpoint = endpoints[0]
    url = (endpoint.findtext(f"{{{SMP}}}EndpointURI") or "").strip()
    if transaction != "ISM" and not url.startswith("https://"):
        raise SmpError("malformed-record", "an endpoint must be an https URL")
    cert_text = (endpoint.findtext(f"{{{SMP}}}Certificate") or "").strip()
    endpoint_cert = parse_certificate(decode_base64(cert_text)) if cert_text else None
    mask = mask_xml = None
    ism = next(iter(endpoint.iter(f"{{{ISM}}}searchFields")), None)
    if ism is not None:
        mask = parse_search_mask(ism, country)
        mask_xml = etree.tostring(ism, encoding="unicode")
    if transaction == "ISM" and mask is None:
        raise SmpError("malformed-record", "the ISM record carries no search mask")
    return SmpRecord(
        country=country, participant=participant, document_identifier=doc_id,
        transaction=transaction, endpoint_url=url,
        transport_profile=endpoint.get("transportProfile") or "",
        activation=_instant(endpoint.findtext(f"{{{SMP}}}ServiceActivationDate")),
        expiration=_instant(endpoint.findtext(f"{{{SMP}}}ServiceExpirationDate")),
        endpoint_certificate=endpoint_cert, search_mask=mask, search_mask_xml=mask_xml,
        smp_signer=smp_signer, country_signer=country_signer)


def read_smp_record(data: bytes, **kwargs: object) -> SmpRecord:
    """Alias of :func:`verify_smp_record`: there is no way to read a record unverified."""
    return verify_smp_record(data, **kwargs)  # type: ignore[arg-type]
