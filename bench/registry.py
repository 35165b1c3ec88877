"""Benchmark of the population feed (``ncp registry import-insured``), SQLite and PostgreSQL.

Writes a register extract of N persons (CSV), applies it to an empty database as the command
does (check pass, then chunks of 5,000 in their own transactions), then the same extract again
(idempotence: nothing changes), then incremental extracts (1 % changed, 0.1 % deceased; 1 %
new). Prints the time, the rate and the resident memory sampled along the way (flat = the feed
streams).

    .venv/bin/python bench/registry.py                       # 1,000,000 persons, both backends
    .venv/bin/python bench/registry.py --persons 100000 --backend sqlite
    .venv/bin/python bench/registry.py --persons 100000 --services 100000   # + services feed

With ``--services N`` the insurer's services feed (``ncp registry import-services``) follows:
N reimbursed acts, five per person for the first N/5 persons (one summary document each), then
the same feed again (idempotent: every summary is decrypted and compared, nothing written), then
a new period (one more act per person: a new version of each summary).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ncp.registry.insured import FIELDS, BadLine, InsuredPerson, read_insured
from ncp.registry.services import FIELDS as SERVICE_FIELDS
from ncp.registry.services import ServiceLine, read_services
from ncp.store import matricule
from ncp.store.crypto import KeyRing
from ncp.store.db import make_engine, session_factory, upgrade
from ncp.store.dsp import Records
from ncp.store.population import Population, SyncCounts
from ncp.store.services import ServiceCounts, ServicesSummaries
from ncp.testing.postgres import PostgresCluster


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def write_extract(path: Path, persons: int, *, changed: int = 0, deceased: int = 0,
                  offset_new: int = 0) -> None:
    born = dt.date(1930, 1, 1)
    with path.open("w", encoding="utf-8") as f:
        f.write(",".join(FIELDS) + "\n")
        for n in range(persons):
            birth = born + dt.timedelta(days=(n + offset_new) // 1000)
            number = matricule.make(birth, (n + offset_new) % 1000)
            family = f"Name{n}" + ("-X" if n < changed else "")
            death = "2026-11-30" if n < deceased else ""
            f.write(f"{number},Given,{family},{birth.isoformat()},{'MF'[n % 2]},"
                    f"{n % 200} rue Principale,{1000 + n % 8000},Luxembourg,LU,{death}\n")


def apply(engine_url: str, path: Path) -> tuple[float, SyncCounts, list[float]]:
    engine = make_engine(engine_url)
    population = Population(session_factory(engine))
    total, samples = SyncCounts(), []
    started = time.perf_counter()
    for item in read_insured(path):  # the check pass, as the command makes it
        if isinstance(item, BadLine):
            raise SystemExit(f"bad line in the generated extract: {item}")
    good = (i for i in read_insured(path) if isinstance(i, InsuredPerson))
    chunks = 0
    while batch := list(islice(good, 5000)):
        total.add(population.apply(batch))
        chunks += 1
        if chunks % 20 == 0:
            samples.append(rss_mib())
    engine.dispose()
    return time.perf_counter() - started, total, samples


def write_services(path: Path, lines: int, *, per_person: int = 5, period: int = 0) -> None:
    born = dt.date(1930, 1, 1)
    with path.open("w", encoding="utf-8") as f:
        f.write(",".join(SERVICE_FIELDS) + "\n")
        for n in range(lines):
            person = n // per_person
            birth = born + dt.timedelta(days=person // 1000)
            number = matricule.make(birth, person % 1000)
            day = dt.date(2026, 1 + period * 6 + n % per_person, 1 + n % 28)
            f.write(f"{number},{day},C{n % 9 + 1},Consultation {n % 9 + 1},Dr Bench,"
                    f"CNS-{period}-{n:09d},{'service' if n % 3 else 'examination'}\n")


def apply_services(engine_url: str, keys: KeyRing, path: Path
                   ) -> tuple[float, ServiceCounts, list[float]]:
    engine = make_engine(engine_url)
    summaries = ServicesSummaries(Records(session_factory(engine), keys))
    total, samples = ServiceCounts(), []
    started = time.perf_counter()
    for item in read_services(path):  # the check pass: lines, then known matricules
        if isinstance(item, BadLine):
            raise SystemExit(f"bad line in the generated feed: {item}")
    checked: list[ServiceLine] = []
    for item in read_services(path):
        checked.append(item)  # type: ignore[arg-type]
        if len(checked) == 5000:
            summaries.known([x.matricule for x in checked])
            checked = []
    good = (i for i in read_services(path) if isinstance(i, ServiceLine))
    chunks = 0
    while batch := list(islice(good, 5000)):
        total.add(summaries.apply(batch))
        chunks += 1
        if chunks % 4 == 0:
            samples.append(rss_mib())
    engine.dispose()
    return time.perf_counter() - started, total, samples


def run_services(name: str, url: str, services: int, folder: Path) -> None:
    keys = KeyRing({"mk-bench": os.urandom(32)}, "mk-bench")
    feed, later = folder / "services.csv", folder / "services-later.csv"
    write_services(feed, services)
    write_services(later, services // 5, per_person=1, period=1)
    for label, path in (("services: first feed", feed),
                        ("services: same feed (idempotent)", feed),
                        ("services: new period", later)):
        seconds, counts, samples = apply_services(url, keys, path)
        lines = sum(1 for _ in path.open()) - 1
        mem = (f"RSS {min(samples):.0f}-{max(samples):.0f} MiB" if samples
               else f"RSS {rss_mib():.0f} MiB")
        print(f"{name:10} {label:32} {lines:>9,} lines {seconds:8.1f} s "
              f"{lines / seconds:>9,.0f} lines/s  {mem}  [{counts}]", flush=True)


def run(name: str, url: str, persons: int, folder: Path, services: int = 0) -> None:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    full = folder / "full.csv"
    write_extract(full, persons)
    delta = folder / "delta.csv"
    write_extract(delta, persons // 100, changed=persons // 100, deceased=persons // 1000)
    extra = folder / "new.csv"
    write_extract(extra, persons // 100, offset_new=persons)
    for label, path in (("initial load", full), ("same extract again (idempotent)", full),
                        ("incremental (changes, deaths)", delta),
                        ("incremental (new persons)", extra)):
        seconds, counts, samples = apply(url, path)
        lines = sum(1 for _ in path.open()) - 1
        mem = (f"RSS {min(samples):.0f}-{max(samples):.0f} MiB" if samples
               else f"RSS {rss_mib():.0f} MiB")
        print(f"{name:10} {label:32} {lines:>9,} lines {seconds:8.1f} s "
              f"{lines / seconds:>9,.0f} lines/s  {mem}  [{counts}]", flush=True)
    if services:
        run_services(name, url, min(services, persons * 5), folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--services", type=int, default=0,
                        help="then the services feed with this many acts (5 per person)")
    args = parser.parse_args()
    print(f"population feed, {args.persons:,} persons, "
          f"max RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    with tempfile.TemporaryDirectory(prefix="ncp-bench-registry-") as tmp:
        folder = Path(tmp)
        if args.backend in ("sqlite", "both"):
            run("SQLite", f"sqlite:///{folder / 'ncp.sqlite'}", args.persons, folder,
                args.services)
        if args.backend in ("postgresql", "both"):
            cluster = PostgresCluster()
            try:
                run("PostgreSQL", cluster.create_database("bench_registry"), args.persons,
                    folder, args.services)
            finally:
                cluster.stop()


if __name__ == "__main__":
    main()
