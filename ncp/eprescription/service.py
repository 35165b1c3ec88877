"""The ePrescription service of the responding gateway: list a patient's dispensable
ePrescriptions for an XCA query, and record the eDispensations (and their discards) that
pharmacies abroad send back through XDR.

Rules held here (the faces only translate):

- each active, unexpired prescription is its own entry, with the eHDSI metadata a pharmacist
  abroad selects by (ATC, dose form, strength, substitution, and the XDW event code ``open``
  while it can be dispensed, ``closed`` once fully dispensed: the reference gateway lists
  those too, which tells the pharmacist why nothing is dispensable); none gives error 1101;
- an eDispensation must fulfil one of *our* prescriptions of *the TRC's patient*; anything else
  is "not identifiable" (5009), so a submission cannot probe other patients' prescriptions;
- the DSP keeps the eDispensation in its national profile, like every other DSP document: the
  received pivot is transformed (:func:`ncp.transform.to_national`) before anything is written;
  what was received is kept too, sealed beside the national document, as the evidence of what
  the foreign country sent;
- an eD whose identification is sound (our prescription, the TRC's patient, valid quantities)
  is recorded even when a descriptive code has no national mapping: the medicine was handed
  over abroad, and refusing the eD would leave the prescription open for a second
  dispensation. The code is kept as received (code, system, display) and listed for follow-up
  (:class:`ncp.store.terminology.UnmappedCode`, ``ncp terminology unmapped``); only the
  identifying elements (:mod:`ncp.eprescription.dispensation`) refuse the eD;
- dispensing itself (quantity, status, substitution, concurrency, idempotency) is the store's
  atomic operation (:class:`ncp.store.dispensing.Dispensing`);
- a discard is accepted within the configured window from the organisation that dispensed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from ncp.cda.kinds import DocumentKind
from ncp.eprescription.dispensation import ReceivedDispensation, read_dispensation
from ncp.errors import ErrorCode, NcpError
from ncp.ihe import oids
from ncp.ihe.identifiers import PatientId
from ncp.ihe.rim import Coded, DocumentEntry, EPrescriptionMetadata
from ncp.patient_summary.documents import pivot_variant
from ncp.patient_summary.entries import EntryFactory
from ncp.store.dispensing import (
    DISPENSABLE,
    DispenseResult,
    Dispensing,
    PrescriptionInfo,
)
from ncp.store.errors import NotFound
from ncp.store.pivot_cache import PivotCache
from ncp.store.policy import Actor
from ncp.store.terminology import UnmappedRow, add_unmapped
from ncp.terminology.service import Terminology
from ncp.transform import to_national

__all__ = ["EPrescriptionService", "PrescriptionQuery", "SubmittedDispensation"]

_SUBSTITUTION_SCHEME = "2.16.840.1.113883.5.1070"


@dataclass(frozen=True, slots=True)
class PrescriptionQuery:
    entries: list[DocumentEntry]
    errors: list[NcpError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SubmittedDispensation:
    """One eDispensation (or discard) document of an XDR submission."""

    xds_unique_id: str
    content: bytes
    discard: bool


class NotIdentifiable(NcpError):
    def __init__(self, detail: str) -> None:
        super().__init__(ErrorCode.EPRESCRIPTION_NOT_IDENTIFIABLE, detail)


def metadata_of(p: PrescriptionInfo) -> EPrescriptionMetadata:
    """The eHDSI query metadata of one prescription."""
    return EPrescriptionMetadata(
        atc=Coded(code=p.atc_code, scheme=oids.ATC.value, display=p.atc_display)
        if p.atc_code else None,
        dose_form=Coded(code=p.dose_form_code, scheme=oids.EDQM.value,
                        display=p.dose_form_display) if p.dose_form_code else None,
        strength=p.strength,
        substitution=Coded(code="G", scheme=_SUBSTITUTION_SCHEME, display="generic")
        if p.substitution_allowed else Coded(code="N", scheme=_SUBSTITUTION_SCHEME,
                                             display="none"),
        dispensable=p.status.value in DISPENSABLE,
    )


class EPrescriptionService:
    def __init__(self, dispensing: Dispensing, cache: PivotCache, entries: EntryFactory, *,
                 eprescription_root: str, patient_root: str,
                 schema_errors: Callable[[etree._Element], list[str]] | None = None,
                 terminology: Terminology | None = None) -> None:
        self.dispensing = dispensing
        #: The terminology of the pivot -> national transformation (None: the process-wide
        #: database terminology, :func:`ncp.terminology.service.default_terminology`).
        self.terminology = terminology
        self.schema_errors = schema_errors
        self.cache = cache
        self.entries = entries
        self.eprescription_root = eprescription_root
        self.patient_root = patient_root

    # ------------------------------------------------------------------ query

    def find(self, actor: Actor, patient_db_id: int, patient: PatientId) -> PrescriptionQuery:
        prescriptions = self.dispensing.listed(actor, patient_db_id)
        if not prescriptions:
            return PrescriptionQuery([], [NcpError(ErrorCode.EP_NOT_FOUND)])
        digests = self.cache.digests([p.document.id for p in prescriptions],
                                     variant=pivot_variant(DocumentKind.EPRESCRIPTION))
        entries = []
        for p in prescriptions:
            size, sha1 = digests.get(p.document.id, (None, None))
            entries.append(self.entries.structured(
                p.document, patient, size=size, sha1=sha1, eprescription=metadata_of(p),
                description=p.product_name))
        return PrescriptionQuery(entries)

    # ------------------------------------------------------------------ submit

    def _our_prescription(self, ed: ReceivedDispensation, patient_db_id: int,
                          trc_patient: PatientId) -> PrescriptionInfo:
        if ed.patient_extension(trc_patient.root) != trc_patient.extension:
            raise NcpError(ErrorCode.PATIENT_NOT_MATCHING_TRC,
                           "the eDispensation is for another patient than the TRC's")
        prescription_id = ed.prescription_id(self.eprescription_root)
        if prescription_id is None:
            raise NotIdentifiable("the eDispensation fulfils no prescription of ours")
        try:
            info = self.dispensing.prescription(prescription_id)
        except NotFound:
            raise NotIdentifiable("unknown prescription") from None
        if info.document.patient_id != patient_db_id:
            raise NotIdentifiable("the prescription is another patient's")
        return info

    def submit(self, actor: Actor, doc: SubmittedDispensation, *, patient_db_id: int,
               trc_patient: PatientId, pharmacist: str, organisation: str,
               country: str) -> DispenseResult:
        """Record one eDispensation, or discard the one it names (raises NcpError).

        The DSP document is the national form of the eD; the eD as received is kept sealed
        beside it. A transformation failure (:class:`ncp.transform.TranscodingError`,
        ERROR_ED_MISSING_EXPECTED_MAPPING or 4203) refuses the submission before anything is
        written. A re-submission of a recorded eD is answered as the first one was, without
        transforming it again (a newer mapping release cannot turn an accepted eD into a
        refused one).
        """
        ed = read_dispensation(doc.content, schema_errors=self.schema_errors)
        info = self._our_prescription(ed, patient_db_id, trc_patient)
        if doc.discard:
            return self.dispensing.discard(actor, dispensation_unique_id=ed.document_id,
                                           discard_unique_id=doc.xds_unique_id,
                                           prescription_id=info.prescription_id,
                                           patient_id=patient_db_id,
                                           organisation=organisation, country=country)
        repeated = self.dispensing.recorded(prescription_id=info.prescription_id,
                                            dispensation_unique_id=ed.document_id,
                                            packages=ed.packages)
        if repeated is not None:
            return repeated
        transformed = to_national(doc.content, terminology=self.terminology, keep_unmapped=True)
        national = transformed.document
        try:
            result = self.dispensing.dispense(
                actor, prescription_id=info.prescription_id, dispensation_unique_id=ed.document_id,
                packages=ed.packages, content=national, original=doc.content,
                pharmacist=pharmacist, organisation=organisation, country=country,
                substituted=ed.substituted, title=f"eDispensation : {info.product_name}"[:300])
        except NotFound:
            raise NotIdentifiable("unknown prescription") from None
        if transformed.warnings and not result.duplicate:
            records = self.dispensing.records
            now = records.clock()
            with records._tx() as session:
                add_unmapped(session, (UnmappedRow(
                    received_at=now, country=country, document_kind="eDispensation",
                    document_id=ed.document_id, location=w.location, code=w.code,
                    code_system=w.code_system, display=w.display, reason=w.reason,
                    value_sets=" ".join(w.value_sets)) for w in transformed.warnings))
        return result
