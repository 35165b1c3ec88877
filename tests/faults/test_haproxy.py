"""HAProxy (TCP mode, TLS passed through) in front of two ``ncp serve`` processes on one
PostgreSQL database: gateway and portal requests go through it, one process is killed with
SIGKILL mid-run, and traffic goes on (issue 16). The configuration is deploy/haproxy.cfg with
loopback addresses put in."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from bench import faults
from ncp.testing.server import free_port

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "haproxy.cfg"

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(shutil.which("haproxy") is None,
                                 reason="haproxy not installed (scripts/system-deps.sh)")]


def _config(site: faults.Site, port: int, servers: list[faults.Server]) -> str:
    lines = []
    for line in CONFIG.read_text().splitlines():
        if line.strip().startswith("server "):
            continue
        if line.strip() == "bind :443":
            line = f"    bind 127.0.0.1:{port}"
        line = line.replace("/etc/ncp/pki/ca.pem", str(site.settings.pki_root / "lu" / "ca.pem"))
        line = line.replace("log stdout format raw local0 info", "")
        lines.append(line)
    lines += [f"    server ncp{i} 127.0.0.1:{s.port}" for i, s in enumerate(servers)]
    return "\n".join(lines) + "\n"


def test_two_processes_behind_haproxy_survive_a_kill(tmp_path: Path) -> None:
    with faults.backend_site("postgresql", 0) as (site, _), faults.servers(site, 2) as procs:
        port = free_port()
        cfg = tmp_path / "haproxy.cfg"
        cfg.write_text(_config(site, port, procs))
        subprocess.run(["haproxy", "-c", "-f", str(cfg)], check=True, capture_output=True)
        proxy = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _drive(site, port, procs)
        finally:
            proxy.terminate()
            proxy.wait(10)


def _drive(site: faults.Site, port: int, procs: list[faults.Server]) -> None:
    ctx = faults.client_context(site)
    url = f"https://localhost:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # both servers up in HAProxy's eyes
        try:
            if httpx.get(f"{url}/health", verify=ctx, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    time.sleep(2.5)  # rise 2 x inter 1s
    results: list[tuple[float, str, int]] = []
    stop = threading.Event()
    t0 = time.monotonic()

    def gateway() -> None:
        peer = site.peer()
        while not stop.is_set():
            sent = peer.xcpd(site.patient.extension)
            try:  # a new connection each time: HAProxy balances connections
                r = httpx.post(f"{url}/ws/xcpd", content=sent.body, verify=ctx, timeout=10,
                               headers={"content-type": sent.content_type})
                status = r.status_code if b"AA" in r.content or r.status_code != 200 else 299
            except httpx.HTTPError:
                status = 0
            results.append((time.monotonic() - t0, "gateway", status))

    def portal() -> None:
        while not stop.is_set():
            try:
                status = httpx.get(f"{url}/portal/login", verify=ctx, timeout=10).status_code
            except httpx.HTTPError:
                status = 0
            results.append((time.monotonic() - t0, "portal", status))
            stop.wait(0.1)

    threads = [threading.Thread(target=gateway), threading.Thread(target=portal)]
    for t in threads:
        t.start()
    time.sleep(4)
    killed_at = time.monotonic() - t0
    procs[0].kill()
    time.sleep(6)
    stop.set()
    for t in threads:
        t.join(30)
    before = [r for r in results if r[0] < killed_at]
    after = [r for r in results if r[0] > killed_at + 3]  # HAProxy has marked it down
    around = [r for r in results if killed_at <= r[0] <= killed_at + 3]
    assert {k for _, k, s in before if s == 200} == {"gateway", "portal"}, before
    assert after and all(s == 200 for _, _, s in after), after
    assert {k for _, k, _ in after} == {"gateway", "portal"}
    # only what was in flight on the killed process may fail (one per client at most, plus
    # a health-check interval's worth of new connections: HAProxy retries refused connects)
    assert sum(1 for _, _, s in around if s != 200) <= 4, around
