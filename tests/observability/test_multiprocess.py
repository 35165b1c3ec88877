"""Metrics of several processes are summed when any one is scraped (multiprocess mode)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

_COUNT = """
import sys
from pathlib import Path
from ncp.observability.metrics import configure, metrics
configure(Path(sys.argv[1]))
m = metrics()
for _ in range(int(sys.argv[2])):
    m.exchanges.labels("ITI-41", "BE", "success", "").inc()
m.exchange_seconds.labels("ITI-41").observe(0.02)
"""

_SCRAPE = """
import sys
from pathlib import Path
from ncp.observability.metrics import configure, render
configure(Path(sys.argv[1]))
sys.stdout.write(render().decode())
"""


def _run(code: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return subprocess.run([sys.executable, "-c", code, *args], env=env, check=True,
                          capture_output=True, text=True, timeout=60).stdout


def test_counters_of_two_processes_are_summed_by_a_third(tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    _run(_COUNT, str(folder), "3")
    _run(_COUNT, str(folder), "4")
    out = _run(_SCRAPE, str(folder))
    got = {(s.name, tuple(sorted(s.labels.items()))): s.value
           for f in text_string_to_metric_families(out) for s in f.samples}
    key = ("ncp_exchanges_total", (("error_code", ""), ("outcome", "success"),
                                   ("peer_country", "BE"), ("transaction", "ITI-41")))
    assert got[key] == 7
    assert got[("ncp_exchange_duration_seconds_count", (("transaction", "ITI-41"),))] == 2
    assert len(list(folder.glob("counter_*.db"))) == 2  # one file per process
