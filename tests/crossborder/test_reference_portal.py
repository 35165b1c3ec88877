"""The portal's cross-border pages of the Luxembourg gateway (a real process) against a country
whose gateway behaves like the reference gateway (``reference_peer``): a doctor identifies a
Danish visitor, confirms the relationship and sees the documents; when the peer fails the query
open, the page shows the documents *and* the peer's error in words, and nothing is retrieved."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import text

from ncp.peers.client import default_endpoints
from ncp.security.pki import init_pki
from ncp.store.db import session_factory
from ncp.store.peers import PeerStore
from tests.clock import NOW
from tests.crossborder.conftest import TwoCountries, csrf
from tests.crossborder.reference_peer import Patient, ReferencePeer, running_reference_peer

DK_HCI = "2.16.17.710.850.1000.990.1"
#: The identifier domain of Denmark's published International Search Mask.
DK_ISM = Path("smp/ism-forms/InternationalSearch_DK.xml")
DK_ROOT = "2.16.17.710.802.1000.990.1"
ASTRID = Patient("0103681234", "Astrid", "Nielsen", "19680301")


def test_a_doctor_reaches_a_reference_gateway_country(
        two_countries: TwoCountries, tmp_path_factory: pytest.TempPathFactory,
        specs_dir: Path) -> None:
    lu = two_countries.lu
    dk_pki = tmp_path_factory.mktemp("dk-pki")
    init_pki(dk_pki, ("DK",), now=NOW, card_issuer=None)
    peer = ReferencePeer(country="DK", home_community_id=DK_HCI, patient_root=DK_ROOT,
                         patients=(ASTRID,))
    store = PeerStore(session_factory(lu.engine))
    with running_reference_peer(peer, pki=dk_pki, client_ca=lu.pki / "lu" / "ca.pem"):
        entry = {"country": "DK", "name": "NCPeH DK", "home_community_id": DK_HCI,
                 "endpoints": default_endpoints(peer.url), "source": "manual",
                 "tls_anchor_pem": (dk_pki / "dk" / "ca.pem").read_text(),
                 "search_mask": (specs_dir / DK_ISM).read_text(encoding="utf-8")}
        store.upsert(**entry, now=dt.datetime.now(dt.UTC), merge=False)
        doctor = lu.login("lu-hp-100001")
        try:
            page = doctor.get("/portal/xb/DK")
            assert page.status_code == 200
            token = csrf(page.text)
            found = doctor.post("/portal/xb/DK/search", data={"csrf": token,
                                                              "id": ASTRID.extension})
            assert found.status_code == 200 and "Astrid Nielsen" in found.text, found.text
            ctx = re.search(r"/portal/xb/c/([^/\"]+)/confirm", found.text)
            assert ctx
            confirmed = doctor.post(f"/portal/xb/c/{ctx.group(1)}/confirm",
                                    data={"csrf": token, "purpose": "TREATMENT",
                                          "confirm": "yes"})
            assert confirmed.status_code == 303
            visitor = doctor.get(f"/portal/xb/c/{ctx.group(1)}")
            assert visitor.status_code == 200 and peer.document_id in visitor.text
            assert 'class="ehdsi ' not in visitor.text
            assert all("fault" not in s and "refused" not in s for s in peer.seen), peer.seen
            assert {s["role"] for s in peer.seen} == {"221"}
            # the same doctor with the precise role 2211, off the peer's list: it fails open
            store.upsert(country="DK", name="", home_community_id="", endpoints={},
                         source="manual", now=dt.datetime.now(dt.UTC),
                         options={"role_codes": "precise"})
            seen = len(peer.seen)
            visitor = doctor.get(f"/portal/xb/c/{ctx.group(1)}")
            assert visitor.status_code == 200 and peer.document_id in visitor.text
            assert 'data-code="1001"' in visitor.text
            assert len(peer.seen) == seen + 1 and peer.seen[-1]["refused"]
            # our audit trail: the query as a minor failure with the peer's code, and the
            # professional's precise ISCO code (only the wire carries the group)
            with lu.engine.connect() as conn:
                outcome, message = conn.execute(text(
                    "SELECT outcome, message FROM audit_messages WHERE event_code = "
                    "'EHDSI-21' AND patient_ref LIKE :p ORDER BY id DESC LIMIT 1"),
                    {"p": f"{ASTRID.extension}%"}).one()
            assert outcome == "4" and "1001" in message and 'code="2211"' in message
        finally:
            doctor.close()
            store.remove("DK")
