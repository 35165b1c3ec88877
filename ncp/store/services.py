"""The insurer's summary of services: one document per DSP, versioned as the feed brings more.

"La CNS y ajoute un résumé de tous les prestations et examens." Each patient has at most one
current ``services-summary`` document, written by the system in the insurer's name (author: the
CNS, an organisation of kind ``insurer``). A feed that brings new or corrected lines for a
patient makes a new version of it (the previous one stays, as every version does); a feed that
brings nothing new for a patient writes nothing, so the same feed applied twice, or an
overlapping extract, leaves the same state.

The document is plain text (rendered as it is in the portal), sealed like every document: the
services say much about a person's health, so nothing of them is kept in a plaintext column.
The lines themselves are read back from the current version (they are tab-separated, and the
feed refuses tabs in values), keyed by the insurer's reference of the reimbursed line: a line
sent again with the same reference replaces the earlier one.

Who reads it: the patient, and professionals under the rights matrix (physicians; no one
writes it but the feed); it is never shared across borders (not a type of the eHDSI services).
Its mask and confidentiality, which the patient may set, carry over to each new version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, undefer

from ncp.registry.services import ServiceLine
from ncp.store.models import AccessLogEntry, Document, Organisation, Patient
from ncp.store.vocabulary import (
    AccessAction,
    AccessContext,
    ActorKind,
    DocumentType,
    DspState,
    Outcome,
)

if TYPE_CHECKING:
    from ncp.store.dsp import Records

__all__ = ["INSURER", "ServiceCounts", "ServicesSummaries", "parse_summary", "render_summary"]

#: The organisation the summaries are written in the name of.
INSURER = ("LU-CNS", "Caisse nationale de santé (CNS)", "insurer")
_LABELS = {
    "fr": ("Résumé des prestations et examens remboursés", "Patient", "Période",
           "prestations et examens", "Mis à jour le", "date\ttype\tcode\tprestation\t"
           "prestataire\tréférence", {"service": "prestation", "examination": "examen"}),
    "de": ("Übersicht der erstatteten Leistungen und Untersuchungen", "Patient", "Zeitraum",
           "Leistungen und Untersuchungen", "Aktualisiert am", "Datum\tArt\tCode\tLeistung\t"
           "Leistungserbringer\tReferenz", {"service": "Leistung", "examination": "Untersuchung"}),
    "en": ("Summary of reimbursed services and examinations", "Patient", "Period",
           "services and examinations", "Updated on", "date\tkind\tcode\tservice\tprovider\t"
           "reference", {"service": "service", "examination": "examination"}),
}


@dataclass(slots=True)
class ServiceCounts:
    patients_updated: int = 0
    new_lines: int = 0
    corrected: int = 0
    unchanged: int = 0
    closed_skipped: int = 0
    bad: int = 0
    unknown: list[int] = field(default_factory=list)

    def add(self, other: ServiceCounts) -> None:
        self.patients_updated += other.patients_updated
        self.new_lines += other.new_lines
        self.corrected += other.corrected
        self.unchanged += other.unchanged
        self.closed_skipped += other.closed_skipped

    def __str__(self) -> str:
        return (f"{self.patients_updated} summaries updated, {self.new_lines} new lines, "
                f"{self.corrected} corrected, {self.unchanged} unchanged, "
                f"{self.closed_skipped} skipped (closed DSP), {self.bad} bad")


@dataclass(frozen=True, slots=True)
class _Entry:
    date: dt.date
    kind: str
    code: str
    label: str
    provider: str
    reference: str


def _entry(line: ServiceLine) -> _Entry:
    return _Entry(line.date, line.kind, line.code, line.label, line.provider, line.reference)


def render_summary(entries: Sequence[_Entry], *, name: str, identifier: str, language: str,
                   today: dt.date) -> bytes:
    """The document's text: a header, then one tab-separated line per service, oldest first."""
    title, patient, period, count, updated, columns, kinds = _LABELS.get(language, _LABELS["fr"])
    ordered = sorted(entries, key=lambda e: (e.date, e.reference))
    lines = [f"{title} (CNS)", f"{patient}: {name} ({identifier})",
             f"{period}: {ordered[0].date} - {ordered[-1].date}, {len(ordered)} {count}",
             f"{updated} {today}", "", columns]
    lines.extend(f"{e.date}\t{kinds.get(e.kind, e.kind)}\t{e.code}\t{e.label}\t{e.provider}\t"
                 f"{e.reference}" for e in ordered)
    return ("\n".join(lines) + "\n").encode()


def parse_summary(content: bytes) -> dict[str, _Entry]:
    """The lines of a summary written by :func:`render_summary`, by reference."""
    back = {v: k for labels in _LABELS.values() for k, v in labels[6].items()}
    found = {}
    for text in content.decode().splitlines():
        parts = text.split("\t")
        if len(parts) != 6:
            continue
        try:
            day = dt.date.fromisoformat(parts[0])
        except ValueError:
            continue  # the column header
        found[parts[5]] = _Entry(day, back.get(parts[1], parts[1]), *parts[2:])
    return found


class ServicesSummaries:
    """The services feed's side of the DSPs."""

    def __init__(self, records: Records) -> None:
        self._records = records

    def known(self, matricules: Sequence[str]) -> set[str]:
        """Which of these matricules have a DSP (the feed's check pass)."""
        with self._records.reading() as s:
            return set(s.scalars(select(Patient.matricule)
                                 .where(Patient.matricule.in_(list(set(matricules))))))

    def apply(self, lines: Sequence[ServiceLine]) -> ServiceCounts:
        """Apply one chunk in one transaction (a reference twice in it: the later line wins).
        Lines of a matricule without a DSP are counted in ``unknown`` (their line numbers)."""
        counts = ServiceCounts()
        by_patient: dict[str, dict[str, ServiceLine]] = {}
        for line in lines:
            by_patient.setdefault(line.matricule, {})[line.reference] = line
        records = self._records
        now = records.clock()
        with records._tx() as s:
            org_id = self._insurer(s)
            patients = {p.matricule: p for p in s.scalars(
                select(Patient).where(Patient.matricule.in_(list(by_patient))))}
            # The current summaries of the chunk's patients, content included, in one query.
            current = {d.patient_id: d for d in s.scalars(
                select(Document).options(undefer(Document.ciphertext)).where(
                    Document.patient_id.in_([p.id for p in patients.values()]),
                    Document.doc_type == DocumentType.SERVICES_SUMMARY.value,
                    Document.is_current.is_(True)).order_by(Document.id).with_for_update())}
            rows: list[dict[str, object]] = []
            logs: list[dict[str, object]] = []
            superseded: list[int] = []
            for number, sent in by_patient.items():
                patient = patients.get(number)
                if patient is None:
                    counts.unknown.extend(sorted(x.line for x in sent.values()))
                    continue
                if patient.dsp_state != DspState.OPEN.value:
                    counts.closed_skipped += len(sent)
                    continue
                previous = current.get(patient.id)
                made = self._version(patient, previous, sent, org_id, now, counts)
                if made is None:
                    continue
                row, what = made
                rows.append(row)
                logs.append({"patient_id": patient.id, "what": what, "action": (
                    AccessAction.UPDATE if previous else AccessAction.WRITE).value,
                    "unique_id": row["unique_id"]})
                if previous is not None:
                    superseded.append(previous.id)
            if rows:
                self._write(s, rows, logs, superseded, now)
        return counts

    @staticmethod
    def _write(s: Session, rows: list[dict[str, object]], logs: list[dict[str, object]],
               superseded: list[int], now: dt.datetime) -> None:
        """The chunk's new versions in a few statements, whatever the number of patients
        (plain executemany, which psycopg pipelines), with their access-log rows."""
        if superseded:
            s.execute(update(Document).where(Document.id.in_(superseded))
                      .values(is_current=False))
        s.execute(insert(Document), rows)
        uids = [r["unique_id"] for r in rows]
        s.execute(update(Document).where(Document.unique_id.in_(uids),
                                         Document.series_id.is_(None))
                  .values(series_id=Document.id))
        ids = dict(s.execute(select(Document.unique_id, Document.id)
                             .where(Document.unique_id.in_(uids))).all())
        s.execute(insert(AccessLogEntry), [{
            "at": now, "patient_id": log["patient_id"], "actor_kind": ActorKind.SYSTEM.value,
            "actor_name": "health insurer (CNS)", "action": log["action"],
            "what": log["what"], "document_id": ids[log["unique_id"]],
            "context": AccessContext.ADMINISTRATION.value,
            "outcome": Outcome.SUCCESS.value, "detail": "services feed"} for log in logs])

    def _version(self, patient: Patient, previous: Document | None,
                 sent: dict[str, ServiceLine], org_id: int, now: dt.datetime,
                 counts: ServiceCounts) -> tuple[dict[str, object], str] | None:
        """The new version of the patient's summary (a row of ``documents``, sealed) and its
        log text, or None when the feed brings nothing new for them."""
        from ncp.store.documents import new_document_uid, sealed_document

        records = self._records
        entries = parse_summary(records._open_document(previous)) if previous else {}
        new = corrected = 0
        for reference, line in sent.items():
            entry = _entry(line)
            if reference not in entries:
                new += 1
            elif entries[reference] != entry:
                corrected += 1
            else:
                counts.unchanged += 1
                continue
            entries[reference] = entry
        if not new and not corrected:
            return None
        counts.patients_updated += 1
        counts.new_lines += new
        counts.corrected += corrected
        content = render_summary(list(entries.values()),
                                 name=f"{patient.given_name} {patient.family_name}",
                                 identifier=patient.matricule,
                                 language=patient.preferred_language, today=now.date())
        uid = new_document_uid()
        masked = bool(previous.masked) if previous else False
        conf = previous.confidentiality if previous else "N"
        title = _LABELS.get(patient.preferred_language, _LABELS["fr"])[0] + " (CNS)"
        first = min(e.date for e in entries.values())
        return {
            "unique_id": uid, "patient_id": patient.id,
            "doc_type": DocumentType.SERVICES_SUMMARY.value,
            "media_type": "text/plain", "author_kind": "insurer",
            "author_professional_id": None, "author_name": INSURER[1],
            "organisation_id": org_id, "created_at": now,
            "service_start": dt.datetime(first.year, first.month, first.day, tzinfo=dt.UTC),
            "service_stop": None, "confidentiality": conf, "masked": masked,
            "version": previous.version + 1 if previous else 1,
            "series_id": previous.series_id if previous else None,
            "supersedes_id": previous.id if previous else None, "is_current": True,
            "content_size": len(content),
            **sealed_document(records.keys.current(), uid, patient.id,
                              DocumentType.SERVICES_SUMMARY.value, masked, conf, content, title),
        }, f"summary of services: {new} new, {corrected} corrected"

    @staticmethod
    def _insurer(s: Session) -> int:
        identifier, name, kind = INSURER
        org_id = s.scalar(select(Organisation.id).where(Organisation.identifier == identifier))
        if org_id is None:
            org = Organisation(identifier=identifier, name=name, kind=kind, country="LU")
            s.add(org)
            s.flush()
            org_id = org.id
        return org_id
