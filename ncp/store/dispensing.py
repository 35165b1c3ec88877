"""ePrescriptions and their dispensing: prescribe, list the dispensable ones, dispense, discard.

Each prescription is a document of the DSP (the national eP CDA, written through the policy like
any other document) plus a ``prescriptions`` row with what the gateway shows without decrypting
(ATC, dose form, strength, substitution) and what dispensing changes (packages dispensed,
status). Dispensing is one transaction: the policy check, the eDispensation stored as a document
(in the national profile, the original as received sealed beside it), the dispensation row, and
a conditional update of the prescription:

    UPDATE prescriptions SET packages_dispensed = packages_dispensed + :n, status = ...
     WHERE id = :id AND status IN ('active', 'partially-dispensed')
       AND packages_dispensed + :n <= packages_prescribed

The condition makes the check and the change one atomic step on every database, so two
pharmacies dispensing the same prescription at once cannot both succeed past its quantity
(PostgreSQL re-evaluates the condition after the row lock; SQLite serialises writers with
``BEGIN IMMEDIATE``). A re-submission of the same eDispensation id is answered as the first was.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from ncp.errors import ErrorCode
from ncp.store import policy
from ncp.store.crypto import TamperedContent
from ncp.store.documents import _DOCUMENTS, DocumentInfo, _document_info
from ncp.store.dsp import Records
from ncp.store.errors import AccessDenied, ContentTampered, InvalidInput, NotFound, StoreError
from ncp.store.keys import KeyRingSource
from ncp.store.models import Dispensation, Document, Prescription
from ncp.store.originals import keep_original
from ncp.store.policy import Actor
from ncp.store.sealed import binding, on_reseal, open_obj, reseal_plaintext, seal_obj
from ncp.store.vocabulary import AccessAction, Confidentiality, DocumentType, Outcome

#: How long after a dispensation the same organisation may discard it.
DEFAULT_DISCARD_WINDOW = dt.timedelta(hours=24)


class PrescriptionStatus(enum.StrEnum):
    ACTIVE = "active"
    PARTIALLY_DISPENSED = "partially-dispensed"
    DISPENSED = "dispensed"
    CANCELLED = "cancelled"


DISPENSABLE = (PrescriptionStatus.ACTIVE.value, PrescriptionStatus.PARTIALLY_DISPENSED.value)


class NotDispensable(StoreError):
    """The prescription is cancelled, expired, or the quantity exceeds what remains."""

    code = ErrorCode.NOT_DISPENSABLE


class AlreadyDispensed(NotDispensable):
    """The prescription is fully dispensed: the dictionary has a message of its own for it
    (4106), which tells the foreign pharmacist why rather than only that."""

    code = ErrorCode.ALREADY_DISPENSED


class DiscardRefused(StoreError):
    code = ErrorCode.DISCARD_FAILED


class SubstitutionNotAllowed(StoreError):
    code = ErrorCode.SUBSTITUTION_NOT_ALLOWED


@dataclass(frozen=True, slots=True)
class PrescriptionItem:
    """What the prescriber states about the prescribed product."""

    prescription_id: str
    product_name: str
    packages: int
    atc_code: str | None = None
    atc_display: str | None = None
    dose_form_code: str | None = None
    dose_form_display: str | None = None
    strength: str | None = None
    substitution_allowed: bool = True
    valid_until: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class PrescriptionInfo:
    prescription_id: str
    document: DocumentInfo
    product_name: str
    atc_code: str | None
    atc_display: str | None
    dose_form_code: str | None
    dose_form_display: str | None
    strength: str | None
    substitution_allowed: bool
    packages_prescribed: int
    packages_dispensed: int
    status: PrescriptionStatus
    prescribed_at: dt.datetime
    valid_until: dt.datetime | None


@dataclass(frozen=True, slots=True)
class DispenseResult:
    dispensation_unique_id: str
    prescription_id: str
    packages: int
    status: PrescriptionStatus
    #: True when this was a re-submission of an already recorded eDispensation.
    duplicate: bool


class Dispensing:
    """The ePrescription service over the record store (uses :class:`Records` for the policy,
    the encrypted document writes and the access log, in the same transactions)."""

    def __init__(self, records: Records, *,
                 discard_window: dt.timedelta = DEFAULT_DISCARD_WINDOW) -> None:
        self.records = records
        self.discard_window = discard_window

    def prescribe(self, actor: Actor, patient_id: int, item: PrescriptionItem, *, title: str,
                  content: bytes, media_type: str = "text/xml") -> PrescriptionInfo:
        """Write the prescription document and its dispensing row in one transaction."""
        if item.packages < 1:
            raise InvalidInput("a prescription is for at least one package")
        if not item.prescription_id.strip() or not item.product_name.strip():
            raise InvalidInput("a prescription needs an id and a product")
        r = self.records
        with r._tx() as s:
            if s.scalar(select(Prescription.id).where(
                    Prescription.prescription_id == item.prescription_id)):
                raise InvalidInput(f"prescription {item.prescription_id} already exists")
            doc = r._write_document(
                s, actor, patient_id, kind=DocumentType.PRESCRIPTION,
                conf=Confidentiality.NORMAL, title=title, media_type=media_type,
                content=content)
            row = Prescription(
                prescription_id=item.prescription_id, document_id=doc.id,
                patient_id=patient_id,
                dose_form_code=item.dose_form_code, dose_form_display=item.dose_form_display,
                substitution_allowed=item.substitution_allowed,
                packages_prescribed=item.packages, packages_dispensed=0,
                status=PrescriptionStatus.ACTIVE.value, prescribed_at=doc.created_at,
                valid_until=item.valid_until)
            seal_obj(r.keys.current(), row, prescription_aad(row), {
                "product_name": item.product_name, "atc_code": item.atc_code,
                "atc_display": item.atc_display, "strength": item.strength})
            s.add(row)
            s.flush()
            return _info(row, doc, r.keys)

    def dispensable(self, actor: Actor, patient_id: int) -> list[PrescriptionInfo]:
        """The patient's prescriptions that ``actor`` may see and that can still be dispensed.

        Visibility is the policy's (through :meth:`Records.list_documents`, logged).
        """
        docs = {d.id: d for d in self.records.list_documents(
            actor, patient_id, doc_type=DocumentType.PRESCRIPTION)}
        if not docs:
            return []
        now = self.records._clock()
        with self.records._read() as s:
            rows = s.scalars(select(Prescription).where(
                Prescription.document_id.in_(list(docs)),
                Prescription.status.in_(DISPENSABLE))).all()
            return [_info(row, docs[row.document_id], self.records.keys) for row in rows
                    if row.valid_until is None or row.valid_until > now]

    def listed(self, actor: Actor, patient_id: int) -> list[PrescriptionInfo]:
        """What the eP list shows: the dispensable prescriptions and the fully dispensed ones
        (listed as closed, as the reference gateway does, so that a pharmacist abroad sees why
        nothing can be dispensed); cancelled and expired ones are not listed."""
        docs = {d.id: d for d in self.records.list_documents(
            actor, patient_id, doc_type=DocumentType.PRESCRIPTION)}
        if not docs:
            return []
        now = self.records._clock()
        shown = (*DISPENSABLE, PrescriptionStatus.DISPENSED.value)
        with self.records._read() as s:
            rows = s.scalars(select(Prescription).where(
                Prescription.document_id.in_(list(docs)),
                Prescription.status.in_(shown))).all()
            return [_info(row, docs[row.document_id], self.records.keys) for row in rows
                    if row.valid_until is None or row.valid_until > now]

    def prescription(self, prescription_id: str) -> PrescriptionInfo:
        """Dispensing state of one prescription (for our own portal and tests; no content)."""
        with self.records._read() as s:
            row = s.scalar(select(Prescription).where(
                Prescription.prescription_id == prescription_id))
            if row is None:
                raise NotFound("unknown prescription")
            doc = _document_info(s.execute(_DOCUMENTS.where(Document.id == row.document_id)
                                           ).one(), self.records.keys)
            return _info(row, doc, self.records.keys)

    def dispense(
        self,
        actor: Actor,
        *,
        prescription_id: str,
        dispensation_unique_id: str,
        packages: int,
        content: bytes,
        pharmacist: str,
        organisation: str,
        country: str,
        substituted: bool = False,
        title: str = "eDispensation",
        original: bytes | None = None,
    ) -> DispenseResult:
        """Record an eDispensation against one of our prescriptions (atomic, idempotent).

        ``content`` is the document the DSP stores (the national form); ``original``, when
        ``content`` was transformed from what the pharmacy abroad sent, is that document as
        received, kept sealed beside it (:mod:`ncp.store.originals`) in the same transaction.
        """
        if packages < 1:
            raise InvalidInput("a dispensation is of at least one package")
        if not dispensation_unique_id.strip():
            raise InvalidInput("an eDispensation needs a document id")
        r = self.records
        now = r._clock()
        with r._tx() as s:
            existing = s.scalar(select(Dispensation).where(
                Dispensation.unique_id == dispensation_unique_id))
            row = s.scalar(select(Prescription).where(
                Prescription.prescription_id == prescription_id))
            if existing is not None:
                return self._repeat(s, existing, row, prescription_id, packages)
            if row is None:
                raise NotFound("unknown prescription")
            patient = r._patient_row(s, row.patient_id)
            facts = r._facts(s, actor, patient)
            decision = policy.write_document(actor, facts, DocumentType.DISPENSATION)
            if not decision:
                r._log(s, actor, row.patient_id, AccessAction.WRITE, title,
                       decision.context, Outcome.DENIED, detail=decision.reason)
                r._enforce(s, decision)
            if substituted and not row.substitution_allowed:
                self._refuse(s, actor, row, title, "substitution not allowed")
                raise SubstitutionNotAllowed("substitution is not allowed for this prescription")
            if row.valid_until is not None and row.valid_until <= now:
                self._refuse(s, actor, row, title, "prescription expired")
                raise NotDispensable("the prescription has expired")
            result = s.execute(
                update(Prescription)
                .where(Prescription.id == row.id, Prescription.status.in_(DISPENSABLE),
                       Prescription.packages_dispensed + packages
                       <= Prescription.packages_prescribed)
                .values(packages_dispensed=Prescription.packages_dispensed + packages,
                        status=_status_after(packages)))
            if result.rowcount != 1:
                # Read again: the guarded update may have lost to a concurrent dispensation.
                status = s.scalar(select(Prescription.status).where(Prescription.id == row.id))
                self._refuse(s, actor, row, title, "not dispensable (quantity or status)")
                if status == PrescriptionStatus.DISPENSED.value:
                    raise AlreadyDispensed("the prescription is fully dispensed")
                raise NotDispensable("the prescription is cancelled or the quantity exceeds "
                                     "what remains")
            doc = r._write_document(
                s, actor, row.patient_id, kind=DocumentType.DISPENSATION,
                conf=Confidentiality.NORMAL, title=title, media_type="text/xml",
                content=content, unique_id=None)
            if original is not None:
                keep_original(r, s, doc, original, country=country)
            s.add(Dispensation(
                unique_id=dispensation_unique_id, prescription_row_id=row.id,
                document_id=doc.id, packages=packages, organisation=organisation,
                country=country, pharmacist=pharmacist, dispensed_at=now))
            s.flush()
            status = s.scalar(select(Prescription.status).where(Prescription.id == row.id))
            return DispenseResult(dispensation_unique_id, prescription_id, packages,
                                  PrescriptionStatus(status), duplicate=False)

    def recorded(self, *, prescription_id: str, dispensation_unique_id: str,
                 packages: int) -> DispenseResult | None:
        """The answer to a re-submission of an eDispensation already recorded (None if it is
        new), so that a caller can answer it without preparing its document again.
        :meth:`dispense` stays idempotent on its own (two first submissions at once)."""
        with self.records._read() as s:
            existing = s.scalar(select(Dispensation).where(
                Dispensation.unique_id == dispensation_unique_id))
            if existing is None:
                return None
            row = s.scalar(select(Prescription).where(
                Prescription.prescription_id == prescription_id))
            return self._repeat(s, existing, row, prescription_id, packages)

    def discard(self, actor: Actor, *, dispensation_unique_id: str, discard_unique_id: str,
                prescription_id: str, patient_id: int, organisation: str,
                country: str) -> DispenseResult:
        """Undo a dispensation, by the organisation that made it, within the discard window.

        The dispensation is looked up by its eD id *and* the prescription it fulfils *and* the
        patient of the treatment relationship: an eD id alone let a pharmacy holding one
        patient's TRC discard another patient's dispensation (security review, issue 14 item
        3). An organisation id is only meaningful within its country: the discard must come from
        the country (the TLS peer) and the organisation that dispensed.
        """
        r = self.records
        now = r._clock()
        with r._tx() as s:
            found = s.execute(
                select(Dispensation, Prescription)
                .join(Prescription, Prescription.id == Dispensation.prescription_row_id)
                .where(Dispensation.unique_id == dispensation_unique_id,
                       Prescription.prescription_id == prescription_id,
                       Prescription.patient_id == patient_id)).first()
            if found is None:
                raise DiscardRefused("no such eDispensation of this prescription and patient")
            disp, row = found
            if disp.discarded_at is not None:
                if disp.discard_unique_id == discard_unique_id:
                    return DispenseResult(disp.unique_id, row.prescription_id, disp.packages,
                                          PrescriptionStatus(row.status), duplicate=True)
                raise DiscardRefused("this dispensation was already discarded")
            patient = r._patient_row(s, row.patient_id)
            decision = policy.write_document(actor, r._facts(s, actor, patient),
                                             DocumentType.DISPENSATION)
            if not decision:
                r._log(s, actor, row.patient_id, AccessAction.UPDATE,
                       "eDispensation discard", decision.context, Outcome.DENIED,
                       detail=decision.reason)
                r._enforce(s, decision)
            if disp.country.upper() != country.upper() or disp.organisation != organisation:
                self._refuse(s, actor, row, "eDispensation discard",
                             f"dispensed by {disp.organisation} ({disp.country}), not by "
                             f"{organisation} ({country})")
                raise DiscardRefused("only the dispensing organisation may discard")
            if now - disp.dispensed_at > self.discard_window:
                self._refuse(s, actor, row, "eDispensation discard", "discard window passed")
                raise DiscardRefused("the discard window has passed")
            s.execute(update(Prescription).where(Prescription.id == row.id).values(
                packages_dispensed=Prescription.packages_dispensed - disp.packages,
                status=case(
                    (Prescription.packages_dispensed - disp.packages == 0,
                     PrescriptionStatus.ACTIVE.value),
                    else_=PrescriptionStatus.PARTIALLY_DISPENSED.value)))
            disp.discarded_at = now
            disp.discard_unique_id = discard_unique_id
            r._log(s, actor, row.patient_id, AccessAction.UPDATE,
                   "eDispensation discarded", decision.context, Outcome.SUCCESS,
                   document_id=disp.document_id, detail=decision.reason)
            s.flush()
            status = s.scalar(select(Prescription.status).where(Prescription.id == row.id))
            return DispenseResult(disp.unique_id, row.prescription_id, disp.packages,
                                  PrescriptionStatus(status), duplicate=False)

    # ------------------------------------------------------------------ internals

    def _repeat(self, s: Session, existing: Dispensation, row: Prescription | None,
                prescription_id: str, packages: int) -> DispenseResult:
        """A re-submitted eDispensation id: the same answer if it is the same dispensation."""
        if row is None or existing.prescription_row_id != row.id or existing.packages != packages:
            raise InvalidInput("this eDispensation id was already used for another dispensation")
        return DispenseResult(existing.unique_id, prescription_id, existing.packages,
                              PrescriptionStatus(row.status), duplicate=True)

    def _refuse(self, s: Session, actor: Actor, row: Prescription, what: str,
                reason: str) -> None:
        """Log a refused dispensing step and commit: nothing else was written before it (a
        refused conditional update changes no row)."""
        r = self.records
        r._log(s, actor, row.patient_id, AccessAction.WRITE, what,
               r._default_context(actor), Outcome.DENIED, detail=reason)
        s.commit()


def _status_after(packages: int) -> object:
    return case(
        (Prescription.packages_dispensed + packages >= Prescription.packages_prescribed,
         PrescriptionStatus.DISPENSED.value),
        else_=PrescriptionStatus.PARTIALLY_DISPENSED.value)


#: The sealed values of a prescription row (issue 14, finding 8): what was prescribed.
PRESCRIPTION_FIELDS = ("product_name", "atc_code", "atc_display", "strength")


def prescription_aad(row: Prescription) -> bytes:
    """A prescription row's binding: its prescription, its document and its patient."""
    return binding("ncp-prescription-v1", row.prescription_id, row.document_id,
                   row.patient_id)


def _info(row: Prescription, doc: DocumentInfo, keys: KeyRingSource) -> PrescriptionInfo:
    try:
        values = open_obj(keys.get, row, PRESCRIPTION_FIELDS, prescription_aad(row))
    except TamperedContent:
        raise ContentTampered("the stored prescription failed its integrity check") from None
    return PrescriptionInfo(
        prescription_id=row.prescription_id, document=doc,
        product_name=values["product_name"] or "",
        atc_code=values["atc_code"], atc_display=values["atc_display"],
        dose_form_code=row.dose_form_code,
        dose_form_display=row.dose_form_display, strength=values["strength"],
        substitution_allowed=row.substitution_allowed,
        packages_prescribed=row.packages_prescribed, packages_dispensed=row.packages_dispensed,
        status=PrescriptionStatus(row.status), prescribed_at=row.prescribed_at,
        valid_until=row.valid_until)


@on_reseal("prescriptions")
def _reseal_prescriptions(records: Records, batch: int) -> int:
    """Seal the prescriptions stored with their product in plaintext (before ``0021``)."""
    return reseal_plaintext(records, Prescription, PRESCRIPTION_FIELDS, prescription_aad, batch)


__all__ = [
    "AccessDenied",
    "AlreadyDispensed",
    "DiscardRefused",
    "DispenseResult",
    "Dispensing",
    "NotDispensable",
    "PrescriptionInfo",
    "PrescriptionItem",
    "PrescriptionStatus",
    "SubstitutionNotAllowed",
]
