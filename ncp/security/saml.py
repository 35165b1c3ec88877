"""eHDSI SAML 2.0 assertions (HCP identity, TRC, next of kin): build, sign and parse.

Building produces signed ``saml:Assertion`` elements with every eHDSI XUA attribute; parsing
reads an assertion into a typed :class:`ParsedAssertion` *without judging it* — the rules
(signature, trust, lifetimes, permissions, binding, replay) live in
:mod:`ncp.security.validation`, which only ever parses the element a signature covers.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lxml import etree

from ncp.security.errors import AssertionInvalid
from ncp.security.keys import SigningCredentials
from ncp.security.permissions import ALLOWED_ISCO_ROLES, ISCO_CODE_SYSTEM, PERMISSION_PREFIX
from ncp.security.xmldsig import sign_enveloped
from ncp.xmlutil import NS

__all__ = [
    "ATTR",
    "X_BORDER_AUDIENCE",
    "AssertionKind",
    "AssertionReader",
    "HcpClaims",
    "NokClaims",
    "ParsedAssertion",
    "TrcClaims",
    "build_hcp_assertion",
    "build_nok_assertion",
    "build_trc_assertion",
    "format_instant",
    "parse_assertion",
    "parse_instant",
]

SAML = NS["saml"]
_S = f"{{{SAML}}}"
HL7 = NS["hl7"]
X_BORDER_AUDIENCE = "urn:ehdsi:assertions.audience:x-border"
SENDER_VOUCHES = "urn:oasis:names:tc:SAML:2.0:cm:sender-vouches"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
NAMEID_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
URI_FORMAT = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
PREVIOUS_SESSION = "urn:oasis:names:tc:SAML:2.0:ac:classes:PreviousSession"
PURPOSE_CODE_SYSTEM = "2.16.840.1.113883.3.18.7.1"


class AssertionKind(enum.StrEnum):
    """Told apart by ``saml:Issuer/@NameQualifier``."""

    HCP = "urn:ehdsi:assertions:hcp"
    TRC = "urn:ehdsi:assertions:trc"
    NOK = "urn:ehdsi:assertions:nok"


class ATTR:
    """eHDSI XUA attribute names."""

    HOME_COMMUNITY_ID = "urn:ihe:iti:xca:2010:homeCommunityId"
    SUBJECT_ID = "urn:oasis:names:tc:xspa:1.0:subject:subject-id"
    ROLE = "urn:oasis:names:tc:xacml:2.0:subject:role"
    ORGANIZATION = "urn:oasis:names:tc:xspa:1.0:subject:organization"
    ORGANIZATION_ID = "urn:oasis:names:tc:xspa:1.0:subject:organization-id"
    FACILITY_TYPE = "urn:ehdsi:names:subject:healthcare-facility-type"
    PURPOSE_OF_USE = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"
    LOCALITY = "urn:oasis:names:tc:xspa:1.0:environment:locality"
    PERMISSION = "urn:oasis:names:tc:xspa:1.0:subject:hl7:permission"
    PRESCRIPTION_ID = "urn:ehdsi:names:document:document-id:prescriptionId"
    DISPENSATION_PIN = "urn:ehdsi:names:document:document-id:dispensationPinCode"
    NOK_ID = "urn:ehdsi:names:subject:nextofkin:id"
    NOK_FIRST_NAME = "urn:ehdsi:names:subject:nextofkin:firstname"
    NOK_FAMILY_NAME = "urn:ehdsi:names:subject:nextofkin:familyname"
    NOK_GENDER = "urn:ehdsi:names:subject:nextofkin:gender"
    NOK_BIRTH_DATE = "urn:ehdsi:names:subject:nextofkin:birthdate"
    NOK_STREET = "urn:ehdsi:names:subject:nextofkin:address:street"
    NOK_CITY = "urn:ehdsi:names:subject:nextofkin:address:city"
    NOK_POSTAL_CODE = "urn:ehdsi:names:subject:nextofkin:address:postalcode"
    NOK_COUNTRY = "urn:ehdsi:names:subject:nextofkin:address:country"


_FRIENDLY = {
    ATTR.HOME_COMMUNITY_ID: "HCI Identifier",
    ATTR.SUBJECT_ID: "XSPA Subject",
    ATTR.ROLE: "XSPA Role",
    ATTR.ORGANIZATION: "XSPA Organization",
    ATTR.ORGANIZATION_ID: "XSPA Organization ID",
    ATTR.FACILITY_TYPE: "eHealth DSI Healthcare Facility Type",
    ATTR.PURPOSE_OF_USE: "XSPA Purpose Of Use",
    ATTR.LOCALITY: "XSPA Locality",
    ATTR.PERMISSION: "Hl7 Permissions",
    ATTR.PRESCRIPTION_ID: "Prescription ID",
    ATTR.DISPENSATION_PIN: "Dispensation PIN code",
    ATTR.NOK_ID: "NextOfKinId",
    ATTR.NOK_FIRST_NAME: "NextOfKinFirstName",
    ATTR.NOK_FAMILY_NAME: "NextOfKinFamilyName",
    ATTR.NOK_GENDER: "NextOfKinGender",
    ATTR.NOK_BIRTH_DATE: "NextOfKinBirthDate",
    ATTR.NOK_STREET: "NextOfKinAddressStreet",
    ATTR.NOK_CITY: "NextOfKinAddressCity",
    ATTR.NOK_POSTAL_CODE: "NextOfKinPostalCode",
    ATTR.NOK_COUNTRY: "NextOfKinAddressCountry",
}


# --- time ---------------------------------------------------------------------------------------

def format_instant(when: dt.datetime) -> str:
    """SAML dateTime in UTC with millisecond precision and a ``Z``."""
    if when.tzinfo is None:
        raise ValueError("SAML instants must be timezone-aware")
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{when.astimezone(dt.UTC).microsecond // 1000:03d}Z"


def parse_instant(value: str | None, what: str) -> dt.datetime:
    """A SAML dateTime; it must carry a time zone (SAML requires UTC)."""
    try:
        parsed = dt.datetime.fromisoformat((value or "").strip())
    except ValueError:
        raise AssertionInvalid("malformed-assertion", f"{what} is not a dateTime") from None
    if parsed.tzinfo is None:
        raise AssertionInvalid("malformed-assertion", f"{what} has no time zone")
    return parsed.astimezone(dt.UTC)


# --- claims (input of the builders) -------------------------------------------------------------

@dataclass(frozen=True, kw_only=True, slots=True)
class HcpClaims:
    """Who the health professional is, as the identity provider of country B asserts it."""

    subject_id: str
    name: str
    role_code: str
    organisation: str
    organisation_id: str
    facility_type: str = "Hospital"
    purpose_of_use: str = "TREATMENT"
    locality: str = ""
    permissions: frozenset[str] = frozenset()
    authn_context: str = "urn:oasis:names:tc:SAML:2.0:ac:classes:X509"
    #: ``urn:oid:`` of the issuing country's home community (the reference gateway's audit
    #: records take the HCI of the requestor from it).
    home_community_id: str = ""
    #: Display name sent with ``role_code``; default the value set's designation.
    role_display: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class TrcClaims:
    """The treatment relationship confirmed by country B for one patient."""

    subject_id: str
    patient_id: str
    hcp_assertion_id: str
    purpose_of_use: str | None = "TREATMENT"
    prescription_id: str | None = None
    dispensation_pin_code: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class NokClaims:
    """A next of kin acting for the patient."""

    subject_id: str
    hcp_assertion_id: str
    nok_id: str | None = None
    first_name: str | None = None
    family_name: str | None = None
    gender: str | None = None
    birth_date: str | None = None
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None


# --- building -----------------------------------------------------------------------------------

def _sub(parent: etree._Element, local: str, text: str | None = None,
         **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, f"{_S}{local}", attrs)
    if text is not None:
        el.text = text
    return el


def _attribute(statement: etree._Element, name: str,
               values: Iterable[str | etree._Element]) -> None:
    attr = _sub(statement, "Attribute", FriendlyName=_FRIENDLY.get(name, name), Name=name,
                NameFormat=URI_FORMAT)
    for value in values:
        av = _sub(attr, "AttributeValue")
        if isinstance(value, str):
            av.text = value
        else:
            av.append(value)


def _coded(local: str, code: str, code_system: str, system_name: str,
           display: str) -> etree._Element:
    el = etree.Element(f"{{{HL7}}}{local}", nsmap={None: HL7})
    el.set("code", code)
    el.set("codeSystem", code_system)
    el.set("codeSystemName", system_name)
    el.set("displayName", display)
    return el


def _purpose(code: str) -> etree._Element:
    return _coded("PurposeOfUse", code, PURPOSE_CODE_SYSTEM, "nhin-purpose", code.capitalize())


def _skeleton(
    kind: AssertionKind,
    *,
    issuer: str,
    subject_id: str,
    now: dt.datetime,
    lifetime: dt.timedelta,
    authn_context: str,
    assertion_id: str | None,
    advice_ref: str | None,
    valid_from: dt.datetime | None = None,
) -> tuple[etree._Element, etree._Element]:
    aid = assertion_id or f"_{uuid.uuid4()}"
    root = etree.Element(f"{_S}Assertion", nsmap={"saml": SAML})
    root.set("ID", aid)
    root.set("IssueInstant", format_instant(now))
    root.set("Version", "2.0")
    _sub(root, "Issuer", issuer, NameQualifier=kind.value)
    subject = _sub(root, "Subject")
    _sub(subject, "NameID", subject_id, Format=NAMEID_UNSPECIFIED)
    _sub(subject, "SubjectConfirmation", Method=SENDER_VOUCHES)
    cond = _sub(root, "Conditions", NotBefore=format_instant(valid_from or now),
                NotOnOrAfter=format_instant(now + lifetime))
    _sub(_sub(cond, "AudienceRestriction"), "Audience", X_BORDER_AUDIENCE)
    if advice_ref is not None:
        _sub(_sub(root, "Advice"), "AssertionIDRef", advice_ref)
    authn = _sub(root, "AuthnStatement", AuthnInstant=format_instant(now))
    _sub(_sub(authn, "AuthnContext"), "AuthnContextClassRef", authn_context)
    return root, _sub(root, "AttributeStatement")


def build_hcp_assertion(
    claims: HcpClaims,
    *,
    issuer: str,
    credentials: SigningCredentials,
    now: dt.datetime,
    lifetime: dt.timedelta = dt.timedelta(hours=4),
    assertion_id: str | None = None,
    valid_from: dt.datetime | None = None,
) -> etree._Element:
    """A signed HCP identity assertion (issuer e.g. ``urn:idp:LU:countryB``).

    ``valid_from`` (NotBefore, default ``now``) may lie a little in the past so that a
    receiver whose clock runs slightly behind ours does not see a not-yet-valid assertion."""
    root, st = _skeleton(AssertionKind.HCP, issuer=issuer, subject_id=claims.subject_id, now=now,
                         lifetime=lifetime, authn_context=claims.authn_context,
                         assertion_id=assertion_id, advice_ref=None, valid_from=valid_from)
    if claims.home_community_id:
        _attribute(st, ATTR.HOME_COMMUNITY_ID, [claims.home_community_id])
    _attribute(st, ATTR.SUBJECT_ID, [claims.name])
    display = claims.role_display or ALLOWED_ISCO_ROLES.get(claims.role_code, claims.role_code)
    _attribute(st, ATTR.ROLE, [_coded("Role", claims.role_code, ISCO_CODE_SYSTEM, "ISCO",
                                      display)])
    if claims.organisation:  # optional in the eHDSI profile (absent from Finnish assertions)
        _attribute(st, ATTR.ORGANIZATION, [claims.organisation])
    if claims.organisation_id:
        _attribute(st, ATTR.ORGANIZATION_ID, [claims.organisation_id])
    _attribute(st, ATTR.FACILITY_TYPE, [claims.facility_type])
    _attribute(st, ATTR.PURPOSE_OF_USE, [_purpose(claims.purpose_of_use)])
    if claims.locality:
        _attribute(st, ATTR.LOCALITY, [claims.locality])
    _attribute(st, ATTR.PERMISSION, [PERMISSION_PREFIX + p for p in sorted(claims.permissions)])
    sign_enveloped(root, credentials)
    return root


def build_trc_assertion(
    claims: TrcClaims,
    *,
    issuer: str,
    credentials: SigningCredentials,
    now: dt.datetime,
    lifetime: dt.timedelta = dt.timedelta(hours=2),
    assertion_id: str | None = None,
    valid_from: dt.datetime | None = None,
) -> etree._Element:
    """A signed TRC assertion bound to the HCP assertion (issuer ``urn:initgw:<CC>:countryB``)."""
    root, st = _skeleton(AssertionKind.TRC, issuer=issuer, subject_id=claims.subject_id, now=now,
                         lifetime=lifetime, authn_context=PREVIOUS_SESSION,
                         assertion_id=assertion_id, advice_ref=claims.hcp_assertion_id,
                         valid_from=valid_from)
    _attribute(st, ATTR.SUBJECT_ID, [claims.patient_id])
    if claims.purpose_of_use:
        _attribute(st, ATTR.PURPOSE_OF_USE, [_purpose(claims.purpose_of_use)])
    if claims.prescription_id:
        _attribute(st, ATTR.PRESCRIPTION_ID, [claims.prescription_id])
    if claims.dispensation_pin_code:
        _attribute(st, ATTR.DISPENSATION_PIN, [claims.dispensation_pin_code])
    sign_enveloped(root, credentials)
    return root


_NOK_FIELDS = {
    "nok_id": ATTR.NOK_ID, "first_name": ATTR.NOK_FIRST_NAME,
    "family_name": ATTR.NOK_FAMILY_NAME, "gender": ATTR.NOK_GENDER,
    "birth_date": ATTR.NOK_BIRTH_DATE, "street": ATTR.NOK_STREET, "city": ATTR.NOK_CITY,
    "postal_code": ATTR.NOK_POSTAL_CODE, "country": ATTR.NOK_COUNTRY,
}


def build_nok_assertion(
    claims: NokClaims,
    *,
    issuer: str,
    credentials: SigningCredentials,
    now: dt.datetime,
    lifetime: dt.timedelta = dt.timedelta(hours=2),
    assertion_id: str | None = None,
) -> etree._Element:
    """A signed next-of-kin assertion bound to the HCP assertion."""
    root, st = _skeleton(AssertionKind.NOK, issuer=issuer, subject_id=claims.subject_id, now=now,
                         lifetime=lifetime, authn_context=PREVIOUS_SESSION,
                         assertion_id=assertion_id, advice_ref=claims.hcp_assertion_id)
    for attr_name, saml_name in _NOK_FIELDS.items():
        value = getattr(claims, attr_name)
        if value:
            _attribute(st, saml_name, [value])
    sign_enveloped(root, credentials)
    return root


# --- parsing ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CodedValue:
    """An attribute value: plain text, or an HL7 coded element (Role, PurposeOfUse)."""

    text: str
    code: str | None = None
    code_system: str | None = None
    display: str | None = None

    @property
    def value(self) -> str:
        return self.code if self.code is not None else self.text


@dataclass(frozen=True, kw_only=True, slots=True)
class ParsedAssertion:
    """The content of one assertion, read but not yet judged."""

    element: etree._Element
    id: str
    version: str
    issue_instant: dt.datetime
    issuer: str
    kind: str
    name_id: str
    confirmation_methods: tuple[str, ...]
    not_before: dt.datetime | None
    not_on_or_after: dt.datetime | None
    audiences: tuple[tuple[str, ...], ...]
    advice_refs: tuple[str, ...]
    authn_contexts: tuple[str, ...]
    attributes: Mapping[str, tuple[CodedValue, ...]] = field(default_factory=dict)

    def values(self, name: str) -> tuple[CodedValue, ...]:
        return self.attributes.get(name, ())

    def single(self, name: str) -> CodedValue | None:
        """The one value of attribute ``name``; several values are an error."""
        vals = self.values(name)
        if len(vals) > 1:
            raise AssertionInvalid("malformed-assertion", f"attribute {name} has several values")
        return vals[0] if vals else None


def _text(el: etree._Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


def _value(av: etree._Element) -> CodedValue:
    if not len(av):  # no child node at all: the common plain-text value
        return CodedValue(text=(av.text or "").strip())
    children = [c for c in av if isinstance(c.tag, str)]
    if len(children) > 1:
        raise AssertionInvalid("malformed-assertion", "an AttributeValue holds several elements")
    if children:
        c = children[0]
        return CodedValue(text=(c.get("code") or "").strip(), code=(c.get("code") or "").strip(),
                          code_system=c.get("codeSystem"), display=c.get("displayName"))
    return CodedValue(text=(av.text or "").strip())


def _children(parent: etree._Element) -> dict[str, list[etree._Element]]:
    """The element children of ``parent`` by tag, in one pass (instead of one search per tag)."""
    out: dict[str, list[etree._Element]] = {}
    for child in parent:
        tag = child.tag
        if isinstance(tag, str):
            out.setdefault(tag, []).append(child)
    return out


def _one(found: dict[str, list[etree._Element]], local: str, *,
         required: bool = True) -> etree._Element | None:
    """The one ``saml:local`` among ``found`` (see :func:`_children`)."""
    els = found.get(f"{_S}{local}", ())
    if len(els) > 1 or (required and not els):
        raise AssertionInvalid("malformed-assertion", f"expected exactly one saml:{local}")
    return els[0] if els else None


def parse_assertion(el: etree._Element) -> ParsedAssertion:
    """Read ``el`` (a ``saml:Assertion``) into a :class:`ParsedAssertion`.

    Each level of the assertion is walked once and its children grouped by tag; the checks
    (one Issuer, one Subject, at most one Conditions, Advice and NameID) are the same as with
    one search per tag.
    """
    if el.tag != f"{_S}Assertion":
        raise AssertionInvalid("malformed-assertion", "not a saml:Assertion")
    top = _children(el)
    issuer = _one(top, "Issuer")
    subject = _one(top, "Subject")
    assert issuer is not None and subject is not None
    conditions = _one(top, "Conditions", required=False)
    advice = _one(top, "Advice", required=False)
    attributes: dict[str, list[CodedValue]] = {}
    for statement in top.get(f"{_S}AttributeStatement", ()):
        for attr in statement.iterchildren(f"{_S}Attribute"):
            name = attr.get("Name") or ""
            values = attributes.setdefault(name, [])
            for av in attr.iterchildren(f"{_S}AttributeValue"):
                values.append(_value(av))
    in_subject = _children(subject)
    authn_contexts = []
    for statement in top.get(f"{_S}AuthnStatement", ()):
        for context in statement.iterchildren(f"{_S}AuthnContext"):
            authn_contexts.extend(_text(r) for r in
                                  context.iterchildren(f"{_S}AuthnContextClassRef"))
    not_before = not_on_or_after = None
    audiences: tuple[tuple[str, ...], ...] = ()
    if conditions is not None:
        if conditions.get("NotBefore"):
            not_before = parse_instant(conditions.get("NotBefore"), "NotBefore")
        if conditions.get("NotOnOrAfter"):
            not_on_or_after = parse_instant(conditions.get("NotOnOrAfter"), "NotOnOrAfter")
        audiences = tuple(tuple(_text(a) for a in ar.iterchildren(f"{_S}Audience"))
                          for ar in conditions.iterchildren(f"{_S}AudienceRestriction"))
    return ParsedAssertion(
        element=el,
        id=el.get("ID") or "",
        version=el.get("Version") or "",
        issue_instant=parse_instant(el.get("IssueInstant"), "IssueInstant"),
        issuer=_text(issuer),
        kind=(issuer.get("NameQualifier") or "").strip(),
        name_id=_text(_one(in_subject, "NameID", required=False)),
        confirmation_methods=tuple(sc.get("Method") or "" for sc in
                                   in_subject.get(f"{_S}SubjectConfirmation", ())),
        not_before=not_before,
        not_on_or_after=not_on_or_after,
        audiences=audiences,
        advice_refs=tuple(_text(r) for r in advice.iterchildren(f"{_S}AssertionIDRef"))
        if advice is not None else (),
        authn_contexts=tuple(authn_contexts),
        attributes={k: tuple(v) for k, v in attributes.items()},
    )


class AssertionReader:
    """Parses each assertion element of one message at most once (:func:`parse_assertion`).

    Why: a request's assertions are read before validation (a face learns which patient and
    permissions to validate against) and again by the validator. The result depends only on the
    element's subtree, and a received tree is never modified, so the second read returns the
    first one. Keyed by element identity (the element is kept alive with its result); a failed
    parse is not remembered and fails again.
    """

    __slots__ = ("_done",)

    def __init__(self) -> None:
        self._done: dict[int, tuple[etree._Element, ParsedAssertion]] = {}

    def __call__(self, el: etree._Element) -> ParsedAssertion:
        hit = self._done.get(id(el))
        if hit is not None and hit[0] is el:
            return hit[1]
        parsed = parse_assertion(el)
        self._done[id(el)] = (el, parsed)
        return parsed
