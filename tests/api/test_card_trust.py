"""Professional cards through the trust store, over the real server (mutual TLS): a revoked
card, a card whose issuer's CRL is missing or stale, and a card of the gateway CA are refused
at /portal/login/card and on /api/v1; a card (or our own gateway certificate) is never a peer
on the SOAP gateway (issue 14, items 1 and 5)."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ncp import demo
from ncp.security.pki import CARD_CA_FOLDER, IssuedCertificate, revoke, write_crl
from tests.gateway.peer import Peer
from tests.portal.live import Live

JEAN = demo.PATIENTS[0].patient.matricule
#: The trust store looks at its files at most once a second.
REFRESH = 1.2


def _card_client(live: Live, cert: Path, key: Path):  # type: ignore[no-untyped-def]
    return live.client(verify=live.tls(cert, key))


def _logs_in(live: Live, cert: Path, key: Path) -> tuple[int, int]:
    """(status of /portal/login/card, status of /api/v1/me) with this card."""
    portal = _card_client(live, cert, key).post("/portal/login/card").status_code
    api = _card_client(live, cert, key).get("/api/v1/me").status_code
    return portal, api


def test_a_revoked_card_stops_working_at_once(live: Live, tmp_path: Path) -> None:
    cert, key = live.card(tmp_path, "lu-hp-100002")
    assert _logs_in(live, cert, key) == (303, 200)
    revoke(live.pki, "LU", x509.load_pem_x509_certificate(cert.read_bytes()), card=True)
    time.sleep(REFRESH)
    assert _logs_in(live, cert, key) == (401, 401)
    # Another card of the same issuer is not affected.
    other, other_key = live.card(tmp_path, "lu-hp-100003")
    assert _logs_in(live, other, other_key) == (303, 200)


def test_no_fresh_crl_of_the_card_issuer_refuses_every_card(live: Live, tmp_path: Path) -> None:
    cert, key = live.card(tmp_path, "lu-hp-100004")
    assert _logs_in(live, cert, key) == (303, 200)
    folder = live.pki / "lu" / CARD_CA_FOLDER
    saved = tmp_path / "ca.crl"
    shutil.copyfile(folder / "ca.crl", saved)
    try:
        ca = IssuedCertificate(
            x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes()),
            serialization.load_pem_private_key((folder / "ca.key").read_bytes(), None))  # type: ignore[arg-type]
        past = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
        write_crl(folder, ca, now=past, next_update=past + dt.timedelta(days=30))  # stale
        time.sleep(REFRESH)
        assert _logs_in(live, cert, key) == (401, 401)
        (folder / "ca.crl").unlink()  # missing
        time.sleep(REFRESH)
        assert _logs_in(live, cert, key) == (401, 401)
    finally:
        shutil.copyfile(saved, folder / "ca.crl")
        time.sleep(REFRESH)
    assert _logs_in(live, cert, key) == (303, 200)


def test_a_card_of_the_gateway_ca_is_no_card(live: Live, tmp_path: Path) -> None:
    """The LU country CA is the anchor of gateway TLS and signatures, not of cards."""
    cert, key = live.card(tmp_path, "lu-hp-100005", issuer="")
    assert _logs_in(live, cert, key) == (401, 401)


def test_a_card_or_our_own_certificate_is_never_a_peer(live: Live, tmp_path: Path) -> None:
    be = Peer(live.pki, "BE")
    sent = be.xcpd(JEAN)

    def post(cert: Path, key: Path):  # type: ignore[no-untyped-def]
        return _card_client(live, cert, key).post(
            "/ws/xcpd", content=sent.body, headers={"Content-Type": sent.content_type})

    card, card_key = live.card(tmp_path, "lu-hp-100006")
    refused = post(card, card_key)
    assert refused.status_code == 400 and b"SecurityTokenUnavailable" in refused.content
    lu = live.pki / "lu"
    own = post(lu / "tls-client.pem", lu / "tls-client.key")
    assert own.status_code == 400 and b"SecurityTokenUnavailable" in own.content
    # The Belgian gateway's own certificate is the peer (its request is answered).
    assert post(be.tls_cert, be.tls_key).status_code == 200
