"""Prometheus metrics of the gateway, safe with several ``ncp serve`` processes.

Why prometheus_client's multiprocess mode: behind a load balancer N processes answer, and a
scrape reaches one of them; each process writes its counters into its own memory-mapped file
in one shared folder (``NCP_METRICS_DIR``, default ``<var>/run/metrics``) and whichever process
is scraped sums them all. The mode is chosen once per process, before the first metric is
made (:func:`configure`); without a folder (unit tests, one-off tools) the values stay in
memory.

What is computed when scraped, not counted: certificate and CRL days to expiry (from the same
inventory as ``ncp pki list``) and whether the database answers; those are facts of the files
and of the database, identical from every process.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ncp.settings import Settings

__all__ = ["CONTENT_TYPE", "configure", "metrics", "multiprocess", "render"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Latency buckets (seconds): a SOAP exchange takes ~1-50 ms here, a peer times out at ~30 s.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)

_lock = threading.Lock()
_metrics: Metrics | None = None


def configure(directory: Path | None) -> None:
    """Use multiprocess mode with ``directory`` (created 0700) for this process's metrics.

    Must run before the first metric is made; later calls only check the folder exists. An
    operator may also set ``PROMETHEUS_MULTIPROC_DIR`` directly, which wins.
    """
    if directory is None or _metrics is not None:
        return
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    from prometheus_client import values

    # The value class is chosen when prometheus_client is first imported: choose again, now
    # that the folder is known (the metrics below are made after this).
    values.ValueClass = values.get_value_class()


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


@dataclass(frozen=True)
class Metrics:
    """The counted metrics (one set per process)."""

    exchanges: Any
    exchange_seconds: Any
    database_errors: Any
    logins: Any
    portal_requests: Any

    def collectors(self) -> Iterable[Any]:
        return (self.exchanges, self.exchange_seconds, self.database_errors, self.logins,
                self.portal_requests)


def metrics() -> Metrics:
    """This process's metrics, made on first use."""
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                from prometheus_client import Counter, Histogram

                _metrics = Metrics(
                    exchanges=Counter(
                        "ncp_exchanges", "Cross-border exchanges answered by the gateway",
                        ["transaction", "peer_country", "outcome", "error_code"], registry=None),
                    exchange_seconds=Histogram(
                        "ncp_exchange_duration_seconds",
                        "Time from request bytes to answer bytes, audit record included",
                        ["transaction"], buckets=_BUCKETS, registry=None),
                    database_errors=Counter(
                        "ncp_database_errors", "Errors raised by the database driver",
                        ["kind"], registry=None),
                    logins=Counter(
                        "ncp_portal_logins", "Portal login attempts (each step)",
                        ["method", "outcome"], registry=None),
                    portal_requests=Counter(
                        "ncp_portal_requests", "Portal and API requests by area and status class",
                        ["area", "status"], registry=None),
                )
    return _metrics


class _ScrapeTimeCollector:
    """Gauges computed when scraped: certificate/CRL expiry and database reachability."""

    def __init__(self, settings: Settings | None, engine: Engine | None) -> None:
        self.settings = settings
        self.engine = engine

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        if self.settings is not None:
            from ncp.security.cli import certificate_inventory

            now = dt.datetime.now(dt.UTC)
            certs = GaugeMetricFamily(
                "ncp_certificate_days_to_expiry", "Days until a configured certificate expires",
                labels=["purpose", "country", "subject"])
            crls = GaugeMetricFamily(
                "ncp_crl_days_to_next_update",
                "Days until a trusted CRL's nextUpdate (refused once past)",
                labels=["country", "issuer"])
            entries, problems = certificate_inventory(self.settings)
            for e in entries:
                days = (e.not_after - now).total_seconds() / 86400
                if e.purpose == "crl next update":
                    crls.add_metric([e.country, e.subject], days)
                else:
                    certs.add_metric([e.purpose, e.country, e.subject], days)
            yield certs
            yield crls
            yield GaugeMetricFamily("ncp_certificate_problems",
                                    "Configured certificates or CRLs that cannot be read",
                                    value=len(problems))
        if self.engine is not None:
            from ncp.store.db import database_status

            yield GaugeMetricFamily("ncp_database_up", "1 when the database answers",
                                    value=1 if database_status(self.engine) == "ok" else 0)


def render(settings: Settings | None = None, engine: Engine | None = None) -> bytes:
    """The Prometheus text exposition of every process's metrics plus the scrape-time ones."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    if multiprocess():
        from prometheus_client.multiprocess import MultiProcessCollector

        MultiProcessCollector(registry)
    else:
        from prometheus_client import ProcessCollector

        for collector in metrics().collectors():
            registry.register(collector)
        ProcessCollector(registry=registry)
    registry.register(_ScrapeTimeCollector(settings, engine))
    return generate_latest(registry)
