"""The client's refusals against a real foreign gateway: a peer whose TLS server certificate is
not issued by the anchor our directory holds for it, an answer signed by a signer the directory
does not name, and the eDispensation we send validating against the eHDSI schematron."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from ncp.crossborder.partner import BE_PATIENTS, COUNTRIES
from ncp.crossborder.service import CrossBorder
from ncp.peers.errors import CrossBorderError
from ncp.settings import Settings
from ncp.store import matricule
from tests.crossborder.conftest import TwoCountries

EMMA_BE = matricule.make(BE_PATIENTS[0][0], BE_PATIENTS[0][1])


@pytest.fixture
def luxembourg(two_countries: TwoCountries) -> Iterator[tuple[CrossBorder, object]]:
    xb, who = _luxembourg(two_countries)
    yield xb, who
    xb.client.close()


def _luxembourg(two: TwoCountries) -> tuple[CrossBorder, object]:
    profile = COUNTRIES["LU"]
    settings = Settings(var_dir=two.lu.var, pki_dir=two.lu.pki, country_code="LU",
                        home_community_id=profile.home_community_id)
    xb = CrossBorder(settings, two.lu.engine)
    with two.lu.engine.connect() as conn:
        pid = conn.execute(text("SELECT id FROM professionals WHERE registry_id = "
                                "'LU-HP-100001'")).scalar()
    return xb, xb.professional(pid, "totp")


def test_discovery_through_the_client(luxembourg) -> None:  # type: ignore[no-untyped-def]
    xb, who = luxembourg
    peer = xb.peer("BE")
    found = xb.client.discover(peer, who, mask=xb.mask(peer), values={"id": EMMA_BE})
    assert [(p.given_name, p.family_name, p.birth_date) for p in found] == \
        [("Emma", "Janssens", "1968-05-14")]


def test_a_peer_with_another_countrys_tls_certificate_is_refused(
        two_countries: TwoCountries, luxembourg) -> None:  # type: ignore[no-untyped-def]
    xb, who = luxembourg
    peer = xb.peer("BE")
    wrong = dataclasses.replace(peer, tls_anchor_pem=(two_countries.lu.pki / "lu" /
                                                      "ca.pem").read_text())
    with pytest.raises(CrossBorderError) as exc:
        xb.client.discover(wrong, who, mask=xb.mask(peer), values={"id": EMMA_BE})
    assert exc.value.key == "tls"


def test_an_answer_from_a_signer_outside_the_directory_is_discarded(
        two_countries: TwoCountries, luxembourg) -> None:  # type: ignore[no-untyped-def]
    xb, who = luxembourg
    peer = xb.peer("BE")
    narrowed = dataclasses.replace(peer, signing_anchor_pem=(two_countries.lu.pki / "lu" /
                                                             "ca.pem").read_text())
    with pytest.raises(CrossBorderError) as exc:
        xb.client.discover(narrowed, who, mask=xb.mask(peer), values={"id": EMMA_BE})
    assert exc.value.key == "response_untrusted"
    # and the refusal is in our audit trail
    with two_countries.lu.engine.connect() as conn:
        failed = conn.execute(text("SELECT count(*) FROM audit_messages WHERE event_code = "
                                   "'EHDSI-11' AND outcome <> '0'")).scalar()
    assert failed and failed >= 1


def test_the_dispensations_we_sent_validate_against_the_schematron(
        two_countries: TwoCountries, tmp_path: Path) -> None:
    """Run after the round trips (file order): every eD Belgium sent is valid eHDSI."""
    from ncp.store.db import session_factory
    from ncp.store.keys import KeyRingSource
    from ncp.store.peers import CrossBorderStore, SentDispensation
    from ncp.validation.validator import validate_document

    be = two_countries.be
    store = CrossBorderStore(session_factory(be.engine),
                             KeyRingSource.from_file(be.var / "keys" / "master-keys.json"))
    with be.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, account_id FROM crossborder_dispensations "
                                 "WHERE ciphertext IS NOT NULL")).all()
    sent = [store.dispensation(i, account_id=a).content for i, a in rows]
    assert SentDispensation.__tablename__ == "crossborder_dispensations"
    if not sent:
        pytest.skip("no dispensation sent in this session (run with the round-trip tests)")
    for content in sent:
        report = validate_document(content, var_dir=tmp_path)
        assert report.ok, (report.xsd_errors, [str(f) for f in report.schematron_errors][:5])
