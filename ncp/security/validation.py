"""Validation of the SAML assertions of one request into a verified identity.

:func:`validate_assertions` is a function of (assertions, transaction, patient, TLS peer country,
now) plus configuration (trust store, replay cache, policy). For each assertion, in order:

1. kind from ``Issuer/@NameQualifier`` (one HCP, at most one TRC and one NoK; TRC required for
   every transaction but patient discovery);
2. enveloped signature: structure, same-document reference to the assertion itself, exactly one
   signature (ncp.security.xmldsig), then the signer certificate chains to the anchor of the TLS
   peer's country, for signing, unrevoked (ncp.security.truststore), then the cryptography;
3. version 2.0, issuer country (when the issuer names one), IssueInstant, NotBefore and
   NotOnOrAfter with the clock skew, maximum lifetime, audience, subject confirmation;
4. HCP: two-factor authentication context (4702), ISCO role and permissions for the transaction
   (4703), purpose of use, facility type;  TRC: PreviousSession, bound to the HCP assertion,
   its patient equal to the request's (4206);  NoK: bound to the HCP assertion;
5. replay, last, for all ids and the wsa:MessageID at once, so that a refused request leaves
   no trace; the very same assertion from the same peer may be reused while valid
   (:mod:`ncp.security.replay`).

Only the element a signature covers is ever parsed (the signature-wrapping defence). Through
:meth:`ncp.security.MessageSecurity.identify` the message's ID index (made once, by the message
signature check) and its :class:`~ncp.security.saml.AssertionReader` are reused: the same
unmodified tree, so the same checks on the same data, done once per request instead of twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from cryptography import x509
from lxml import etree

from ncp.errors import ErrorCode
from ncp.ihe.errors import PatientIdError
from ncp.ihe.identifiers import PatientId
from ncp.security.errors import (
    AssertionInvalid,
    CertificateError,
    ReplayDetected,
    SecurityError,
    XmlSignatureError,
)
from ncp.security.permissions import (
    ALLOWED_ISCO_ROLES,
    REQUIRED_PERMISSIONS,
    Transaction,
    normalise_permission,
    requires_trc,
)
from ncp.security.replay import ReplayCache, ReplayEntry, short_key
from ncp.security.saml import (
    ATTR,
    BEARER,
    PREVIOUS_SESSION,
    SENDER_VOUCHES,
    X_BORDER_AUDIENCE,
    AssertionKind,
    ParsedAssertion,
    parse_assertion,
)
from ncp.security.truststore import Purpose, TrustStore
from ncp.security.xmldsig import index_ids, verify_enveloped

__all__ = [
    "TWO_FACTOR_CONTEXTS",
    "AssertionPolicy",
    "AssertionValidator",
    "HcpIdentity",
    "NextOfKin",
    "PatientId",
    "TreatmentRelationship",
    "VerifiedIdentity",
    "validate_assertions",
]

_AC = "urn:oasis:names:tc:SAML:2.0:ac:classes:"
#: Authentication context classes eHDSI accepts as two-factor for health professionals.
TWO_FACTOR_CONTEXTS = frozenset(_AC + c for c in (
    "X509", "SmartcardPKI", "SoftwarePKI", "MobileTwoFactorContract",
    "MobileTwoFactorUnregistered", "TLSClient", "SPKI", "Smartcard",
))
PURPOSES_OF_USE = frozenset({"TREATMENT", "EMERGENCY"})
FACILITY_TYPES = frozenset({"Hospital", "Resident Physician", "Pharmacy", "Other"})
_NEEDS_ORGANISATION_ID = frozenset({Transaction.XDR_SUBMIT_ED, Transaction.XDR_DISCARD_ED})
_ISSUER_COUNTRY = re.compile(r"urn:(?:idp|initgw):([A-Za-z]{2}):")


@dataclass(frozen=True, kw_only=True, slots=True)
class AssertionPolicy:
    """Limits of assertion validation; the defaults are the eHDSI ones.

    ``replay_scope``: ``"assertion"`` refuses a second use of an assertion id within its
    lifetime unless it is the very same assertion from the same peer (a portal session reusing
    its HCP and TRC); ``"assertion+message"`` only refuses a second use within the same
    WS-Addressing MessageID. The MessageID itself is never reusable, in either scope.
    """

    max_clock_skew: dt.timedelta = dt.timedelta(seconds=60)
    hcp_max_lifetime: dt.timedelta = dt.timedelta(hours=4)
    trc_max_lifetime: dt.timedelta = dt.timedelta(hours=2)
    nok_max_lifetime: dt.timedelta = dt.timedelta(hours=2)
    audiences: frozenset[str] = frozenset({X_BORDER_AUDIENCE})
    require_trc_audience: bool = True
    replay_scope: Literal["assertion", "assertion+message"] = "assertion"


@dataclass(frozen=True, kw_only=True, slots=True)
class HcpIdentity:
    """The health professional, as verified from the HCP assertion."""

    assertion_id: str
    subject_id: str
    name: str
    role_code: str
    role_display: str
    organisation: str
    organisation_id: str
    facility_type: str
    purpose_of_use: str
    locality: str
    permissions: frozenset[str]
    authn_context: str
    country: str
    issuer: str
    not_on_or_after: dt.datetime
    signer: x509.Certificate = field(repr=False)

    @property
    def point_of_care(self) -> str:
        """Where the professional works, from what the assertion carries: the organisation is
        optional in the eHDSI SAML profile (Finnish assertions carry none), so the audit record
        and the patient's access log fall back to the organisation id, then the locality."""
        return self.organisation or self.organisation_id or self.locality or self.facility_type


@dataclass(frozen=True, kw_only=True, slots=True)
class TreatmentRelationship:
    """The verified TRC: who the patient is, and what it is bound to."""

    assertion_id: str
    patient_id: PatientId
    hcp_assertion_id: str
    purpose_of_use: str | None
    prescription_id: str | None
    dispensation_pin_code: str | None
    issuer: str
    not_on_or_after: dt.datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class NextOfKin:
    assertion_id: str
    hcp_assertion_id: str
    attributes: dict[str, str]
    not_on_or_after: dt.datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class VerifiedIdentity:
    """What the request may rely on after validation."""

    transaction: Transaction
    country: str
    hcp: HcpIdentity
    trc: TreatmentRelationship | None
    nok: NextOfKin | None


_CODES = {
    AssertionKind.HCP: ErrorCode.HCP_ASSERTION_INVALID,
    AssertionKind.TRC: ErrorCode.TRC_ASSERTION_INVALID,
    AssertionKind.NOK: ErrorCode.TRC_ASSERTION_INVALID,
}


def _content_digest(peer_country: str, el: etree._Element) -> str:
    """What makes a reused assertion id lawful: the same peer, the same signed assertion
    (exclusive canonical form, so the envelope around it may differ)."""
    data = etree.tostring(el, method="c14n", exclusive=True)
    return hashlib.sha256(peer_country.encode() + b"\n" + data).hexdigest()


def _refuse(kind: AssertionKind, reason: str, detail: str = "",
            code: ErrorCode | None = None) -> AssertionInvalid:
    return AssertionInvalid(reason, f"{kind.name} assertion: {detail}" if detail else kind.name,
                            error=code or _CODES[kind], location=kind.value)


class AssertionValidator:
    """Validates the assertions of requests against one trust store, replay cache and policy."""

    def __init__(self, trust: TrustStore, replay: ReplayCache,
                 policy: AssertionPolicy | None = None) -> None:
        self.trust = trust
        self.replay = replay
        self.policy = policy or AssertionPolicy()

    # -- entry point ---------------------------------------------------------------------------

    def validate(
        self,
        assertions: Sequence[etree._Element],
        *,
        transaction: Transaction,
        patient_id: PatientId | str | None,
        peer_country: str,
        now: dt.datetime,
        message_id: str | None = None,
        indexed: tuple[etree._Element, Mapping[str, etree._Element]] | None = None,
        read: Callable[[etree._Element], ParsedAssertion] = parse_assertion,
        signer_pin: Callable[[str, x509.Certificate], None] | None = None,
    ) -> VerifiedIdentity:
        """Validate ``assertions`` (see the module docstring).

        ``indexed``: (root, its ID index) when the caller already indexed the document the
        assertions are in (the message verification did: same tree, unmodified); any other
        document is indexed here. ``read``: how a verified assertion is parsed (a per-message
        :class:`~ncp.security.saml.AssertionReader` parses each one once per request).
        ``signer_pin(country, signer)``: a further check of each assertion's signer once the trust
        list accepted it (the peers directory's registered gateway).
        """
        peer_country = peer_country.upper()
        by_kind = self._classify(assertions)
        hcp_el = by_kind.get(AssertionKind.HCP)
        if hcp_el is None:
            raise _refuse(AssertionKind.HCP, "assertion-missing", "no HCP identity assertion")
        trc_el = by_kind.get(AssertionKind.TRC)
        if trc_el is None and requires_trc(transaction):
            raise _refuse(AssertionKind.TRC, "assertion-missing", f"{transaction} needs a TRC")
        # The ID index covers each whole document (normally the one envelope): a duplicate ID
        # anywhere in it refuses the request.
        indexes: dict[int, Mapping[str, etree._Element]] = {}
        roots: list[etree._Element] = []  # keeps the roots alive while their id() is a key
        if indexed is not None:
            indexes[id(indexed[0])] = indexed[1]
            roots.append(indexed[0])

        def ids_of(kind: AssertionKind, el: etree._Element) -> Mapping[str, etree._Element]:
            root = el.getroottree().getroot()
            if id(root) not in indexes:
                try:
                    indexes[id(root)] = index_ids(root)
                except XmlSignatureError as exc:
                    raise _refuse(kind, exc.reason, exc.detail) from None
                roots.append(root)
            return indexes[id(root)]

        hcp = self._hcp(hcp_el, ids_of(AssertionKind.HCP, hcp_el), transaction, peer_country, now,
                        read, signer_pin)
        trc = None
        if trc_el is not None:
            trc = self._trc(trc_el, ids_of(AssertionKind.TRC, trc_el), hcp, patient_id,
                            peer_country, now, read, signer_pin)
        nok = None
        nok_el = by_kind.get(AssertionKind.NOK)
        if nok_el is not None:
            nok = self._nok(nok_el, ids_of(AssertionKind.NOK, nok_el), hcp, peer_country, now,
                            read, signer_pin)

        used = [(hcp.assertion_id, hcp.not_on_or_after, AssertionKind.HCP, hcp_el)]
        if trc is not None:
            assert trc_el is not None
            used.append((trc.assertion_id, trc.not_on_or_after, AssertionKind.TRC, trc_el))
        if nok is not None:
            assert nok_el is not None
            used.append((nok.assertion_id, nok.not_on_or_after, AssertionKind.NOK, nok_el))
        self._register(used, peer_country, message_id, now)
        return VerifiedIdentity(transaction=transaction, country=peer_country, hcp=hcp, trc=trc,
                                nok=nok)

    # -- steps ---------------------------------------------------------------------------------

    def _register(self, used: Sequence[tuple[str, dt.datetime, AssertionKind, etree._Element]],
                  peer_country: str, message_id: str | None, now: dt.datetime) -> None:
        """The replay check, last. An assertion id may come again with the very same assertion
        from the same peer while it is valid (a portal session: discovery, query, retrieve);
        another assertion under a seen id is a replay. The wsa:MessageID of the request is
        registered too (per peer, until the last of its assertions expires: after that the
        message could not be accepted anyway), and is never reusable."""
        suffix = f"|{message_id}" if self.policy.replay_scope == "assertion+message" else ""
        entries: list[ReplayEntry] = []
        kinds: dict[str, AssertionKind | None] = {}
        for aid, until, kind, el in used:
            key = short_key(aid + suffix)
            entries.append((key, until, _content_digest(peer_country, el)))
            kinds[key] = kind
        if message_id:
            key = short_key(f"wsa:{peer_country}:{message_id}")
            entries.append((key, max(until for _a, until, _k, _e in used)))
            kinds[key] = None
        seen = self.replay.register_all(entries, now=now)
        if seen is None:
            return
        kind = kinds.get(seen)
        if kind is None:
            raise ReplayDetected("message-replay", f"wsa:MessageID {message_id} was already "
                                 "used", error=ErrorCode.HCP_ASSERTION_INVALID,
                                 location="wsa:MessageID")
        raise ReplayDetected("replay", f"another {kind.name} assertion was seen with the id "
                             f"{seen}", error=_CODES[kind], location=kind.value)

    @staticmethod
    def _classify(assertions: Sequence[etree._Element]) -> dict[AssertionKind, etree._Element]:
        by_kind: dict[AssertionKind, etree._Element] = {}
        for el in assertions:
            issuer = el.find("{urn:oasis:names:tc:SAML:2.0:assertion}Issuer")
            qualifier = (issuer.get("NameQualifier") or "").strip() if issuer is not None else ""
            try:
                kind = AssertionKind(qualifier)
            except ValueError:
                raise _refuse(AssertionKind.HCP, "unknown-assertion-kind",
                              f"issuer NameQualifier {qualifier!r}") from None
            if kind in by_kind:
                raise _refuse(kind, "duplicate-assertion", "more than one assertion of this kind")
            by_kind[kind] = el
        return by_kind

    def _verified(self, kind: AssertionKind, el: etree._Element,
                  ids: Mapping[str, etree._Element], peer_country: str, now: dt.datetime,
                  read: Callable[[etree._Element], ParsedAssertion] = parse_assertion,
                  signer_pin: Callable[[str, x509.Certificate], None] | None = None,
                  ) -> tuple[ParsedAssertion, x509.Certificate]:
        def check_signer(cert: x509.Certificate) -> None:
            self.trust.validate(cert, country=peer_country, purpose=Purpose.SIGNING, now=now)
            if signer_pin is not None:  # the gateway the peers directory registers
                signer_pin(peer_country, cert)

        try:
            verified = verify_enveloped(el, ids=ids, check_signer=check_signer)
        except XmlSignatureError as exc:
            # 4704 means an unsigned *document* (OpenNCPErrorCode ERROR_NO_SIGNATURE); an
            # unsigned or badly signed assertion is an invalid assertion: 1001 / 1002.
            raise _refuse(kind, exc.reason, exc.detail) from None
        except CertificateError as exc:
            raise _refuse(kind, exc.reason, exc.detail) from None
        try:
            parsed = read(verified.element)
        except SecurityError as exc:
            raise _refuse(kind, exc.reason, exc.detail) from None
        self._common(kind, parsed, peer_country, now)
        return parsed, verified.certificate

    def _common(self, kind: AssertionKind, a: ParsedAssertion, peer_country: str,
                now: dt.datetime) -> None:
        p = self.policy
        if a.version != "2.0":
            raise _refuse(kind, "version", f"Version {a.version!r} is not 2.0")
        m = _ISSUER_COUNTRY.match(a.issuer)
        if m and m.group(1).upper() != peer_country:
            raise _refuse(kind, "issuer-country", f"issuer {a.issuer} is not from {peer_country}")
        if a.issue_instant > now + p.max_clock_skew:
            raise _refuse(kind, "not-yet-valid", "IssueInstant is in the future")
        if a.not_before is None or a.not_on_or_after is None:
            raise _refuse(kind, "conditions-missing", "NotBefore and NotOnOrAfter are required")
        if now + p.max_clock_skew < a.not_before:
            raise _refuse(kind, "not-yet-valid", f"not valid before {a.not_before.isoformat()}")
        if now - p.max_clock_skew >= a.not_on_or_after:
            raise _refuse(kind, "expired", f"expired at {a.not_on_or_after.isoformat()}")
        limit = {AssertionKind.HCP: p.hcp_max_lifetime, AssertionKind.TRC: p.trc_max_lifetime,
                 AssertionKind.NOK: p.nok_max_lifetime}[kind]
        if a.not_on_or_after - a.not_before > limit:
            raise _refuse(kind, "lifetime", f"lifetime exceeds {limit}")
        if a.audiences:
            # SAML core 2.5.1.4: each AudienceRestriction must name us.
            if not all(set(r) & p.audiences for r in a.audiences):
                raise _refuse(kind, "audience", "we are not an intended audience")
        elif kind is not AssertionKind.HCP and p.require_trc_audience:
            raise _refuse(kind, "audience", "an audience restriction is required")
        allowed = {SENDER_VOUCHES} if kind is not AssertionKind.HCP else {SENDER_VOUCHES, BEARER}
        if not a.confirmation_methods or not set(a.confirmation_methods) <= allowed:
            raise _refuse(kind, "subject-confirmation", f"{a.confirmation_methods}")
        if not a.name_id:
            raise _refuse(kind, "malformed-assertion", "Subject/NameID is required")

    def _hcp(self, el: etree._Element, ids: Mapping[str, etree._Element],
             transaction: Transaction, peer_country: str, now: dt.datetime,
             read: Callable[[etree._Element], ParsedAssertion] = parse_assertion,
             signer_pin: Callable[[str, x509.Certificate], None] | None = None,
             ) -> HcpIdentity:
        kind = AssertionKind.HCP
        a, signer = self._verified(kind, el, ids, peer_country, now, read, signer_pin)
        if len(a.authn_contexts) != 1 or a.authn_contexts[0] not in TWO_FACTOR_CONTEXTS:
            raise _refuse(kind, "weak-authentication", f"authentication {a.authn_contexts}",
                          ErrorCode.WEAK_AUTHENTICATION)
        try:
            role = a.single(ATTR.ROLE)
            name = a.single(ATTR.SUBJECT_ID)
            purpose = a.single(ATTR.PURPOSE_OF_USE)
            facility = a.single(ATTR.FACILITY_TYPE)
            organisation = a.single(ATTR.ORGANIZATION)
            organisation_id = a.single(ATTR.ORGANIZATION_ID)
            locality = a.single(ATTR.LOCALITY)
        except SecurityError as exc:
            raise _refuse(kind, exc.reason, exc.detail) from None
        if role is None or role.value not in ALLOWED_ISCO_ROLES:
            raise _refuse(kind, "role", f"role {role.value if role else None} is not an eHDSI "
                          "healthcare professional role", ErrorCode.INSUFFICIENT_RIGHTS)
        if purpose is None or purpose.value not in PURPOSES_OF_USE:
            raise _refuse(kind, "purpose-of-use", f"{purpose.value if purpose else None}")
        if facility is None or facility.value not in FACILITY_TYPES:
            raise _refuse(kind, "facility-type", f"{facility.value if facility else None}")
        if name is None or not name.value:
            raise _refuse(kind, "malformed-assertion", "the XSPA subject-id is required")
        # eHDSI SAML profile (and the reference gateway): subject, role, facility type,
        # purpose of use required; organisation optional; the organisation id only where the
        # profile needs it, for the eDispensation (it names the dispensing organisation).
        if transaction in _NEEDS_ORGANISATION_ID and (organisation_id is None
                                                      or not organisation_id.value):
            raise _refuse(kind, "malformed-assertion",
                          f"{transaction} needs the XSPA organization-id")
        permissions = frozenset(normalise_permission(v.value) for v in a.values(ATTR.PERMISSION))
        missing = REQUIRED_PERMISSIONS[transaction] - permissions
        if missing:
            raise _refuse(kind, "permission", f"{transaction} needs {sorted(missing)}",
                          ErrorCode.INSUFFICIENT_RIGHTS)
        assert a.not_on_or_after is not None
        return HcpIdentity(
            assertion_id=a.id, subject_id=a.name_id, name=name.value, role_code=role.value,
            role_display=ALLOWED_ISCO_ROLES[role.value],
            organisation=organisation.value if organisation else "",
            organisation_id=organisation_id.value if organisation_id else "",
            facility_type=facility.value, purpose_of_use=purpose.value,
            locality=locality.value if locality else "", permissions=permissions,
            authn_context=a.authn_contexts[0], country=peer_country, issuer=a.issuer,
            not_on_or_after=a.not_on_or_after, signer=signer)

    def _bound(self, kind: AssertionKind, a: ParsedAssertion, hcp: HcpIdentity) -> None:
        if a.authn_contexts != (PREVIOUS_SESSION,):
            raise _refuse(kind, "authn-context", "a TRC/NoK uses PreviousSession")
        if a.advice_refs != (hcp.assertion_id,):
            raise _refuse(kind, "not-bound", "Advice/AssertionIDRef must name the HCP assertion")

    def _trc(self, el: etree._Element, ids: Mapping[str, etree._Element], hcp: HcpIdentity,
             patient_id: PatientId | str | None, peer_country: str, now: dt.datetime,
             read: Callable[[etree._Element], ParsedAssertion] = parse_assertion,
             signer_pin: Callable[[str, x509.Certificate], None] | None = None,
             ) -> TreatmentRelationship:
        kind = AssertionKind.TRC
        a, _signer = self._verified(kind, el, ids, peer_country, now, read, signer_pin)
        self._bound(kind, a, hcp)
        if a.name_id != hcp.subject_id:
            # the TRC is the professional's statement: issued for another one, it binds nothing
            raise _refuse(kind, "not-bound", "the TRC names another professional than the HCP")
        try:
            subject = a.single(ATTR.SUBJECT_ID)
            purpose = a.single(ATTR.PURPOSE_OF_USE)
            prescription = a.single(ATTR.PRESCRIPTION_ID)
            pin = a.single(ATTR.DISPENSATION_PIN)
        except SecurityError as exc:
            raise _refuse(kind, exc.reason, exc.detail) from None
        if subject is None:
            raise _refuse(kind, "malformed-assertion", "the TRC names no patient")
        try:
            trc_patient = PatientId.from_cx(subject.value)
        except PatientIdError as exc:
            raise _refuse(kind, "malformed-assertion", exc.detail) from None
        if purpose is not None and purpose.value not in PURPOSES_OF_USE:
            raise _refuse(kind, "purpose-of-use", purpose.value)
        if patient_id is None:
            raise _refuse(kind, "patient-mismatch", "the request names no patient",
                          ErrorCode.PATIENT_NOT_MATCHING_TRC)
        try:
            wanted = (PatientId.from_cx(patient_id) if isinstance(patient_id, str)
                      else patient_id)
        except PatientIdError as exc:
            raise _refuse(kind, "patient-mismatch", exc.detail,
                          ErrorCode.PATIENT_NOT_MATCHING_TRC) from None
        if wanted != trc_patient:
            raise _refuse(kind, "patient-mismatch", "the TRC is for another patient",
                          ErrorCode.PATIENT_NOT_MATCHING_TRC)
        assert a.not_on_or_after is not None
        return TreatmentRelationship(
            assertion_id=a.id, patient_id=trc_patient, hcp_assertion_id=hcp.assertion_id,
            purpose_of_use=purpose.value if purpose else None,
            prescription_id=prescription.value if prescription else None,
            dispensation_pin_code=pin.value if pin else None, issuer=a.issuer,
            not_on_or_after=a.not_on_or_after)

    def _nok(self, el: etree._Element, ids: Mapping[str, etree._Element], hcp: HcpIdentity,
             peer_country: str, now: dt.datetime,
             read: Callable[[etree._Element], ParsedAssertion] = parse_assertion,
             signer_pin: Callable[[str, x509.Certificate], None] | None = None) -> NextOfKin:
        kind = AssertionKind.NOK
        a, _signer = self._verified(kind, el, ids, peer_country, now, read, signer_pin)
        self._bound(kind, a, hcp)
        attrs = {name: ", ".join(v.value for v in vals) for name, vals in a.attributes.items()
                 if name.startswith("urn:ehdsi:names:subject:nextofkin:")}
        assert a.not_on_or_after is not None
        return NextOfKin(assertion_id=a.id, hcp_assertion_id=hcp.assertion_id, attributes=attrs,
                         not_on_or_after=a.not_on_or_after)


def validate_assertions(
    assertions: Sequence[etree._Element],
    *,
    transaction: Transaction,
    patient_id: PatientId | str | None,
    peer_country: str,
    now: dt.datetime,
    trust: TrustStore,
    replay: ReplayCache,
    policy: AssertionPolicy | None = None,
    message_id: str | None = None,
) -> VerifiedIdentity:
    """Validate the assertions of one request (see the module docstring for the checks)."""
    return AssertionValidator(trust, replay, policy).validate(
        assertions, transaction=transaction, patient_id=patient_id, peer_country=peer_country,
        now=now, message_id=message_id)
