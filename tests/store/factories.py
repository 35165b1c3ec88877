"""Factories for the store tests: one place that builds patients, professionals, documents."""

from __future__ import annotations

import datetime as dt
import itertools

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
