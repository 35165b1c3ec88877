"""Request bodies counted as they arrive (issue 14 item 2), against the real server over TLS.

Each attack streams a 300 MB chunked body (no Content-Length) from a raw TLS socket and stops
as soon as the server answers; the test measures how much the server let in before answering
and how much the process (the server runs in it) grew.
"""

from __future__ import annotations

import select
import socket
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ncp import demo
from ncp.portal.content import MAX_UPLOAD_BYTES
from ncp.request_limits import FILE_SPOOL_BYTES
from tests.api.test_api import token_for
from tests.portal.live import Live, csrf

JEAN, MARIA = demo.PATIENTS[0].patient.matricule, demo.PATIENTS[1].patient.matricule
MiB = 1024 * 1024
ATTACK_BYTES = 300 * MiB


def rss() -> int:
    """Resident memory of this process (the server's threads included), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def chunks(head: bytes = b"", total: int = ATTACK_BYTES, tail: bytes = b"") -> Iterator[bytes]:
    yield head
    block = b"A" * MiB
    for _ in range(total // MiB):
        yield block
    yield tail


def stream(live: Live, path: str, headers: dict[str, str], body: Iterator[bytes], *,
           ctx: ssl.SSLContext | None = None) -> tuple[int, int, bytes]:
    """POST ``body`` chunked; return (status, bytes sent before the answer came, answer)."""
    ctx = ctx or live.tls()
    raw = socket.create_connection(("127.0.0.1", live.settings.port), timeout=30)
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        head = [f"POST {path} HTTP/1.1", "Host: localhost", "Transfer-Encoding: chunked",
                *(f"{k}: {v}" for k, v in headers.items()), "", ""]
        s.sendall("\r\n".join(head).encode())
        sent = 0
        answer = b""
        for piece in body:
            if s.pending() or select.select([s], [], [], 0)[0]:
                # readable: the answer, or only TLS records such as session tickets
                s.settimeout(0.05)
                try:
                    answer = s.recv(65536)
                except (TimeoutError, ssl.SSLWantReadError):
                    answer = b""
                if answer:
                    break  # the server has answered
            s.settimeout(5)
            try:
                s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if piece else b"")
            except (TimeoutError, BrokenPipeError, ConnectionResetError, ssl.SSLError):
                break  # the server stopped reading
            sent += len(piece)
        s.settimeout(30)
        while b"\r\n\r\n" not in answer:
            data = s.recv(65536)
            if not data:
                break
            answer += data
    status = int(answer.split(b" ", 2)[1]) if answer else 0
    return status, sent, answer


def test_an_anonymous_chunked_flood_is_401_before_its_body_is_read(live: Live) -> None:
    before = rss()
    status, sent, answer = stream(live, f"/api/v1/patients/{JEAN}/documents",
                                  {"Content-Type": "application/json"},
                                  chunks(b'{"doc_type": "patient-summary", "content_base64": "'))
    assert status == 401 and b"application/problem+json" in answer
    assert sent < 32 * MiB, sent  # answered long before the 300 MB
    assert rss() - before < 64 * MiB


def test_an_authenticated_chunked_flood_is_413_at_the_budget(live: Live) -> None:
    token = token_for(live, "lu-hp-100001")
    before = rss()
    status, sent, _ = stream(live, f"/api/v1/patients/{MARIA}/documents",
                             {"Content-Type": "application/json",
                              "Authorization": f"Bearer {token}"},
                             chunks(b'{"doc_type": "patient-summary", "content_base64": "'))
    assert status == 413
    assert sent < 64 * MiB, sent
    assert rss() - before < 96 * MiB


def test_login_takes_plain_small_forms_only(live: Live) -> None:
    boundary = "b0undary"
    status, sent, _ = stream(live, "/portal/login",
                             {"Content-Type": f"multipart/form-data; boundary={boundary}"},
                             chunks(f'--{boundary}\r\nContent-Disposition: form-data; '
                                    f'name="file"; filename="x.bin"\r\n\r\n'.encode()))
    assert status == 415 and sent < 32 * MiB
    status, sent, _ = stream(live, "/portal/login",
                             {"Content-Type": "application/x-www-form-urlencoded"},
                             chunks(b"login=x&password="))
    assert status == 413 and sent < 32 * MiB
    # An ordinary login still works.
    assert live.login(JEAN).get("/portal/me/space").status_code == 200


def test_a_patients_chunked_upload_stops_at_the_budget_and_nothing_is_spooled(
        live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    spooled: list[object] = []
    real = tempfile.TemporaryFile

    def watched(*args, **kwargs):  # type: ignore[no-untyped-def]
        spooled.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", watched)
    patient = live.login(JEAN)
    token = csrf(patient.get("/portal/me/space").text)
    cookie = "; ".join(f"{k}={v}" for k, v in patient.cookies.items())
    boundary = "b0undary"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="scan.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n').encode()
    before = rss()
    status, sent, _ = stream(live, "/portal/me/space",
                             {"Content-Type": f"multipart/form-data; boundary={boundary}",
                              "Cookie": cookie}, chunks(head))
    assert status == 413 and sent < MAX_UPLOAD_BYTES + 32 * MiB, sent
    assert rss() - before < 96 * MiB
    # A large upload within the budget is parsed in memory: no temporary file.
    pdf = b"%PDF-1.4\n" + b"%" + b"x" * (3 * MiB) + b"\n%%EOF\n"
    r = patient.post("/portal/me/space", data={"csrf": token, "title": "Scan"},
                     files={"file": ("scan.pdf", pdf, "application/pdf")})
    assert r.status_code == 303, r.text[:300]
    assert spooled == []
    assert FILE_SPOOL_BYTES > MAX_UPLOAD_BYTES + 256 * 1024
