"""Forwarding audit records to the audit repository: syslog (RFC 5424) over TLS (RFC 5425).

Each stored record becomes one RFC 5424 message, facility authpriv (10) severity notice (5),
MSGID ``IHE+RFC-3881``, the AuditMessage XML as the message body (with the UTF-8 BOM the RFC asks
for), framed by octet counting as RFC 5425 requires. The forwarder sends what is pending and
marks it forwarded only after the whole batch was written; on failure nothing is marked, so the
next run sends it again (at-least-once, which audit repositories are expected to tolerate).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import ssl
from collections.abc import Callable

from ncp.store.audit import AuditLog, StoredAudit

FACILITY_AUTHPRIV = 10
SEVERITY_NOTICE = 5
BOM = "\ufeff".encode()


def format_rfc5424(record: StoredAudit, *, hostname: str, app_name: str = "ncp") -> bytes:
    pri = FACILITY_AUTHPRIV * 8 + SEVERITY_NOTICE
    timestamp = record.at.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")
    header = f"<{pri}>1 {timestamp} {hostname[:255]} {app_name} {os.getpid()} IHE+RFC-3881 -"
    return header.encode("ascii") + b" " + BOM + record.message.encode("utf-8")


def frame(message: bytes) -> bytes:
    """RFC 5425 octet-counting frame: ``MSG-LEN SP SYSLOG-MSG``."""
    return str(len(message)).encode("ascii") + b" " + message


class SyslogTlsSender:
    """A TLS connection to the audit repository, verified against the given CA (mutual TLS
    when a client certificate is configured)."""

    def __init__(self, host: str, port: int, *, cafile: str, certfile: str | None = None,
                 keyfile: str | None = None, timeout: float = 10.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.context = ssl.create_default_context(cafile=cafile)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        if certfile:
            self.context.load_cert_chain(certfile, keyfile)

    def send(self, frames: list[bytes]) -> None:
        with socket.create_connection((self.host, self.port), timeout=self.timeout) as raw, \
                self.context.wrap_socket(raw, server_hostname=self.host) as tls:
            for f in frames:
                tls.sendall(f)


def forward_pending(log: AuditLog, send: Callable[[list[bytes]], None], *,
                    hostname: str | None = None, batch: int = 100,
                    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> int:
    """Send every pending record; returns how many were forwarded."""
    host = hostname or socket.gethostname()
    total = 0
    while True:
        pending = log.pending(batch)
        if not pending:
            return total
        send([frame(format_rfc5424(r, hostname=host)) for r in pending])
        log.mark_forwarded([r.id for r in pending], now())
        total += len(pending)
        if len(pending) < batch:
            return total
