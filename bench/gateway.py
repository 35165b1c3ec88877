"""Benchmark of the responding gateway: full XCA retrieves of a Patient Summary over HTTPS.

``python bench/gateway.py [--clients 16] [--requests 960] [--workers 2] [--backend B]
[--rate R] [--http httptools|h11] [--listen per-process|shared]``

Each request is what a country B gateway sends: a signed SOAP 1.2 message (WS-Security
timestamp and signature over Body and addressing headers) carrying fresh HCP and TRC assertions
(fresh ids: the replay cache is in the database), over mutual TLS on loopback. The server
verifies the TLS client, the message signature, both assertions (chain to the Belgian anchor,
every rule, replay), checks consent, reads and decrypts through the access policy (with its
access-log row), serves the cached pivot (transcoded once, before the run), signs the answer,
sends it as MTOM, and writes the ATNA audit record.

Requests are signed and turned into HTTP bytes before the run starts (client-side work is not
the server's cost). The clients are one asyncio event loop in this process (``loadgen.py``):
``--clients`` keep-alive TLS connections, each sending its requests one after the other (closed
loop, the main figure); every answer is checked (200, ``multipart/related``, no
``RegistryError``). ``--rate R`` adds an open-loop run at R requests/s over the same number of
connections, latency counted from each request's scheduled start. Each server process has its
own listening socket and the connections are spread evenly over them, as a load balancer in
front of the processes would (``--listen shared``: one socket, the kernel picks the process).
The "crypto floor" is measured in the same run, in this process, on one core: the XML
signature work of one such request and its answer (verify the message signature, validate both
assertions, sign the response) without HTTP, TLS, store or audit.

Printed: throughput, p50/p99 latency, errors, the CPU time the server processes and the load
generator spent per request (``/proc``, Linux), and the crypto floor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen  # bench/loadgen.py, beside this script

from ncp import soap
from ncp.demo import PATIENTS, seed
from ncp.gateway import build_gateway
from ncp.ihe import oids
from ncp.ihe.identifiers import PatientId
from ncp.ihe.registry import ITI_39
from ncp.ihe.xca import retrieve
from ncp.security import InMemoryReplayCache, MessageSecurity
from ncp.security.permissions import Transaction
from ncp.security.pki import init_pki
from ncp.security.validation import AssertionValidator
from ncp.settings import Settings
from ncp.store.db import make_engine, session_factory, upgrade
from ncp.store.dsp import Records
from ncp.store.keys import KeyRingSource
from ncp.store.vocabulary import DocumentType
from ncp.terminology.loader import load_all

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT.parent / "shared" / "specs"


def _prepare(folder: Path, port: int, database_url: str = "") -> tuple[Settings, str, PatientId]:
    """PKI, database (schema, terminology, demo data), and the PS to retrieve."""
    init_pki(folder / "pki", ("LU", "BE"))
    settings = Settings(var_dir=folder, pki_dir=folder / "pki", port=port,
                        database_url=database_url)
    engine = make_engine(settings.sqlalchemy_url)
    upgrade(engine)
    load_all(session_factory(engine), SPECS)
    records = Records(session_factory(engine),
                      KeyRingSource.from_file(settings.master_keys_path, create=True))
    seed(records)
    demo = PATIENTS[0].patient
    gp = records.professional_actor(records.professional_id("LU-HP-100001"))
    ps = records.list_documents(gp, records.patient_id(demo.matricule),
                                doc_type=DocumentType.PATIENT_SUMMARY)[0]
    engine.dispose()
    return settings, ps.unique_id, PatientId(extension=demo.matricule,
                                             root=oids.LU_PATIENT_ID.value)


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    return sock


def _serve(settings: Settings, sock: socket.socket, http: str) -> None:
    """One server process (forked): the app over TLS on its listening socket."""
    import uvicorn

    from ncp import server
    from ncp.app import create_app

    overrides = {"http": server.PeerCertH11Protocol} if http == "h11" else {}
    config = server.uvicorn_config(create_app(settings), settings, log_level="warning",
                                   access_log=False, **overrides)
    uvicorn.Server(config).run(sockets=[sock])


def _requests(peer: object, patient: PatientId, uid: str, n: int) -> list[tuple[bytes, str]]:
    out = []
    for _ in range(n):
        sent = peer.retrieve(patient, [uid])  # type: ignore[attr-defined]
        out.append((sent.body, sent.content_type))
    return out


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()  # fields from 3 (state) on


def _cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU time of processes ``pids`` so far (Linux ``/proc``; None elsewhere)."""
    try:
        total = 0
        for pid in pids:
            fields = _stat(pid)
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    except OSError:
        return None
    return total / os.sysconf("SC_CLK_TCK")


def _database_pids(cluster: object | None) -> list[int]:
    """The throwaway PostgreSQL cluster's postmaster and its children (backends included)."""
    if cluster is None:
        return []
    try:
        postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])  # type: ignore[attr-defined]
        children = [int(p) for p in os.listdir("/proc") if p.isdigit()
                    and _safe_ppid(int(p)) == postmaster]
    except (OSError, ValueError):
        return []
    return [postmaster, *children]


def _safe_ppid(pid: int) -> int | None:
    try:
        return int(_stat(pid)[1])
    except (OSError, ValueError, IndexError):
        return None


def _check(answer: loadgen.Answer) -> str | None:
    """A retrieve answered as it should be: 200, MTOM, no RegistryError."""
    if answer.status != 200 or not answer.headers.get("content-type", "").startswith(
            "multipart/related") or b"RegistryError" in answer.body:
        return f"{answer.status} {answer.body[:200]!r}"
    return None


def _crypto_floor(settings: Settings, peer: object, patient: PatientId, uid: str,
                  pivot: bytes, samples: int = 60) -> float:
    """Median ms of the signature work of one request and its answer, on one core."""
    security = MessageSecurity.from_settings(settings, replay=InMemoryReplayCache())
    validator: AssertionValidator = security.validator
    times = []
    for body, ct in _requests(peer, patient, uid, samples):
        msg = soap.parse_request(body, ct, max_bytes=10**8)
        response = retrieve.build_response(retrieve.RetrieveResponse.of(documents=(
            retrieve.DocumentResponse(repository_unique_id="1", document_unique_id=uid,
                                      mime_type="text/xml", document=pivot),)))
        envelope = soap.build_envelope(response, action=ITI_39.response_action,
                                       relates_to=msg.message_id)
        now = dt.datetime.now(dt.UTC)
        t = time.perf_counter()
        verified = security.verify_request(msg.envelope, peer_country="BE", now=now)
        validator.validate(verified.assertions, transaction=Transaction.XCA_RETRIEVE_PS,
                           patient_id=patient,
                           peer_country="BE", now=now)
        security.sign_response(envelope, now=now)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=960)
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rate", type=float, default=None,
                        help="also run open loop at this many requests/s (same requests count)")
    parser.add_argument("--http", choices=["httptools", "h11"], default="httptools",
                        help="server HTTP protocol (httptools is what `ncp serve` uses)")
    parser.add_argument("--listen", choices=["per-process", "shared"], default="per-process",
                        help="one listening socket per server process, connections spread "
                             "evenly (default), or one socket shared by all (the kernel "
                             "decides which process accepts each connection)")
    args = parser.parse_args()
    cluster = None
    database_url = ""
    if args.backend == "postgresql":
        from ncp.testing.postgres import PostgresCluster

        cluster = PostgresCluster()
        database_url = cluster.create_database("bench")
    try:
        _bench(args, database_url, cluster)
    finally:
        if cluster is not None:
            cluster.stop()


def _bench(args: argparse.Namespace, database_url: str, cluster: object | None) -> None:
    from tests.gateway.peer import Peer

    folder = Path(tempfile.mkdtemp(prefix="ncp-bench-gw-"))
    # One listening socket per server process, the clients' connections spread evenly over
    # them (what a load balancer in front of the processes does). With one shared socket the
    # kernel decides, and 16 long-lived connections ended up 11 on one process and 5 on the
    # other: the busier process set the pace and the tail (--listen shared shows it).
    socks = ([_listening_socket()] if args.listen == "shared" else
             [_listening_socket() for _ in range(args.workers)])
    ports = [s.getsockname()[1] for s in socks]
    port = ports[0]
    settings, uid, patient = _prepare(folder, port, database_url)
    peer = Peer(settings.pki_root, "BE")

    # Transcode once (the cache is what the run measures), in this process.
    engine = make_engine(settings.sqlalchemy_url)
    records = Records(session_factory(engine), KeyRingSource.from_file(settings.master_keys_path))
    gateway = build_gateway(settings, engine, records)
    warm = peer.retrieve(patient, [uid])
    answer = gateway.handle("xca", warm.body, warm.content_type,
                            peer_certificate_pem=peer.tls_pem)
    msg = soap.parse_response(answer.body, answer.content_type, max_bytes=10**8)
    pivot = retrieve.parse_response(msg.body_element, msg.attachments).documents[0].document
    engine.dispose()

    print(f"preparing {args.requests} signed requests (fresh HCP+TRC each)...", flush=True)

    def http_requests(n: int) -> list[bytes]:
        return [loadgen.request_bytes("localhost", "/ws/xca", body, ct)
                for body, ct in _requests(peer, patient, uid, n)]

    work = http_requests(args.requests)
    warmup = http_requests(2 * args.clients)
    open_work = http_requests(args.requests) if args.rate else []

    pids = []
    for n in range(args.workers):
        pid = os.fork()
        if pid == 0:
            try:
                _serve(settings, socks[n % len(socks)], args.http)
            finally:
                os._exit(0)
        pids.append(pid)
    ctx = ssl.create_default_context(cafile=str(settings.pki_root / "lu" / "ca.pem"))
    ctx.load_cert_chain(str(peer.tls_cert), str(peer.tls_key))
    deadline = time.monotonic() + 60
    waiting = list(ports)
    while waiting:
        try:
            if httpx.get(f"https://localhost:{waiting[0]}/health",
                         verify=ctx).status_code == 200:
                waiting.pop(0)
                continue
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the server did not start")
        time.sleep(0.2)

    def load(requests: list[bytes], rate: float | None = None) -> loadgen.Result:
        return loadgen.run([("127.0.0.1", p) for p in ports], ctx, requests,
                           connections=args.clients, check=_check, rate=rate)

    try:
        load(warmup)
        db_pids = _database_pids(cluster)
        server_cpu, client_cpu = _cpu_seconds(pids), time.process_time()
        db_cpu = _cpu_seconds(db_pids) if db_pids else None
        closed = load(work)
        client_cpu = time.process_time() - client_cpu
        after = _cpu_seconds(pids)
        server_cpu = after - server_cpu if after is not None and server_cpu is not None else None
        db_after = _cpu_seconds(db_pids) if db_pids else None
        db_cpu = db_after - db_cpu if db_after is not None and db_cpu is not None else None
        opened = load(open_work, args.rate) if args.rate else None
    finally:
        for pid in pids:
            os.kill(pid, 15)
        for pid in pids:
            os.waitpid(pid, 0)
    floor = _crypto_floor(settings, peer, patient, uid, pivot)
    print(f"XCA retrieve of a Patient Summary ({len(pivot)} bytes pivot, MTOM, signed), "
          f"HTTPS loopback ({args.http}), {args.clients} clients, {args.workers} server "
          f"processes ({args.listen} listening socket), {args.backend}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    _report(closed)
    n = len(closed.latencies)
    cpu = [f"load generator {client_cpu * 1000 / n:.2f} ms"]
    if server_cpu is not None:
        cpu.insert(0, f"servers {server_cpu * 1000 / n:.2f} ms")
    if db_cpu is not None:
        cpu.append(f"PostgreSQL {db_cpu * 1000 / n:.2f} ms")
    print("  CPU per request: " + ", ".join(cpu))
    if opened is not None:
        print(f"  open loop at {args.rate:g} requests/s over {args.clients} connections "
              "(latency from the scheduled start):")
        _report(opened)
    print(f"  crypto floor (verify message + HCP + TRC signatures, sign answer): "
          f"{floor:.2f} ms/request = {1000 / floor:.0f} requests/s per core")


def _report(result: loadgen.Result) -> None:
    lat = sorted(result.latencies)
    p50 = statistics.median(lat) * 1000
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
    print(f"  requests {len(lat)}  errors {len(result.errors)}  in {result.elapsed:.2f} s")
    print(f"  throughput {len(lat) / result.elapsed:.1f} retrieves/s")
    print(f"  latency p50 {p50:.1f} ms  p99 {p99:.1f} ms")
    if result.errors:
        print("  first error:", result.errors[0])


if __name__ == "__main__":
    main()
