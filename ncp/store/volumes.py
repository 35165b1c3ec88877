"""Request volumes per peer, per foreign professional and per patient, and the operator alerts
raised when one is unexpected (issue 14 item 13).

Why: Luxembourg's published search mask asks for the matricule alone, so XCPD discovery by
matricule must work; but a matricule encodes a birth date and a short serial, so it can be
enumerated. Discovery is therefore counted in the database (every gateway process shares the
counts) in fixed windows, per (scope, key): ``peer`` (the TLS peer's country), ``professional``
(the HCP assertion's subject, within its country) and ``patient`` (the matricule asked for).
Past a limit the request is refused with the reference gateway's warning for that scope
(``WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS`` for a peer, ``..._FOR_UNIQUE_POINT_OF_CARE`` for a
professional, ``..._FOR_UNIQUE_PATIENT`` for a patient) until the window ends, and the first
excess of each window writes one ``operator_alerts`` row (and a log line) for the operator.

One upsert per scope (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``), so concurrent
processes never lose a count.

The counts of past windows are deleted once a minute (:mod:`ncp.store.housekeeping`); the
alerts stay until an operator has seen them: ``ncp audit volumes`` lists the open ones and
``--ack`` acknowledges them (docs/deployment.md, "Monitoring").
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import Engine, Integer, String, Text, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from ncp.store.models import Base, UtcDateTime

__all__ = ["Excess", "OperatorAlert", "RequestCount", "RequestVolumes", "VolumeLimits",
           "window_start"]

log = logging.getLogger("ncp.alerts")


class RequestCount(Base):
    """How many requests of one scope and key arrived in one window."""

    __tablename__ = "request_counts"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(UtcDateTime, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class OperatorAlert(Base):
    """Something an operator must look at (today: an unexpected volume of requests)."""

    __tablename__ = "operator_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    kind: Mapped[str] = mapped_column(String(80))
    scope: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(300))
    count: Mapped[int] = mapped_column(Integer)
    limit: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    detail: Mapped[str] = mapped_column(Text)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


#: The reference gateway's warning per scope (OpenNCPErrorCode / EhdsiErrorCode 5035, 5034,
#: 5032).
WARNINGS = {
    "peer": "WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS",
    "professional": "WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS_FOR_UNIQUE_POINT_OF_CARE",
    "patient": "WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS_FOR_UNIQUE_PATIENT",
}


@dataclass(frozen=True, slots=True)
class VolumeLimits:
    """Requests allowed per window. A whole country's gateway asks for many patients; one
    professional for a few patients an hour; one patient is looked up a few times per visit."""

    window: dt.timedelta = dt.timedelta(hours=1)
    per_peer: int = 2000
    per_professional: int = 60
    per_patient: int = 20


@dataclass(frozen=True, slots=True)
class Excess:
    """A limit passed: the scope, its key, the count and the limit."""

    scope: str
    key: str
    count: int
    limit: int

    @property
    def warning(self) -> str:
        return WARNINGS[self.scope]


def window_start(at: dt.datetime, window: dt.timedelta) -> dt.datetime:
    """The start of the fixed window of length ``window`` that holds ``at``."""
    epoch = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    return epoch + ((at - epoch) // window) * window


class RequestVolumes:
    """Counts requests and reports (and alerts on) the first limit passed."""

    def __init__(self, engine: Engine, limits: VolumeLimits | None = None) -> None:
        self.engine = engine
        self.limits = limits or VolumeLimits()
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        table = RequestCount.__table__
        stmt = dialect.insert(table).values(scope=_p("scope"), key=_p("key"),
                                            window_start=_p("window_start"), count=1)
        self._upsert = stmt.on_conflict_do_update(
            index_elements=["scope", "key", "window_start"],
            set_={"count": table.c.count + 1}).returning(table.c.count)

    def count(self, *, at: dt.datetime, peer: str, professional: str,
              patient: str) -> Excess | None:
        """Count one request in each scope; the most specific limit passed, if any."""
        start = window_start(at, self.limits.window)
        scopes = (("patient", patient, self.limits.per_patient),
                  ("professional", professional, self.limits.per_professional),
                  ("peer", peer, self.limits.per_peer))
        excess: Excess | None = None
        with self.engine.begin() as conn:
            for scope, key, limit in scopes:
                n = int(conn.execute(self._upsert, {"scope": scope, "key": key[:300],
                                                    "window_start": start}).scalar_one())
                if n > limit and excess is None:
                    excess = Excess(scope, key[:300], n, limit)
                if n == limit + 1:  # the first excess of this window: one alert
                    detail = (f"{n} requests of {scope} {key!r} since "
                              f"{start.isoformat()} (limit {limit} per "
                              f"{int(self.limits.window.total_seconds())} s)")
                    conn.execute(insert(OperatorAlert).values(
                        at=at, kind=WARNINGS[scope], scope=scope, key=key[:300], count=n,
                        limit=limit, window_start=start, detail=detail))
                    log.warning("%s: %s", WARNINGS[scope], detail)
        return excess

    def alerts(self, limit: int = 100, *, open_only: bool = False) -> list[OperatorAlert]:
        """The newest alerts first; ``open_only``: those no operator acknowledged yet."""
        from sqlalchemy.orm import Session

        query = select(OperatorAlert)
        if open_only:
            query = query.where(OperatorAlert.acknowledged_at.is_(None))
        with Session(self.engine) as s:
            rows = s.scalars(query.order_by(OperatorAlert.id.desc()).limit(limit)).all()
            s.expunge_all()
            return list(rows)

    def acknowledge(self, ids: list[int], *, at: dt.datetime) -> int:
        """Mark alerts ``ids`` as seen (kept, no longer listed as open); how many changed."""
        with self.engine.begin() as conn:
            result = conn.execute(update(OperatorAlert).where(
                OperatorAlert.id.in_(ids), OperatorAlert.acknowledged_at.is_(None))
                .values(acknowledged_at=at))
            return int(result.rowcount or 0)


def _p(name: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import bindparam

    return bindparam(name, type_=UtcDateTime()) if name == "window_start" else bindparam(name)
