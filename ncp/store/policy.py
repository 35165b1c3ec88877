"""The one access policy of the DSP: a pure decision over facts, used by every read and write.

The rules, in the order they are applied (the first that answers wins):

1. The patient (or the helper acting for them) always sees their own record, all of it, and the
   whole access log; they write only their personal notes.
2. A closed DSP admits no professional at all, emergencies and foreign gateways included.
3. A patient's block beats everything else, emergency access included.
4. A professional needs a current therapeutic relationship or the patient's grant; without one,
   only a declared emergency ("break the glass") opens the record, and that access is flagged.
5. Per document: a masked document is seen only by the patient and its author; a restricted (R)
   one only by its author and the professionals the patient named; a very restricted (V) one only
   by the patient and its author; otherwise the rights matrix (profession x document type, kept as
   reviewed data in ``data/rights.csv``) decides.
6. A foreign professional (through a foreign NCPeH) reads only what cross-border sharing carries
   (patient summary, prescriptions, original clinical documents), never masked, restricted or
   very restricted documents, and only with the patient's consent for that service.

This module holds no SQL and no I/O beyond reading the rights matrix once: the store gathers the
facts (:class:`Facts`) and logs the decision.
"""

from __future__ import annotations

import csv
import enum
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ncp.store.vocabulary import (
    AccessContext,
    ActorKind,
    Confidentiality,
    CrossBorderService,
    DocumentType,
    Profession,
)

#: What a patient may delegate to a helper, weakest first. ``read``: see the record and its
#: log; ``manage``: also rules, masks, confidentiality, personal notes; ``legal``: a legal
#: representative, who also gives or withdraws consent and closes or reopens the DSP.
DELEGATIONS = ("read", "manage", "legal")


class Power(enum.IntEnum):
    """What a patient-side act needs, weakest first (compared with a helper's delegation)."""

    READ = 0  # see the record's settings and access log
    MANAGE = 1  # rules, masks, confidentiality, personal notes
    CONSENT = 2  # consent, closing or reopening the DSP, naming helpers: patient or legal rep.


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts. ``patient_id`` is the patient acting, or the one a helper acts for."""

    kind: ActorKind
    patient_id: int | None = None
    professional_id: int | None = None
    profession: Profession | None = None
    name: str | None = None
    organisation: str | None = None
    country: str | None = None
    #: A helper's delegation: ``read``, ``manage`` or ``legal`` (a legal representative).
    delegation: str | None = None

    @classmethod
    def patient(cls, patient_id: int, name: str | None = None) -> Actor:
        return cls(ActorKind.PATIENT, patient_id=patient_id, name=name)

    @classmethod
    def helper(cls, patient_id: int, name: str, delegation: str = "read") -> Actor:
        if delegation not in DELEGATIONS:
            raise ValueError(f"unknown delegation {delegation!r}")
        return cls(ActorKind.HELPER, patient_id=patient_id, name=name, delegation=delegation)

    @classmethod
    def professional(
        cls, professional_id: int, profession: Profession | str, name: str | None = None,
        organisation: str | None = None,
    ) -> Actor:
        return cls(ActorKind.PROFESSIONAL, professional_id=professional_id,
                   profession=Profession(profession), name=name, organisation=organisation)

    @classmethod
    def foreign(
        cls, *, name: str, organisation: str, country: str, profession: Profession | str,
    ) -> Actor:
        return cls(ActorKind.FOREIGN, name=name, organisation=organisation, country=country,
                   profession=Profession(profession))


@dataclass(frozen=True, slots=True)
class Facts:
    """What the store knows about (actor, patient) at the time of the access."""

    patient_id: int
    dsp_open: bool
    relationship: bool = False
    granted: bool = False
    blocked: bool = False
    named_for_restricted: bool = False
    emergency: bool = False
    referring_doctor: bool = False
    consents: frozenset[CrossBorderService] = frozenset()


@dataclass(frozen=True, slots=True)
class DocumentFacts:
    doc_type: DocumentType
    confidentiality: Confidentiality
    masked: bool
    author_professional_id: int | None
    author_patient: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str
    context: AccessContext

    def __bool__(self) -> bool:
        return self.allowed


CROSS_BORDER_TYPES: dict[DocumentType, CrossBorderService] = {
    DocumentType.PATIENT_SUMMARY: CrossBorderService.PATIENT_SUMMARY,
    DocumentType.LABORATORY_REPORT: CrossBorderService.PATIENT_SUMMARY,
    DocumentType.IMAGING_REPORT: CrossBorderService.PATIENT_SUMMARY,
    DocumentType.DISCHARGE_LETTER: CrossBorderService.PATIENT_SUMMARY,
    DocumentType.PRESCRIPTION: CrossBorderService.EPRESCRIPTION,
}


@lru_cache(maxsize=1)
def rights_matrix() -> dict[tuple[Profession, DocumentType], tuple[bool, bool]]:
    """(profession, document type) -> (may read, may write), from the reviewed data file."""
    text = resources.files("ncp.store").joinpath("data/rights.csv").read_text("utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    matrix: dict[tuple[Profession, DocumentType], tuple[bool, bool]] = {}
    for row in csv.DictReader(lines):
        key = (Profession(row["profession"]), DocumentType(row["document_type"]))
        if key in matrix:
            raise ValueError(f"rights matrix lists {key} twice")
        flags = (row["read"], row["write"])
        if any(f not in {"yes", "no"} for f in flags):
            raise ValueError(f"rights matrix row {key}: read/write must be yes or no")
        matrix[key] = (flags[0] == "yes", flags[1] == "yes")
    return matrix


def _own(actor: Actor, facts: Facts) -> bool:
    own_kinds = (ActorKind.PATIENT, ActorKind.HELPER)
    return actor.kind in own_kinds and actor.patient_id == facts.patient_id


def record_access(actor: Actor, facts: Facts) -> Decision:
    """May ``actor`` open this patient's record at all (list, search)?"""
    if _own(actor, facts):
        return Decision(True, "the patient's own record", AccessContext.PATIENT)
    if actor.kind in (ActorKind.PATIENT, ActorKind.HELPER, ActorKind.SYSTEM):
        return Decision(False, "another patient's record", AccessContext.PATIENT)
    if not facts.dsp_open:
        return Decision(False, "the DSP is closed", _context(actor, facts))
    if actor.kind is ActorKind.FOREIGN:
        if not facts.consents:
            return Decision(False, "no consent to cross-border sharing", AccessContext.CROSS_BORDER)
        return Decision(True, "cross-border access with consent", AccessContext.CROSS_BORDER)
    if facts.blocked:
        return Decision(False, "blocked by the patient", _context(actor, facts))
    if facts.relationship or facts.granted:
        return Decision(True, "therapeutic relationship" if facts.relationship
                        else "granted by the patient", AccessContext.TREATMENT)
    if facts.emergency:
        return Decision(True, "emergency access", AccessContext.EMERGENCY)
    return Decision(False, "no therapeutic relationship", AccessContext.TREATMENT)


def _context(actor: Actor, facts: Facts) -> AccessContext:
    if actor.kind is ActorKind.FOREIGN:
        return AccessContext.CROSS_BORDER
    if facts.emergency and not (facts.relationship or facts.granted):
        return AccessContext.EMERGENCY
    return AccessContext.TREATMENT


def read_document(actor: Actor, facts: Facts, doc: DocumentFacts) -> Decision:
    """May ``actor`` see this document (in a list, or its content)?"""
    record = record_access(actor, facts)
    if not record:
        return record
    if _own(actor, facts):
        return record
    author = (actor.professional_id is not None
              and actor.professional_id == doc.author_professional_id)
    if actor.kind is ActorKind.FOREIGN:
        service = CROSS_BORDER_TYPES.get(doc.doc_type)
        if service is None:
            return Decision(False, "not shared across borders", record.context)
        # Two reasons, one answer to the peer (4202): the audit tells the operator which.
        if doc.masked:
            return Decision(False, "masked by the patient: not shared across borders",
                            record.context)
        if doc.confidentiality is not Confidentiality.NORMAL:
            return Decision(False, "restricted (R/V): not shared across borders",
                            record.context)
        if service not in facts.consents:
            return Decision(False, f"no consent for {service.value}", record.context)
        return record
    if doc.masked and not author:
        return Decision(False, "masked by the patient", record.context)
    if doc.confidentiality is Confidentiality.VERY_RESTRICTED and not author:
        return Decision(False, "very restricted: patient and author only", record.context)
    if (doc.confidentiality is Confidentiality.RESTRICTED and not author
            and not facts.named_for_restricted):
        return Decision(False, "restricted: not named by the patient", record.context)
    if author:
        return record
    assert actor.profession is not None
    may_read, _ = rights_matrix().get((actor.profession, doc.doc_type), (False, False))
    if not may_read:
        return Decision(False, f"a {actor.profession.value} may not read a {doc.doc_type.value}",
                        record.context)
    return record


def write_document(actor: Actor, facts: Facts, doc_type: DocumentType) -> Decision:
    """May ``actor`` add a document (or a new version) of ``doc_type`` to this record?"""
    if _own(actor, facts):
        if doc_type is DocumentType.PERSONAL_NOTE:
            return manage_record(actor, facts, Power.MANAGE)
        return Decision(False, "patients write personal notes only", AccessContext.PATIENT)
    record = record_access(actor, facts)
    if not record:
        return record
    if actor.kind is ActorKind.FOREIGN:
        ep_consent = CrossBorderService.EPRESCRIPTION in facts.consents
        if doc_type is DocumentType.DISPENSATION and ep_consent:
            return record
        return Decision(False, "foreign gateways submit dispensations only", record.context)
    assert actor.profession is not None
    _, may_write = rights_matrix().get((actor.profession, doc_type), (False, False))
    if not may_write:
        return Decision(False, f"a {actor.profession.value} may not write a {doc_type.value}",
                        record.context)
    if doc_type is DocumentType.PATIENT_SUMMARY and not facts.referring_doctor:
        return Decision(False, "only the referring doctor writes the patient summary",
                        record.context)
    return record


def delegated_power(actor: Actor) -> Power:
    """The strongest act a helper's delegation allows (a patient holds every power)."""
    if actor.kind is ActorKind.PATIENT:
        return Power.CONSENT
    return Power(DELEGATIONS.index(actor.delegation or "read"))


def manage_record(actor: Actor, facts: Facts, power: Power = Power.MANAGE) -> Decision:
    """May ``actor`` do a patient-side act needing ``power`` (see :class:`Power`)?

    The patient, or a helper whose delegation reaches that power: consent and the DSP's state
    belong to the patient or a legal representative only (issue 14, finding 11).
    """
    if _own(actor, facts):
        if delegated_power(actor) >= power:
            return Decision(True, "the patient's own choices", AccessContext.PATIENT)
        return Decision(False, f"the helper's delegation ({actor.delegation}) does not allow "
                        f"this ({power.name.lower()})", AccessContext.PATIENT)
    return Decision(False, "only the patient manages their record", AccessContext.ADMINISTRATION)
