"""The TLS client certificate decoded once per certificate, and trusted anew on every request;
the MTOM optimisation of our own answers."""

from __future__ import annotations

import base64
import datetime as dt
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from lxml import etree

from ncp.gateway.exchange import Exchange
from ncp.gateway.faults import TransportRefused
from ncp.gateway.pipeline import Gateway, _optimise
from ncp.gateway.tls_peer import CACHED_CERTIFICATES, der_of, subject_of
from ncp.security.errors import CertificateError
from ncp.xmlutil import NS, qname
from tests.clock import NOW


def _pem(gw_pki: Path, country: str) -> str:
    return (gw_pki / country / "tls-client.pem").read_text()


def test_der_and_subject_are_those_of_the_certificate(gw_pki: Path) -> None:
    pem = _pem(gw_pki, "be")
    der = der_of(pem)
    assert der == ssl.PEM_cert_to_DER_cert(pem)
    assert der_of(pem) is der
    assert subject_of(der) == x509.load_der_x509_certificate(der).subject.rfc4514_string()


def test_the_caches_are_bounded() -> None:
    assert der_of.cache_info().maxsize == subject_of.cache_info().maxsize == CACHED_CERTIFICATES


def test_garbage_is_refused_and_not_remembered() -> None:
    before = der_of.cache_info().currsize
    for _ in range(2):
        with pytest.raises(ValueError):
            der_of("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    assert der_of.cache_info().currsize == before


class _Security:
    """Trusts the certificate until told otherwise."""

    trusted = True

    def peer_country(self, der: bytes, *, now: dt.datetime) -> str:
        if not self.trusted:
            raise CertificateError("revoked", "revoked since the last request")
        return "BE"


def test_a_remembered_certificate_is_still_checked_every_time(gw_pki: Path) -> None:
    gw = Gateway.__new__(Gateway)
    gw.security = _Security()  # type: ignore[assignment]
    gw.pins = None  # no peers directory: the trust list alone
    pem = _pem(gw_pki, "be")
    ex = Exchange(endpoint="xca", at=NOW, peer_host=None, provider="urn:oid:1")
    assert gw._peer_country(pem, NOW, ex) == "BE"
    assert ex.peer_subject and "C=BE" in ex.peer_subject
    gw.security.trusted = False  # type: ignore[attr-defined]
    with pytest.raises(TransportRefused):
        gw._peer_country(pem, NOW, Exchange(endpoint="xca", at=NOW, peer_host=None,
                                            provider="urn:oid:1"))


@pytest.mark.parametrize("wrap", [False, True])
def test_optimise_moves_each_document_into_a_part(wrap: bool) -> None:
    data = bytes(range(256)) * 40
    text = base64.encodebytes(data).decode() if wrap else base64.b64encode(data).decode()
    envelope = etree.Element(qname("soap", "Envelope"), nsmap={"soap": NS["soap"]})
    body = etree.SubElement(envelope, qname("soap", "Body"))
    etree.SubElement(body, qname("xds", "Document")).text = text
    attachments = _optimise(envelope)
    assert list(attachments.values()) == [data]
    include = body[0][0]
    assert include.tag == qname("xop", "Include")
    assert include.get("href") == "cid:" + next(iter(attachments))
