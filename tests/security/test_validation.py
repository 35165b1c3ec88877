"""Assertion validation: the happy path, then one test per check (each fails if the check goes)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from lxml import etree

from ncp.errors import ErrorCode
from ncp.security.errors import AssertionInvalid, ReplayDetected
from ncp.security.keys import SigningCredentials
from ncp.security.permissions import Transaction
from ncp.security.pki import issue_ca, issue_leaf
from ncp.security.saml import (
    NokClaims,
    TrcClaims,
    build_hcp_assertion,
    build_nok_assertion,
    build_trc_assertion,
)
from ncp.security.validation import AssertionPolicy, AssertionValidator, PatientId
from ncp.xmlutil import NS
from tests.security.conftest import NOW, PATIENT, reparse, wrap_in_security

XCA_PS = Transaction.XCA_QUERY_PS
S = f"{{{NS['saml']}}}"


def run(validator: AssertionValidator, assertions: list[etree._Element], *,
        transaction: Transaction = XCA_PS, patient: str | None = PATIENT,
        peer: str = "BE", now: dt.datetime = NOW):
    return validator.validate(wrap_in_security(*assertions), transaction=transaction,
                              patient_id=patient, peer_country=peer, now=now)


def refused(validator, assertions, **kw) -> AssertionInvalid:
    with pytest.raises(AssertionInvalid) as info:
        run(validator, assertions, **kw)
    return info.value


def test_valid_pair_gives_typed_identity(validator, make_pair):
    hcp, trc = make_pair()
    ident = run(validator, [reparse(hcp), reparse(trc)])
    assert ident.country == "BE"
    assert ident.hcp.name == "Dr. An Peeters"
    assert ident.hcp.subject_id == "dr.peeters@be"
    assert ident.hcp.role_code == "221" and ident.hcp.role_display == "Medical doctors"
    assert ident.hcp.organisation == "UZ Leuven"
    assert ident.hcp.facility_type == "Hospital"
    assert ident.hcp.purpose_of_use == "TREATMENT"
    assert {"PRD-003", "PRD-006"} <= ident.hcp.permissions
    assert ident.trc is not None
    assert ident.trc.patient_id == PatientId(root="1.3.182.4.4", extension="1980010112345")
    assert ident.trc.hcp_assertion_id == hcp.get("ID")


def test_patient_discovery_needs_no_trc(validator, make_pair):
    hcp, _ = make_pair()
    ident = run(validator, [hcp], transaction=Transaction.XCPD_PATIENT_DISCOVERY, patient=None)
    assert ident.trc is None


def test_missing_trc_is_refused(validator, make_pair):
    hcp, _ = make_pair()
    err = refused(validator, [hcp])
    assert err.reason == "assertion-missing" and err.error is ErrorCode.TRC_ASSERTION_INVALID


def test_missing_hcp_is_refused(validator, make_pair):
    _, trc = make_pair()
    err = refused(validator, [trc])
    assert err.reason == "assertion-missing" and err.error is ErrorCode.HCP_ASSERTION_INVALID


def test_unknown_issuer_kind_is_refused(validator, make_pair):
    hcp, trc = make_pair()
    hcp.find(f"{S}Issuer").set("NameQualifier", "urn:example:other")
    assert refused(validator, [hcp, trc]).reason == "unknown-assertion-kind"


def test_two_hcp_assertions_are_refused(validator, make_pair):
    hcp, trc = make_pair()
    hcp2, _ = make_pair()
    assert refused(validator, [hcp, hcp2, trc]).reason == "duplicate-assertion"


@pytest.mark.parametrize(("offset", "reason"), [
    (dt.timedelta(hours=2), "expired"),
    (dt.timedelta(minutes=-5), "not-yet-valid"),
])
def test_time_window(validator, make_pair, offset, reason):
    hcp, trc = make_pair()
    err = refused(validator, [hcp, trc], now=NOW + offset)
    assert err.reason == reason and err.error is ErrorCode.HCP_ASSERTION_INVALID


def test_clock_skew_of_60s_is_tolerated(validator, make_pair):
    hcp, trc = make_pair()
    run(validator, [hcp, trc], now=NOW - dt.timedelta(seconds=59))


def test_hcp_lifetime_above_4h_is_refused(validator, make_pair):
    hcp, trc = make_pair(hcp_lifetime=dt.timedelta(hours=4, minutes=1))
    assert refused(validator, [hcp, trc]).reason == "lifetime"


def test_trc_lifetime_above_2h_is_refused(validator, make_pair):
    hcp, trc = make_pair(trc_lifetime=dt.timedelta(hours=2, minutes=1))
    err = refused(validator, [hcp, trc])
    assert err.reason == "lifetime" and err.error is ErrorCode.TRC_ASSERTION_INVALID


def test_weak_authentication_is_4702(validator, make_pair):
    hcp, trc = make_pair(authn_context="urn:oasis:names:tc:SAML:2.0:ac:classes:Password")
    err = refused(validator, [hcp, trc])
    assert err.reason == "weak-authentication" and err.error is ErrorCode.WEAK_AUTHENTICATION


def test_missing_permission_is_4703(validator, make_pair):
    hcp, trc = make_pair(permissions=frozenset({"PRD-006", "PRD-003"}))
    err = refused(validator, [hcp, trc])
    assert err.reason == "permission" and err.error is ErrorCode.INSUFFICIENT_RIGHTS
    # the same assertion is good enough for patient discovery
    hcp2, _ = make_pair(permissions=frozenset({"PRD-006"}))
    run(validator, [hcp2], transaction=Transaction.XCPD_PATIENT_DISCOVERY, patient=None)


def test_eprescription_needs_its_own_permissions(validator, make_pair):
    hcp, trc = make_pair(permissions=frozenset({"PRD-003", "PRD-005", "PRD-010", "PRD-016"}))
    err = refused(validator, [hcp, trc], transaction=Transaction.XCA_RETRIEVE_EP)
    assert err.error is ErrorCode.INSUFFICIENT_RIGHTS


def test_unknown_role_is_4703(validator, make_pair):
    hcp, trc = make_pair(role_code="9999")
    err = refused(validator, [hcp, trc])
    assert err.reason == "role" and err.error is ErrorCode.INSUFFICIENT_RIGHTS


def test_bad_purpose_of_use(validator, make_pair):
    hcp, trc = make_pair(purpose_of_use="MARKETING")
    assert refused(validator, [hcp, trc]).reason == "purpose-of-use"


def test_bad_facility_type(validator, make_pair):
    hcp, trc = make_pair(facility_type="Casino")
    assert refused(validator, [hcp, trc]).reason == "facility-type"


def test_trc_for_another_patient_is_4206(validator, make_pair):
    hcp, trc = make_pair(patient="1975020254321^^^&1.3.182.4.4&ISO")
    err = refused(validator, [hcp, trc])
    assert err.reason == "patient-mismatch" and err.error is ErrorCode.PATIENT_NOT_MATCHING_TRC


def test_trc_patient_from_another_authority_is_4206(validator, make_pair):
    hcp, trc = make_pair(patient="1980010112345^^^&2.999.9&ISO")
    assert refused(validator, [hcp, trc]).error is ErrorCode.PATIENT_NOT_MATCHING_TRC


def test_trc_not_bound_to_hcp(validator, make_pair):
    hcp, trc = make_pair(hcp_ref="_someone-else")
    err = refused(validator, [hcp, trc])
    assert err.reason == "not-bound" and err.error is ErrorCode.TRC_ASSERTION_INVALID


def test_trc_authn_context_must_be_previous_session(validator, make_pair, be_creds):
    hcp, _ = make_pair()
    trc = build_trc_assertion(
        TrcClaims(subject_id="x", patient_id=PATIENT, hcp_assertion_id=hcp.get("ID")),
        issuer="urn:initgw:BE:countryB", credentials=be_creds, now=NOW)
    ref = trc.find(f"{S}AuthnStatement/{S}AuthnContext/{S}AuthnContextClassRef")
    ref.text = "urn:oasis:names:tc:SAML:2.0:ac:classes:X509"
    _resign(trc, be_creds)
    assert refused(validator, [hcp, trc]).reason == "authn-context"


def _resign(el: etree._Element, creds: SigningCredentials) -> None:
    from ncp.security.xmldsig import sign_enveloped

    el.remove(el.find("{http://www.w3.org/2000/09/xmldsig#}Signature"))
    sign_enveloped(el, creds)


def test_audience_must_name_us(validator, make_pair, be_creds):
    hcp, trc = make_pair()
    trc.find(f"{S}Conditions/{S}AudienceRestriction/{S}Audience").text = "urn:other"
    _resign(trc, be_creds)
    assert refused(validator, [hcp, trc]).reason == "audience"


def test_trc_audience_is_required(validator, make_pair, be_creds):
    hcp, trc = make_pair()
    cond = trc.find(f"{S}Conditions")
    cond.remove(cond.find(f"{S}AudienceRestriction"))
    _resign(trc, be_creds)
    assert refused(validator, [hcp, trc]).reason == "audience"


def test_version_must_be_2_0(validator, make_pair, be_creds):
    hcp, trc = make_pair()
    hcp.set("Version", "1.1")
    _resign(hcp, be_creds)
    assert refused(validator, [hcp, trc]).reason == "version"


def test_issuer_country_must_be_the_peer(validator, make_pair):
    hcp, trc = make_pair(country="FR")
    assert refused(validator, [hcp, trc]).reason == "issuer-country"


def test_subject_confirmation_of_trc_is_sender_vouches(validator, make_pair, be_creds):
    hcp, trc = make_pair()
    trc.find(f"{S}Subject/{S}SubjectConfirmation").set(
        "Method", "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key")
    _resign(trc, be_creds)
    assert refused(validator, [hcp, trc]).reason == "subject-confirmation"


# --- signature and signer ---------------------------------------------------------------------

def test_unsigned_assertion_is_1001_not_4704(validator, make_pair):
    hcp, trc = make_pair()
    hcp.remove(hcp.find("{http://www.w3.org/2000/09/xmldsig#}Signature"))
    err = refused(validator, [hcp, trc])
    assert err.reason == "signature-missing" and err.error is ErrorCode.HCP_ASSERTION_INVALID


def test_tampered_attribute_is_refused(validator, make_pair):
    hcp, trc = make_pair(role_code="3213")
    role = hcp.find(".//{urn:hl7-org:v3}Role")
    role.set("code", "221")
    err = refused(validator, [hcp, trc])
    assert err.reason == "bad-signature"


def test_signer_of_another_country_than_the_tls_peer(validator, make_pair):
    hcp, trc = make_pair()
    err = refused(validator, [hcp, trc], peer="LU")
    # the issuer names BE, but even with a neutral issuer the signer's country is checked
    assert err.reason in {"issuer-country", "wrong-country"}
    hcp, trc = make_pair(country="LU")
    err = refused(validator, [hcp, trc], peer="LU")
    assert err.reason == "wrong-country"


def test_signer_claiming_a_country_its_ca_does_not_serve(validator, make_pair, pki_root):
    from ncp.security.pki import _load  # the LU CA issues a certificate saying C=BE

    lu_ca = _load(pki_root / "lu", "ca")
    forged = issue_leaf(lu_ca, "signing", country="BE")
    creds = _creds(forged)
    hcp, trc = make_pair(creds=creds)
    err = refused(validator, [hcp, trc])
    assert err.reason == "untrusted-issuer" and err.error is ErrorCode.HCP_ASSERTION_INVALID


def test_self_signed_signer_is_refused(validator, make_pair):
    ca = issue_ca("BE")  # self-signed, C=BE, but not a trust anchor
    self_signed = issue_leaf(ca, "signing")
    # make the leaf itself self-signed
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    cert = (x509.CertificateBuilder().subject_name(self_signed.certificate.subject)
            .issuer_name(self_signed.certificate.subject)
            .public_key(self_signed.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=1))
            .not_valid_after(NOW + dt.timedelta(days=10))
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False,
                                         False), critical=True)
            .sign(self_signed.key, hashes.SHA256()))
    from ncp.security.pki import IssuedCertificate

    creds = _creds(IssuedCertificate(cert, self_signed.key))
    hcp, trc = make_pair(creds=creds)
    assert refused(validator, [hcp, trc]).reason == "self-signed"


def test_signer_from_a_foreign_ca_is_refused(validator, make_pair):
    rogue = issue_leaf(issue_ca("BE"), "signing")
    hcp, trc = make_pair(creds=_creds(rogue))
    assert refused(validator, [hcp, trc]).reason == "untrusted-issuer"


def test_expired_signer_certificate(validator, make_pair, pki_root):
    from ncp.security.pki import _load

    be_ca = _load(pki_root / "be", "ca")
    old = issue_leaf(be_ca, "signing", not_before=NOW - dt.timedelta(days=30),
                     not_after=NOW - dt.timedelta(days=1))
    hcp, trc = make_pair(creds=_creds(old))
    assert refused(validator, [hcp, trc]).reason == "certificate-expired"


def test_tls_certificate_cannot_sign_assertions(validator, make_pair, pki_root):
    from ncp.security.keys import load_credentials

    tls = load_credentials(pki_root / "be" / "tls-server.key", pki_root / "be" / "tls-server.pem")
    hcp, trc = make_pair(creds=tls)
    assert refused(validator, [hcp, trc]).reason == "key-usage"


def test_revoked_signer_is_refused(make_pair, pki_copy):
    from ncp.security.pki import _load, revoke
    from ncp.security.replay import InMemoryReplayCache
    from ncp.security.truststore import TrustStore

    be_ca = _load(pki_copy / "be", "ca")
    signer = issue_leaf(be_ca, "signing")
    trust = TrustStore(pki_copy / "trust-list.json", refresh_interval=0)
    v = AssertionValidator(trust, InMemoryReplayCache())
    hcp, trc = make_pair(creds=_creds(signer), now=dt.datetime.now(dt.UTC))
    now = dt.datetime.now(dt.UTC)
    run(v, [hcp, trc], now=now)  # accepted while not revoked
    revoke(pki_copy, "BE", signer.certificate)  # the trust store notices the new CRL by itself
    hcp, trc = make_pair(creds=_creds(signer), now=now)
    err = refused(v, [hcp, trc], now=now)
    assert err.reason == "revoked"


def _creds(issued) -> SigningCredentials:
    from cryptography.hazmat.primitives import serialization

    return SigningCredentials.from_pem(
        issued.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()),
        issued.certificate.public_bytes(serialization.Encoding.PEM))


def test_ecdsa_signer_is_accepted(validator, make_pair, pki_root):
    from ncp.security.pki import _load, generate_key

    be_ca = _load(pki_root / "be", "ca")
    ec_signer = issue_leaf(be_ca, "signing", key=generate_key("ec"))
    hcp, trc = make_pair(creds=_creds(ec_signer))
    assert b"ecdsa-sha256" in etree.tostring(hcp)
    run(validator, [reparse(hcp), reparse(trc)])


# --- replay (in memory here; the database cache has its own test) ----------------------------

def _same_id(creds, original: etree._Element, **changes: object) -> etree._Element:
    """Another HCP assertion (validly signed, different content) under ``original``'s id."""
    from dataclasses import replace

    from tests.security.conftest import HCP

    return build_hcp_assertion(replace(HCP, **changes), issuer="urn:idp:BE:countryB",
                               credentials=creds, now=NOW,
                               lifetime=dt.timedelta(hours=1), assertion_id=original.get("ID"))


def test_replay_of_another_assertion_is_refused_and_refusal_leaves_no_trace(validator,
                                                                            make_pair, be_creds):
    hcp, trc = make_pair()
    bad_hcp, bad_trc = make_pair(patient="1975020254321^^^&1.3.182.4.4&ISO")
    refused(validator, [bad_hcp, bad_trc])
    run(validator, [bad_hcp, make_pair(hcp_ref=bad_hcp.get("ID"))[1]])  # not consumed above
    run(validator, [hcp, trc])
    forged = _same_id(be_creds, hcp, name="Dr. Someone Else")
    err = refused(validator, [forged, make_pair(hcp_ref=hcp.get("ID"))[1]])
    assert isinstance(err, ReplayDetected) and err.reason == "replay"
    assert err.error.code == "1001"


def test_the_same_assertion_may_serve_a_session(validator, make_pair):
    """Portals send one HCP (and one TRC per patient) for discovery, query and retrieve."""
    hcp, trc = make_pair()
    for _ in range(3):
        run(validator, [reparse(hcp), reparse(trc)])
    run(validator, [hcp], transaction=Transaction.XCPD_PATIENT_DISCOVERY, patient=None)


def test_a_reused_message_id_is_refused_even_with_fresh_assertions(validator, make_pair):
    hcp, trc = make_pair()
    validator.validate(wrap_in_security(hcp, trc), transaction=XCA_PS, patient_id=PATIENT,
                       peer_country="BE", now=NOW, message_id="urn:uuid:m-1")
    fresh = make_pair()
    with pytest.raises(ReplayDetected) as info:
        validator.validate(wrap_in_security(*fresh), transaction=XCA_PS, patient_id=PATIENT,
                           peer_country="BE", now=NOW, message_id="urn:uuid:m-1")
    assert info.value.reason == "message-replay" and info.value.error.code == "1001"
    # the refused request consumed nothing: its fresh assertions still pass
    validator.validate(wrap_in_security(*fresh), transaction=XCA_PS, patient_id=PATIENT,
                       peer_country="BE", now=NOW, message_id="urn:uuid:m-2")


def test_replay_scope_per_message(trust, make_pair):
    from ncp.security.replay import InMemoryReplayCache

    v = AssertionValidator(trust, InMemoryReplayCache(),
                           AssertionPolicy(replay_scope="assertion+message"))
    hcp, trc = make_pair()
    for mid in ("urn:uuid:1", "urn:uuid:2"):
        v.validate(wrap_in_security(hcp, trc), transaction=XCA_PS, patient_id=PATIENT,
                   peer_country="BE", now=NOW, message_id=mid)
    with pytest.raises(ReplayDetected):
        v.validate(wrap_in_security(hcp, trc), transaction=XCA_PS, patient_id=PATIENT,
                   peer_country="BE", now=NOW, message_id="urn:uuid:2")


# --- next of kin --------------------------------------------------------------------------------

def _nok(creds, hcp_id: str) -> etree._Element:
    return build_nok_assertion(
        NokClaims(subject_id="nok", hcp_assertion_id=hcp_id, first_name="Marie",
                  family_name="Dupont", nok_id="123^^^&1.2.3&ISO"),
        issuer="urn:initgw:BE:countryB", credentials=creds, now=NOW)


def test_next_of_kin_is_validated_and_bound(validator, make_pair, be_creds):
    hcp, trc = make_pair()
    ident = run(validator, [_nok(be_creds, hcp.get("ID")), hcp, trc])
    assert ident.nok is not None
    assert ident.nok.attributes["urn:ehdsi:names:subject:nextofkin:firstname"] == "Marie"
    hcp, trc = make_pair()
    err = refused(validator, [_nok(be_creds, "_other"), hcp, trc])
    assert err.reason == "not-bound"


# --- the Danish templates of the specs ----------------------------------------------------------

def _fill(template: str, values: dict[str, str]) -> bytes:
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", value)
    assert "{{" not in template
    return template.encode()


def test_spec_templates_parse_once_filled_and_signed(specs_dir, be_creds, validator):
    from ncp.security.saml import format_instant, parse_assertion
    from ncp.security.xmldsig import sign_enveloped, verify_enveloped
    from ncp.xmlutil import parse_xml

    folder = specs_dir / "samples" / "saml"
    hcp_id, trc_id = f"_{uuid.uuid4()}", f"_{uuid.uuid4()}"
    times = {"issue-instant": format_instant(NOW), "not-before": format_instant(NOW),
             "not-on-or-after": format_instant(NOW + dt.timedelta(hours=1)),
             "authn-instant": format_instant(NOW)}
    hcp = parse_xml(_fill((folder / "DK-template_hcp_assertion.xml").read_text(),
                          {"assertion-id": hcp_id, **times}))
    trc = parse_xml(_fill((folder / "DK-template_trc_assertion.xml").read_text(),
                          {"assertion-id": trc_id, "hcp-assertion-id": hcp_id, **times}))
    for el in (hcp, trc):
        sign_enveloped(el, be_creds)
    hcp, trc = reparse(hcp), reparse(trc)
    for el in (hcp, trc):
        verify_enveloped(el)
    parsed = parse_assertion(hcp)
    assert parsed.kind == "urn:ehdsi:assertions:hcp"
    assert parsed.single("urn:oasis:names:tc:xacml:2.0:subject:role").value == "221"
    assert parse_assertion(trc).advice_refs == (hcp_id,)
    # Signed by our BE test signer, the template's issuer (urn:idp:DK:...) betrays the mismatch.
    with pytest.raises(AssertionInvalid) as info:
        validator.validate([hcp], transaction=Transaction.XCPD_PATIENT_DISCOVERY,
                           patient_id=None, peer_country="BE", now=NOW)
    assert info.value.reason == "issuer-country"
    # With the issuer of the signer's country, the template passes every rule of discovery.
    hcp = parse_xml(_fill((folder / "DK-template_hcp_assertion.xml").read_text().replace(
        "urn:idp:DK:countryB", "urn:idp:BE:countryB"), {"assertion-id": hcp_id, **times}))
    sign_enveloped(hcp, be_creds)
    ident = validator.validate([reparse(hcp)], transaction=Transaction.XCPD_PATIENT_DISCOVERY,
                               patient_id=None, peer_country="BE", now=NOW)
    assert ident.hcp.name == "Dr. Doolittle"
    assert ident.hcp.organisation == "eHealth OpenNCP EU Portal"
    assert ident.hcp.authn_context.endswith("MobileTwoFactorContract")


def test_conditions_are_required(validator, make_pair, be_creds):
    hcp, trc = make_pair()
    cond = hcp.find(f"{S}Conditions")
    del cond.attrib["NotOnOrAfter"]
    _resign(hcp, be_creds)
    assert refused(validator, [hcp, trc]).reason == "conditions-missing"


def test_issue_instant_in_the_future(validator, make_pair):
    hcp, trc = make_pair(now=NOW + dt.timedelta(minutes=2))
    # NotBefore is also in the future; move "now" so that only IssueInstant can refuse
    err = refused(validator, [hcp, trc], now=NOW)
    assert err.reason == "not-yet-valid"


def test_assertion_without_id_is_refused(validator, make_pair):
    hcp, trc = make_pair()
    del hcp.attrib["ID"]
    assert refused(validator, [hcp, trc]).reason == "no-id"


def test_nameid_is_required(validator, make_pair, be_creds):
    hcp, trc = make_pair()
    hcp.find(f"{S}Subject/{S}NameID").text = ""
    _resign(hcp, be_creds)
    assert refused(validator, [hcp, trc]).reason == "malformed-assertion"


def test_assertions_from_separate_documents(validator, make_pair):
    hcp, trc = make_pair()
    ident = validator.validate([reparse(hcp), reparse(trc)], transaction=XCA_PS,
                               patient_id=PATIENT, peer_country="BE", now=NOW)
    assert ident.trc is not None


def test_a_trc_of_another_professional_is_refused(validator, make_pair, be_creds):
    hcp, _trc = make_pair()
    other = build_trc_assertion(
        TrcClaims(subject_id="someone.else@be", patient_id=PATIENT,
                  hcp_assertion_id=hcp.get("ID")),
        issuer="urn:initgw:BE:countryB", credentials=be_creds, now=NOW,
        lifetime=dt.timedelta(hours=1))
    err = refused(validator, [hcp, other])
    assert err.reason == "not-bound" and err.error.code == "1002"
