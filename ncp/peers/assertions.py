"""The assertions our gateway issues for a call abroad: HCP identity and treatment relationship.

Country B vouches for its professional: we are the identity provider of the logged-in
professional (HCP assertion, issuer ``urn:idp:<CC>:countryB``) and the issuer of the treatment
relationship the professional confirmed (TRC assertion, issuer ``urn:initgw:<CC>:countryB``,
bound to the HCP assertion by ``Advice/AssertionIDRef``). Both are signed with our signing key.

Fresh assertions are made for every request: receiving gateways refuse a second use of an
assertion ID (replay), and a short lifetime limits what a stolen message is worth.

The authentication context tells how the professional logged in: password + TOTP is
``MobileTwoFactorContract``, the professional card (TLS client certificate) ``X509``.

What receivers read besides (the reference gateway among them): the
``urn:ihe:iti:xca:2010:homeCommunityId`` attribute ("HCI Identifier", ``urn:oid:`` of our home
community) for their audit records; NotBefore a minute before the issue instant, since a
receiver whose clock is a second behind ours must not see a not-yet-valid assertion; the
locality as the place of care (organisation and country, not a bare country code), which the
reference gateway passes on as the point of care; and the role code the receiving peer accepts
(:mod:`ncp.peers.roles`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lxml import etree

from ncp.peers.roles import GROUP, wire_role
from ncp.security.keys import SigningCredentials
from ncp.security.saml import HcpClaims, TrcClaims, build_hcp_assertion, build_trc_assertion
from ncp.store.peers import ProfessionalCard

__all__ = ["AssertionIssuer", "Professional", "permissions_for"]

_AC = "urn:oasis:names:tc:SAML:2.0:ac:classes:"
#: Portal login method -> SAML authentication context class (all two-factor).
AUTHN_CONTEXTS = {"password": _AC + "MobileTwoFactorContract",
                  "password+totp": _AC + "MobileTwoFactorContract",
                  "totp": _AC + "MobileTwoFactorContract", "certificate": _AC + "X509",
                  "card": _AC + "X509"}
#: XSPA permissions (eHDSI HL7 permission catalogue) our professionals hold abroad.
_DOCTOR = frozenset({"PRD-003", "PRD-004", "PRD-005", "PRD-006", "PRD-010", "PRD-016"})
_PHARMACIST = frozenset({"PRD-004", "PRD-006", "PRD-010", "PPD-046"})
_FACILITY = {"hospital": "Hospital", "practice": "Resident Physician", "pharmacy": "Pharmacy"}
#: How far NotBefore lies before the issue instant (the eHDSI clock skew is 60 s).
BACKDATE = dt.timedelta(seconds=60)
_COUNTRY_NAMES = {
    "AT": "Austria", "BE": "Belgium", "BG": "Bulgaria", "CH": "Switzerland", "CY": "Cyprus",
    "CZ": "Czechia", "DE": "Germany", "DK": "Denmark", "EE": "Estonia", "EL": "Greece",
    "ES": "Spain", "FI": "Finland", "FR": "France", "GR": "Greece", "HR": "Croatia",
    "HU": "Hungary", "IE": "Ireland", "IS": "Iceland", "IT": "Italy", "LI": "Liechtenstein",
    "LT": "Lithuania", "LU": "Luxembourg", "LV": "Latvia", "MT": "Malta", "NL": "Netherlands",
    "NO": "Norway", "PL": "Poland", "PT": "Portugal", "RO": "Romania", "SE": "Sweden",
    "SI": "Slovenia", "SK": "Slovakia",
}


def permissions_for(profession: str) -> frozenset[str]:
    if profession == "pharmacist":
        return _PHARMACIST
    if profession in ("physician", "dentist", "midwife", "nurse", "radiologist",
                      "laboratory-physician"):
        return _DOCTOR
    return frozenset({"PRD-006"})


@dataclass(frozen=True, slots=True)
class Professional:
    """The logged-in professional as the assertion describes them."""

    card: ProfessionalCard
    login_method: str

    @property
    def name(self) -> str:
        return f"{self.card.given_name} {self.card.family_name}"


class AssertionIssuer:
    """Issues the HCP and TRC assertions of our gateway (country ``country``)."""

    def __init__(self, *, country: str, credentials: SigningCredentials,
                 locality: str = "", home_community_id: str = "") -> None:
        self.country = country.upper()
        self.credentials = credentials
        self.locality = locality
        self.home_community_id = home_community_id

    def locality_of(self, who: Professional) -> str:
        """The place of care: ``<organisation>, <country>`` unless a locality was configured."""
        if self.locality:
            return self.locality
        country = _COUNTRY_NAMES.get(self.country, self.country)
        org = who.card.organisation_name.strip()
        return f"{org}, {country}" if org else country

    def hcp(self, who: Professional, *, purpose: str, now: dt.datetime,
            lifetime: dt.timedelta = dt.timedelta(minutes=30),
            role_policy: str = GROUP) -> etree._Element:
        card = who.card
        role_code, role_display = wire_role(card.isco_code, role_policy)
        claims = HcpClaims(
            subject_id=card.registry_id, name=who.name, role_code=role_code,
            role_display=role_display,
            home_community_id=f"urn:oid:{self.home_community_id}"
            if self.home_community_id else "",
            organisation=card.organisation_name or "unknown",
            organisation_id=card.organisation_identifier or card.registry_id,
            facility_type=_FACILITY.get(card.organisation_kind, "Other"),
            purpose_of_use=purpose, locality=self.locality_of(who),
            permissions=permissions_for(card.profession),
            authn_context=AUTHN_CONTEXTS.get(who.login_method, _AC + "MobileTwoFactorContract"))
        return build_hcp_assertion(claims, issuer=f"urn:idp:{self.country}:countryB",
                                   credentials=self.credentials, now=now, lifetime=lifetime,
                                   valid_from=now - BACKDATE)

    def trc(self, hcp: etree._Element, *, patient_cx: str, purpose: str, now: dt.datetime,
            prescription_id: str | None = None,
            lifetime: dt.timedelta = dt.timedelta(minutes=30)) -> etree._Element:
        name_id = hcp.findtext("{urn:oasis:names:tc:SAML:2.0:assertion}Subject/"
                               "{urn:oasis:names:tc:SAML:2.0:assertion}NameID") or ""
        claims = TrcClaims(subject_id=name_id, patient_id=patient_cx,
                           hcp_assertion_id=hcp.get("ID") or "", purpose_of_use=purpose,
                           prescription_id=prescription_id)
        return build_trc_assertion(claims, issuer=f"urn:initgw:{self.country}:countryB",
                                   credentials=self.credentials, now=now, lifetime=lifetime,
                                   valid_from=now - BACKDATE)
