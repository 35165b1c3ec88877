"""Applying the national registry of health professionals: new, changed, retired.

Idempotent like the population feed (:mod:`ncp.store.population`). A retirement takes effect at
once: :meth:`Records.professional_actor` refuses a retired professional, so their sessions and
API tokens act on no record from the next request on, while the documents they wrote stay in
the DSPs under their name. A professional reported active again is reinstated. Organisations
are created or renamed as the registry names them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ncp.registry.professionals import RegisteredProfessional
from ncp.store.models import Organisation, Professional

__all__ = ["ProfessionalCounts", "ProfessionalRegistry"]

_FIELDS = ("given_name", "family_name", "profession", "isco_code", "specialty")


@dataclass(slots=True)
class ProfessionalCounts:
    new: int = 0
    changed: int = 0
    retired: int = 0
    unchanged: int = 0
    bad: int = 0

    def add(self, other: ProfessionalCounts) -> None:
        self.new += other.new
        self.changed += other.changed
        self.retired += other.retired
        self.unchanged += other.unchanged

    def __str__(self) -> str:
        return (f"{self.new} new, {self.changed} changed ({self.retired} retired), "
                f"{self.unchanged} unchanged, {self.bad} bad")


class ProfessionalRegistry:
    def __init__(self, sessions: sessionmaker[Session],
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self._sessions = sessions
        self._clock = clock

    @staticmethod
    def _organisation(s: Session, item: RegisteredProfessional) -> int | None:
        if not item.organisation_id:
            return None
        org = s.scalar(select(Organisation).where(
            Organisation.identifier == item.organisation_id))
        if org is None:
            org = Organisation(identifier=item.organisation_id, name=item.organisation_name,
                               kind=item.organisation_kind, country="LU")
            s.add(org)
            s.flush()
        elif (org.name, org.kind) != (item.organisation_name, item.organisation_kind):
            org.name, org.kind = item.organisation_name or org.name, \
                item.organisation_kind or org.kind
        return org.id

    def apply(self, items: Sequence[RegisteredProfessional]) -> ProfessionalCounts:
        """Apply one chunk in one transaction (a registry id twice: the later line wins)."""
        latest = {i.registry_id: i for i in items}
        counts = ProfessionalCounts()
        now = self._clock()
        with self._sessions.begin() as s:
            existing = {p.registry_id: p for p in s.scalars(select(Professional).where(
                Professional.registry_id.in_(list(latest))))}
            for registry_id, item in latest.items():
                org_id = self._organisation(s, item)
                prof = existing.get(registry_id)
                if prof is None:
                    s.add(Professional(
                        registry_id=registry_id, given_name=item.given_name,
                        family_name=item.family_name, profession=item.profession,
                        isco_code=item.isco_code, specialty=item.specialty,
                        organisation_id=org_id, retired_at=now if item.retired else None))
                    counts.new += 1
                    continue
                differ = [f for f in _FIELDS if getattr(prof, f) != getattr(item, f)]
                if prof.organisation_id != org_id:
                    differ.append("organisation")
                if (prof.retired_at is not None) != item.retired:
                    differ.append("status")
                if not differ:
                    counts.unchanged += 1
                    continue
                counts.changed += 1
                for f in _FIELDS:
                    setattr(prof, f, getattr(item, f))
                prof.organisation_id = org_id
                if item.retired and prof.retired_at is None:
                    prof.retired_at = now
                    counts.retired += 1
                elif not item.retired:
                    prof.retired_at = None
        return counts
