"""Benchmark: transcoding a national Patient Summary to the pivot, and validating a pivot PS.

Targets (issue 4): median transcoding time of a PS with at least 60 coded elements <= 5 ms;
median validation time of a pivot PS with the compiled schematron cached <= 2 s.

Run: ``.venv/bin/python bench/transform.py [--runs N] [--validations N]``. It builds a fresh
SQLite database with the terminology loaded (not timed) in a temporary folder, and keeps the
compiled schematron under ``<var_dir>/cache`` (compiled once, then reused).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from ncp.cda.catalogue import national_code
from ncp.cda.demo import DemoPatient, demo_patient_summary
from ncp.cda.kinds import DocumentKind
from ncp.cda.model import Allergy, Device, Problem, Procedure
from ncp.cda.national import build_patient_summary
from ncp.settings import get_settings
from ncp.store.db import make_engine, session_factory, upgrade
from ncp.terminology.loader import load_all
from ncp.terminology.service import DbTerminology
from ncp.transform import to_pivot
from ncp.validation.engine import load_stylesheet
from ncp.validation.specs import specs_dir
from ncp.validation.validator import schematron_for, validate_document


def rich_summary() -> bytes:
    """A national PS of a multimorbid patient: well over 60 coded elements."""
    patient = DemoPatient("1948060612345", "Robert", "Thill", dt.date(1948, 6, 6), "M",
                          "Luxembourg")
    data = demo_patient_summary(patient)
    from ncp.cda import demo

    when = data.header.effective_time.date()
    data.medications = [demo._medication(drug, f"B.MED.{n}", when - dt.timedelta(days=400 + n))
                        for n, drug in enumerate(list(demo._DRUGS.values())[:8], start=1)]
    data.allergies = [
        Allergy(f"B.ALG.{n}", national_code("LU-TYPE-ALLERGIE", kind),
                national_code(system, agent), national_code("LU-REACTION", reaction),
                national_code("LU-SEVERITE", severity), when - dt.timedelta(days=3000))
        for n, (kind, system, agent, reaction, severity) in enumerate(demo._ALLERGIES, start=1)
    ]
    data.problems = [Problem(f"B.PRB.{n}", national_code("ICD-10 WHO", code),
                             when - dt.timedelta(days=1000 * n),
                             national_code("LU-STATUT-PROBLEME", "ACT"))
                     for n, code in enumerate(["I10", "E11.9", "I48.9", "N18.3", "M10.9",
                                               "E78.0"], start=1)]
    data.procedures = [Procedure(f"B.PRC.{n}", national_code("LU-ACTE", code),
                                 when - dt.timedelta(days=2000 * n))
                       for n, code in enumerate(["C04", "C08", "C11"], start=1)]
    data.devices = [Device(f"B.DEV.{n}", national_code("LU-DISPOSITIF", code),
                           when - dt.timedelta(days=900 * n))
                    for n, code in enumerate(["D01", "D03"], start=1)]
    return build_patient_summary(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=300, help="transcoding runs")
    parser.add_argument("--validations", type=int, default=5, help="validation runs")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ncp-bench-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        upgrade(engine)
        started = time.perf_counter()
        load_all(session_factory(engine), specs_dir())
        print(f"terminology load (not timed below): {time.perf_counter() - started:.1f} s")
        terms = DbTerminology(session_factory(engine))
        national = rich_summary()
        result = to_pivot(national, kind=DocumentKind.PATIENT_SUMMARY, terminology=terms)
        print(f"PS: {len(national)} bytes, {result.coded_elements} coded elements, "
              f"{result.transcoded} transcoded, {len(result.warnings)} warnings")
        timings = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            to_pivot(national, kind=DocumentKind.PATIENT_SUMMARY, terminology=terms)
            timings.append(time.perf_counter() - t0)
        median = statistics.median(timings) * 1000
        print(f"transcode national PS -> pivot: median {median:.2f} ms "
              f"(min {min(timings) * 1000:.2f}, p90 "
              f"{statistics.quantiles(timings, n=10)[-1] * 1000:.2f} ms, {args.runs} runs; "
              "target <= 5 ms)")
        engine.dispose()

    var_dir = get_settings().var_dir
    started = time.perf_counter()
    compiled = schematron_for(DocumentKind.PATIENT_SUMMARY, var_dir=var_dir)
    print(f"schematron compile or cache hit: {time.perf_counter() - started:.2f} s "
          f"({compiled.stylesheet.stat().st_size / 1e6:.1f} MB stylesheet)")
    started = time.perf_counter()
    load_stylesheet(compiled.stylesheet)
    print(f"stylesheet load into Saxon (once per process): {time.perf_counter() - started:.1f} s")
    runs = []
    for _ in range(args.validations):
        t0 = time.perf_counter()
        report = validate_document(result.document, var_dir=var_dir)
        runs.append(time.perf_counter() - t0)
    print(f"validate pivot PS (XSD + schematron, cached): median {statistics.median(runs):.2f} s "
          f"(min {min(runs):.2f} s, {args.validations} runs; target <= 2 s); "
          f"schematron errors: {len(report.schematron_errors)}")


if __name__ == "__main__":
    main()
