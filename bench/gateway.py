"""Benchmark of the responding gateway: full XCA retrieves of a Patient Summary over HTTPS.

``python bench/gateway.py [--clients 16] [--requests 960] [--workers 2]``

Each request is what a country B gateway sends: a signed SOAP 1.2 message (WS-Security
timestamp and signature over Body and addressing headers) carrying fresh HCP and TRC assertions
(fresh ids: the replay cache is in the database), over mutual TLS on loopback. The server
verifies the TLS client, the message signature, both assertions (chain to the Belgian anchor,
every rule, replay), checks consent, reads and decrypts through the access policy (with its
access-log row), serves the cached pivot (transcoded once, before the run), signs the answer,
sends it as MTOM, and writes the ATNA audit record.

Requests are signed before the run starts (client-side signing is not the server's cost); the
clients are threads of this process with keep-alive connections. The "crypto floor" is measured
in the same run, in this process, on one core: the XML signature work of one such request and
its answer (verify the message signature, validate both assertions, sign the response) without
HTTP, TLS, store or audit.

Printed: throughput, p50/p99 latency, errors, and the crypto floor.
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
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
from ncp.store.keys import KeyRingSource
from ncp.store.records import Records
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


def _serve(settings: Settings, sock: socket.socket) -> None:
    """One server process (forked): the app over TLS on the shared listening socket."""
    import uvicorn

    from ncp.app import create_app
    from ncp.server import uvicorn_config

    config = uvicorn_config(create_app(settings), settings, log_level="warning",
                            access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def _requests(peer: object, patient: PatientId, uid: str, n: int) -> list[tuple[bytes, str]]:
    out = []
    for _ in range(n):
        sent = peer.retrieve(patient, [uid])  # type: ignore[attr-defined]
        out.append((sent.body, sent.content_type))
    return out


def _client(url: str, ctx: ssl.SSLContext, work: list[tuple[bytes, str]],
            latencies: list[float], errors: list[str]) -> None:
    with httpx.Client(verify=ctx, timeout=60) as client:
        for body, ct in work:
            t = time.perf_counter()
            r = client.post(url, content=body, headers={"content-type": ct})
            latencies.append(time.perf_counter() - t)
            if r.status_code != 200 or not r.headers["content-type"].startswith(
                    "multipart/related") or b"RegistryError" in r.content:
                errors.append(f"{r.status_code} {r.content[:200]!r}")


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
    args = parser.parse_args()
    cluster = None
    database_url = ""
    if args.backend == "postgresql":
        from ncp.testing.postgres import PostgresCluster

        cluster = PostgresCluster()
        database_url = cluster.create_database("bench")
    try:
        _bench(args, database_url)
    finally:
        if cluster is not None:
            cluster.stop()


def _bench(args: argparse.Namespace, database_url: str) -> None:
    from tests.gateway.peer import Peer

    folder = Path(tempfile.mkdtemp(prefix="ncp-bench-gw-"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    settings, uid, patient = _prepare(folder, port, database_url)
    peer = Peer(settings.pki_root, "BE")
    url = f"https://localhost:{port}/ws/xca"

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
    work = _requests(peer, patient, uid, args.requests)
    warmup = _requests(peer, patient, uid, 2 * args.clients)

    pids = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            try:
                _serve(settings, sock)
            finally:
                os._exit(0)
        pids.append(pid)
    ctx = ssl.create_default_context(cafile=str(settings.pki_root / "lu" / "ca.pem"))
    ctx.load_cert_chain(str(peer.tls_cert), str(peer.tls_key))
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"https://localhost:{port}/health", verify=ctx).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the server did not start")
        time.sleep(0.2)
    try:
        warm_lat: list[float] = []
        warm_err: list[str] = []
        _run(url, ctx, warmup, args.clients, warm_lat, warm_err)
        latencies: list[float] = []
        errors: list[str] = []
        t0 = time.perf_counter()
        _run(url, ctx, work, args.clients, latencies, errors)
        elapsed = time.perf_counter() - t0
    finally:
        for pid in pids:
            os.kill(pid, 15)
        for pid in pids:
            os.waitpid(pid, 0)
    floor = _crypto_floor(settings, peer, patient, uid, pivot)
    lat = sorted(latencies)
    p50 = statistics.median(lat) * 1000
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
    print(f"XCA retrieve of a Patient Summary ({len(pivot)} bytes pivot, MTOM, signed), "
          f"HTTPS loopback, {args.clients} clients, {args.workers} server processes, "
          f"{args.backend}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"  requests {len(lat)}  errors {len(errors)}  in {elapsed:.2f} s")
    print(f"  throughput {len(lat) / elapsed:.1f} retrieves/s")
    print(f"  latency p50 {p50:.1f} ms  p99 {p99:.1f} ms")
    print(f"  crypto floor (verify message + HCP + TRC signatures, sign answer): "
          f"{floor:.2f} ms/request = {1000 / floor:.0f} requests/s per core")
    if errors:
        print("  first error:", errors[0])


def _run(url: str, ctx: ssl.SSLContext, work: list[tuple[bytes, str]], clients: int,
         latencies: list[float], errors: list[str]) -> None:
    shares = [work[i::clients] for i in range(clients)]
    threads = [threading.Thread(target=_client, args=(url, ctx, share, latencies, errors))
               for share in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
