"""Factories for the store tests: one place that builds patients, professionals, documents."""

from __future__ import annotations

import datetime as dt
import itertools
from types import SimpleNamespace

from ncp.store import matricule
from ncp.store.policy import Actor
from ncp.store.records import Records

_serial = itertools.count(1)


def new_matricule() -> str:
    return matricule.make(dt.date(1980, 5, 17), next(_serial) % 1000)


def professional(records: Records, profession: str = "physician", name: str = "Marie Muller",
                 isco: str = "2211", org: str | None = None) -> Actor:
    given, family = name.split(" ", 1)
    pid = records.add_professional(registry_id=f"RP{next(_serial):06d}", given_name=given,
                                   family_name=family, profession=profession, isco_code=isco,
                                   organisation=org)
    return records.professional_actor(pid)


def patient(records: Records, referring: Actor | None = None) -> tuple[int, Actor]:
    pid = records.add_patient(matricule=new_matricule(), given_name="Jean", family_name="Schmit",
                              gender="M", city="Luxembourg",
                              referring_doctor=referring.professional_id if referring else None)
    return pid, Actor.patient(pid, "Jean Schmit")


def opened_log(records: Records, entry: object) -> SimpleNamespace:
    """An access-log row (ORM object) with its sealed ``what`` and ``detail`` opened, as the
    record service reads them (issue 14, finding 8: they are not plaintext at rest)."""
    from ncp.store.access_log import open_log_row

    columns = {c.key: getattr(entry, c.key) for c in entry.__table__.columns}  # type: ignore[attr-defined]
    columns["what"], columns["detail"] = open_log_row(records.keys, entry)
    return SimpleNamespace(**columns)
