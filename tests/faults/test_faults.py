"""The fault scenarios of bench/faults.py with small counts (issue 16): real servers killed
with SIGKILL, a real PostgreSQL stopped and started, real races, a real full filesystem.

Each is bounded (counts and timeouts) and uses loopback only. The full figures come from
``python bench/faults.py`` and are quoted in docs/benchmarks.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from bench import faults

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _postgres_or_skip(backend: str) -> None:
    if backend == "postgresql" and not shutil.which("pg_ctl") and not any(
            os.path.exists(f"/usr/lib/postgresql/{v}/bin/pg_ctl") for v in range(12, 19)):
        if os.environ.get("NCP_TEST_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL server binaries are required")
        pytest.skip("no PostgreSQL server binaries")


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_under_load_loses_nothing_and_duplicates_nothing(backend: str) -> None:
    _postgres_or_skip(backend)
    with faults.backend_site(backend, 30) as (site, _):
        got = faults.kill9(site, clients=4, kills=2, timeout=240)
    assert got["kills"] >= 1
    assert got["acknowledged"] == got["eds"] == 30, got
    assert got["stored"] == got["acknowledged"], got
    assert got["duplicates"] == 0 and got["over_dispensed"] == 0, got
    assert got["success_audits"] >= got["stored"], got  # every stored eD has its audit record
    assert got["ed_access_log_rows"] == got["stored"], got  # and one access-log row


@pytest.mark.postgres
def test_database_outage_gets_fast_clear_refusals_and_service_comes_back() -> None:
    _postgres_or_skip("postgresql")
    with faults.backend_site("postgresql", 0) as (site, cluster):
        got = faults.outage(site, cluster, seconds=3, before=2, after=4)
    assert got["ok_before"] > 0 and got["requests_during"] > 0, got
    # a SOAP Receiver fault with 503 (the audit record cannot be written), never a hang or a
    # dropped connection (status 0)
    assert set(got["statuses_during"]) <= {503, 500}, got
    assert got["slowest_during_s"] < 2.0, got
    assert set(got["health_during"]) == {503}, got
    assert got["back_after_s"] is not None and got["back_after_s"] < 5.0, got


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_countries_racing_for_the_full_quantity_one_wins(backend: str) -> None:
    _postgres_or_skip(backend)
    with faults.backend_site(backend, 20) as (site, _):
        got = faults.race(site, rounds=10)
    assert got["exactly_one"] == 10, got
    assert got["inconsistent_states"] == 0 and got["over_dispensed"] == 0, got
    assert "neither" not in got["discard_vs_second"], got


def test_soak_short_memory_and_fds_stay_flat() -> None:
    with faults.backend_site("sqlite", 50) as (site, _):
        got = faults.soak(site, seconds=12, peak_seconds=4)
    assert got["errors"] == 0 and got["requests"] > 0, got
    assert got["fds_end"] <= got["fds_start"] + 8, got
    assert got["rss_mb_end"] <= got["rss_mb_start"] * 1.5 + 20, got
    # the server's own timings were read, and no discovery was refused by the volume limits
    assert got["server_p50_ms"] > 0 and got["server_outcomes"].get("ITI-55 success"), got
    assert not any(k.endswith(("refused", "error")) for k in got["server_outcomes"]), got


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_disk_full_refuses_cleanly_keeps_the_file_sound_and_recovers() -> None:
    with faults.backend_site("sqlite", 10) as (site, _):
        try:
            got = faults.diskfull(site, attempts=5)
        except (PermissionError, subprocess.CalledProcessError) as exc:  # no CAP_SYS_ADMIN
            pytest.skip(f"cannot mount a tmpfs: {exc}")
    assert got["full"]["acknowledged"] == 0, got
    assert set(got["full"]["statuses"]) <= {503, 500}, got
    assert got["full"]["slowest_s"] < 2.0, got
    assert got["integrity_when_full"] == "ok" and got["integrity_after"] == "ok", got
    assert got["recovered"]["acknowledged"] == got["recovered"]["of"], got
    assert got["stored"] == got["recovered"]["of"], got
