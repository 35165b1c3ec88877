"""Benchmark of the DSP record store, on SQLite and on PostgreSQL.

Builds N patients and M documents through the bulk import (encrypted, each with its access-log
row), then measures through the real service and policy, with the access-log row committed each
time:

- "list": list one patient's documents as their referring doctor;
- "read": read (decrypt) one document as the referring doctor;
- "sealing": what sealing at rest costs of those (issue 14, finding 8): sealing one access-log
  row (``what``/``detail``, written by every list and read) and opening one document title
  (a list opens one per document).

Run by hand (figures go in the closing notes, not in tests):

    .venv/bin/python bench/store.py                          # 100,000 patients, 1,000,000 docs
    .venv/bin/python bench/store.py --patients 10000 --documents 100000 --backend sqlite

PostgreSQL runs in a throwaway cluster started with the installed initdb/pg_ctl.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ncp.store import matricule
from ncp.store.crypto import KeyRing
from ncp.store.db import analyze, make_engine, session_factory, upgrade
from ncp.store.documents import DocumentImport
from ncp.store.dsp import Records
from ncp.store.identity import PatientImport
from ncp.testing.postgres import PostgresCluster

DOC_TYPES = ["visit-report", "laboratory-report", "prescription", "imaging-report",
             "discharge-letter", "home-care-report", "patient-summary"]
CONTENT = (b"<ClinicalDocument xmlns='urn:hl7-org:v3'>" + b"x" * 900 + b"</ClinicalDocument>")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def build(records: Records, patients: int, documents: int, batch: int) -> tuple[float, list]:
    doctors = [records.add_professional(registry_id=f"B{i:05d}", given_name="Doc",
                                        family_name=f"N{i}", profession="physician",
                                        isco_code="2211") for i in range(200)]
    rng = random.Random(7)
    patient_ids: list[tuple[int, int]] = []
    born = dt.date(1950, 1, 1)
    for start in range(0, patients, batch):
        items = []
        for n in range(start, min(patients, start + batch)):
            birth = born + dt.timedelta(days=n // 1000)
            items.append(PatientImport(matricule=matricule.make(birth, n % 1000),
                                       given_name="P", family_name=f"N{n}", gender="F",
                                       referring_doctor=doctors[n % len(doctors)]))
        ids = records.import_patients(items)
        patient_ids.extend((pid, it.referring_doctor) for pid, it in zip(ids, items, strict=True))
    per_patient = max(1, documents // patients)
    t0 = time.perf_counter()
    done = 0
    pending: list[DocumentImport] = []
    for pid, doctor in patient_ids:
        for k in range(per_patient):
            pending.append(DocumentImport(patient_id=pid, author=doctor,
                                          doc_type=DOC_TYPES[(pid + k) % len(DOC_TYPES)],
                                          title=f"Document {k}", media_type="text/xml",
                                          content=CONTENT))
            if len(pending) >= batch:
                done += records.import_documents(pending)
                pending = []
    if pending:
        done += records.import_documents(pending)
    rate = done / (time.perf_counter() - t0)
    rng.shuffle(patient_ids)
    return rate, patient_ids


def measure(records: Records, sample: list[tuple[int, int]], rounds: int) -> dict[str, list]:
    actors = {}
    lists, reads = [], []
    for pid, doctor in sample[:rounds]:
        actor = actors.get(doctor) or actors.setdefault(doctor,
                                                        records.professional_actor(doctor))
        t = time.perf_counter()
        docs = records.list_documents(actor, pid)
        lists.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        records.read_document(actor, docs[0].unique_id)
        reads.append((time.perf_counter() - t) * 1000)
    return {"list": lists, "read": reads}


def sealing(records: Records, sample: list[tuple[int, int]], n: int = 5000) -> tuple[float, float]:
    """Microseconds to seal one access-log row, and to open one document title."""

    from ncp.store.documents import _DOCUMENTS, open_title
    from ncp.store.models import Document
    from ncp.store.vocabulary import AccessAction, AccessContext, Outcome

    pid, doctor = sample[0]
    actor = records.professional_actor(doctor)
    with records.reading() as s:
        row = s.execute(_DOCUMENTS.where(Document.patient_id == pid).limit(1)).one()
    (_, uid, rpid, doc_type, title, *_rest) = row
    aad_version, key_id, wrapped, title_sealed = row[-4:]
    conf, masked = row[11], bool(row[12])
    t = time.perf_counter()
    for _ in range(n):
        records._log_row(actor, pid, AccessAction.READ, "Document 3", AccessContext.TREATMENT,
                         Outcome.SUCCESS, document_id=1)
    log_us = (time.perf_counter() - t) / n * 1e6
    t = time.perf_counter()
    for _ in range(n):
        open_title(records.keys, aad_version, uid, rpid, doc_type, masked, conf, key_id,
                   wrapped, title, title_sealed)
    title_us = (time.perf_counter() - t) / n * 1e6
    return log_us, title_us


def run(backend: str, url: str, args: argparse.Namespace) -> None:
    engine = make_engine(url)
    upgrade(engine)
    records = Records(session_factory(engine), KeyRing({"mk-bench": os.urandom(32)}, "mk-bench"))
    t0 = time.perf_counter()
    rate, sample = build(records, args.patients, args.documents, args.batch)
    print(f"[{backend}] built {args.patients:,} patients / {args.documents:,} documents "
          f"in {time.perf_counter() - t0:.0f} s; ingest {rate:,.0f} documents/s")
    analyze(engine)  # steady state after the bulk load: statistics, no pending checkpoint
    measure(records, sample[-200:], 200)  # warm-up
    result = measure(records, sample, args.rounds)
    for name, values in result.items():
        print(f"[{backend}] {name:4s}  p50 {statistics.median(values):.2f} ms   "
              f"p99 {percentile(values, 99):.2f} ms   (n={len(values)})")
    log_us, title_us = sealing(records, sample)
    per = max(1, args.documents // args.patients)
    print(f"[{backend}] sealing: an access-log row sealed in {log_us:.1f} us, a title opened "
          f"in {title_us:.1f} us (a list of {per} documents: {log_us + per * title_us:.0f} us, "
          f"a read: {log_us:.0f} us)")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ncp-bench-") as tmp:
        if args.backend in ("sqlite", "both"):
            run("sqlite", f"sqlite:///{tmp}/bench.sqlite", args)
        if args.backend in ("postgresql", "both"):
            cluster = PostgresCluster()
            try:
                run("postgresql", cluster.create_database("bench"), args)
            finally:
                cluster.stop()


if __name__ == "__main__":
    main()
