"""What became of each ePrescription and eDispensation a patient or professional is shown.

A DSP list used to show an eDispensation as a document like any other: one a pharmacy abroad
had cancelled still looked valid, and a prescription of 3 packages listed beside 3 eDs of 5
packages, one cancelled, said nothing of what remained (issue 15 item 3). This reads, for
documents the caller was already allowed to list (:meth:`Records.list_documents` applied the
policy and logged the listing), the dispensing rows behind them: for an eD its status (valid or
cancelled), when and by whom; for a prescription what was prescribed, dispensed and remains.
It reads no content and writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from ncp.store.access_log import open_log_row
from ncp.store.documents import DocumentInfo
from ncp.store.models import AccessLogEntry, Dispensation, Prescription
from ncp.store.record_service import RecordService
from ncp.store.vocabulary import AccessAction, DocumentType, Outcome

#: The access-log row the discard writes (ncp.store.dispensing.Dispensing.discard).
_DISCARDED = "eDispensation discarded"


@dataclass(frozen=True, slots=True)
class DispensingState:
    """For an eD: ``status`` ``valid`` or ``discarded`` with its times and people; for a
    prescription: ``status`` the prescription's (active, partially-dispensed, ...). Both carry
    the prescription's packages prescribed, dispensed (cancelled ones no longer count) and
    remaining."""

    status: str
    prescribed: int
    dispensed: int
    packages: int = 0
    dispensed_at: dt.datetime | None = None
    pharmacist: str = ""
    organisation: str = ""
    country: str = ""
    discarded_at: dt.datetime | None = None
    discarded_by: str = ""

    @property
    def remaining(self) -> int:
        return max(self.prescribed - self.dispensed, 0)


def dispensing_states(records: RecordService,
                      documents: Iterable[DocumentInfo]) -> dict[int, DispensingState]:
    """The state of each prescription and eDispensation among ``documents``, by document id
    (others are absent)."""
    wanted = {d.id: d.doc_type for d in documents
              if d.doc_type in (DocumentType.PRESCRIPTION, DocumentType.DISPENSATION)}
    if not wanted:
        return {}
    out: dict[int, DispensingState] = {}
    with records._read() as s:
        for p in s.scalars(select(Prescription).where(Prescription.document_id.in_(wanted))):
            out[p.document_id] = DispensingState(p.status, p.packages_prescribed,
                                                 p.packages_dispensed)
        rows = s.execute(select(Dispensation, Prescription).join(
            Prescription, Prescription.id == Dispensation.prescription_row_id).where(
            Dispensation.document_id.in_(wanted))).all()
        by_whom = {}  # ``what`` is sealed at rest: opened row by row, the eD's own rows only
        for e in s.scalars(select(AccessLogEntry).where(
                AccessLogEntry.document_id.in_(wanted),
                AccessLogEntry.action == AccessAction.UPDATE.value,
                AccessLogEntry.outcome == Outcome.SUCCESS.value)):
            if open_log_row(records._keys, e)[0] == _DISCARDED:
                by_whom[e.document_id] = e.actor_name
        for d, p in rows:
            out[d.document_id] = DispensingState(
                "discarded" if d.discarded_at is not None else "valid",
                p.packages_prescribed, p.packages_dispensed, packages=d.packages,
                dispensed_at=d.dispensed_at, pharmacist=d.pharmacist,
                organisation=d.organisation, country=d.country, discarded_at=d.discarded_at,
                discarded_by=by_whom.get(d.document_id) or d.organisation
                if d.discarded_at is not None else "")
    return out


__all__ = ["DispensingState", "dispensing_states"]
