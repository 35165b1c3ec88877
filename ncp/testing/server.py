"""A real gateway server on loopback for tests: uvicorn over HTTPS in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from ncp.server import ASGIApp, uvicorn_config
from ncp.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(app: ASGIApp, settings: Settings, *, startup_timeout: float = 30.0,
                   **overrides: Any) -> Iterator[str]:
    """Serve ``app`` as ``ncp serve`` would (same TLS set-up) and yield its base URL."""
    config = uvicorn_config(app, settings, host="127.0.0.1", log_level="warning", **overrides)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    scheme = "http" if settings.allow_plain_http else "https"
    try:
        yield f"{scheme}://localhost:{settings.port}"
    finally:
        server.should_exit = True
        thread.join(15)
