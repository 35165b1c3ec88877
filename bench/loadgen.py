"""A cheap HTTPS load generator for the gateway benchmark: asyncio streams, keep-alive HTTP/1.1.

Why not an HTTP client library in threads: the generator runs in the benchmark process, on the
same two cores as the servers it measures; 16 httpx client threads cost a large share of the
CPU the servers needed (headers models, the GIL between threads). Here one event loop (uvloop
when installed) drives every connection; each request is a pre-built byte string, and an
answer is read by its ``Content-Length``.

Two modes:

* closed loop (:func:`closed_loop`): ``connections`` clients, each sending its requests one
  after the other on its own keep-alive connection (the classic "N concurrent clients");
* open loop (:func:`open_loop`): requests start at a fixed arrival rate whatever the answers
  do, spread over a pool of connections; latency counts from the scheduled start, so a server
  that falls behind shows its queueing (no coordinated omission).

Connection *i* goes to address *i* modulo the number of addresses: with one listening socket
per server process, the connections are spread evenly, as a load balancer in front of the
processes would (see ``bench/gateway.py``).

Every answer is checked by ``check`` (status, headers, body); a failed check is an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["Answer", "Result", "closed_loop", "open_loop", "request_bytes", "run"]


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0


Check = Callable[[Answer], str | None]
Connect = Callable[[int], "_Connection"]


def request_bytes(host: str, path: str, body: bytes, content_type: str) -> bytes:
    """One complete HTTP/1.1 POST (keep-alive is the HTTP/1.1 default)."""
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
    return head + body


async def _read_answer(reader: asyncio.StreamReader) -> Answer:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" not in headers:
        raise RuntimeError("answer without Content-Length (chunked answers are not expected)")
    body = await reader.readexactly(int(headers["content-length"]))
    return Answer(status, headers, body)


class _Connection:
    """One keep-alive HTTPS connection; reopened when the server closes it."""

    def __init__(self, host: str, port: int, ctx: ssl.SSLContext, server_hostname: str) -> None:
        self._where = (host, port, ctx, server_hostname)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        if self._writer is None:
            host, port, ctx, name = self._where
            self._reader, self._writer = await asyncio.open_connection(
                host, port, ssl=ctx, server_hostname=name)

    async def send(self, request: bytes) -> Answer:
        await self.open()
        assert self._reader is not None and self._writer is not None
        self._writer.write(request)
        answer = await _read_answer(self._reader)
        if answer.headers.get("connection", "").lower() == "close":
            await self.close()
        return answer

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await self._writer.wait_closed()
        self._reader = self._writer = None


async def _one(conn: _Connection, request: bytes, check: Check, started: float,
               result: Result) -> None:
    try:
        answer = await conn.send(request)
    except (OSError, asyncio.IncompleteReadError, ssl.SSLError, RuntimeError) as exc:
        result.latencies.append(time.perf_counter() - started)
        result.errors.append(f"{type(exc).__name__}: {exc}")
        await conn.close()
        return
    result.latencies.append(time.perf_counter() - started)
    problem = check(answer)
    if problem is not None:
        result.errors.append(problem)


async def closed_loop(connect: Connect, requests: Sequence[bytes], connections: int,
                      check: Check) -> Result:
    """``connections`` clients; client *i* sends requests *i*, *i + connections*, ... in turn.
    The connections are opened (TLS handshake) before the clock starts: a steady state."""
    result = Result()
    conns = [connect(i) for i in range(connections)]
    await asyncio.gather(*(c.open() for c in conns))

    async def client(conn: _Connection, share: Sequence[bytes]) -> None:
        for request in share:
            await _one(conn, request, check, time.perf_counter(), result)

    t0 = time.perf_counter()
    await asyncio.gather(*(client(c, requests[i::connections]) for i, c in enumerate(conns)))
    result.elapsed = time.perf_counter() - t0
    await asyncio.gather(*(c.close() for c in conns))
    return result


async def open_loop(connect: Connect, requests: Sequence[bytes], connections: int,
                    check: Check, rate: float) -> Result:
    """Request *k* is due at ``t0 + k / rate``; it waits for a free connection of the pool
    when all are busy, and its latency counts from when it was due."""
    result = Result()
    idle: asyncio.Queue[_Connection] = asyncio.Queue()
    pool = [connect(i) for i in range(connections)]
    await asyncio.gather(*(c.open() for c in pool))
    for conn in pool:
        idle.put_nowait(conn)
    tasks: list[asyncio.Task[None]] = []

    async def fire(request: bytes, due: float) -> None:
        conn = await idle.get()
        try:
            await _one(conn, request, check, due, result)
        finally:
            idle.put_nowait(conn)

    t0 = time.perf_counter()
    for k, request in enumerate(requests):
        due = t0 + k / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(request, due)))
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - t0
    while not idle.empty():
        await idle.get_nowait().close()
    return result


def run(addresses: Sequence[tuple[str, int]], ctx: ssl.SSLContext, requests: Sequence[bytes],
        *, connections: int, check: Check, rate: float | None = None,
        server_hostname: str = "localhost") -> Result:
    """Run one load (closed loop, or open loop at ``rate`` requests/s) on a fresh event loop;
    connection *i* goes to ``addresses[i % len(addresses)]``."""

    def connect(i: int) -> _Connection:
        host, port = addresses[i % len(addresses)]
        return _Connection(host, port, ctx, server_hostname)

    load: Awaitable[Result] = (closed_loop(connect, requests, connections, check)
                               if rate is None else
                               open_loop(connect, requests, connections, check, rate))
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(load)  # type: ignore[arg-type]
    return uvloop.run(load)  # type: ignore[arg-type]
