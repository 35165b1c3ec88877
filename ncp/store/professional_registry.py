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

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from ncp.registry.professionals import RegisteredProfessional
from ncp.store.models import Organisation, Professional, ProfessionalOrganisation

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
    def _organisations(s: Session, item: RegisteredProfessional) -> list[int]:
        """The ids of the line's places of practice, in order, created or renamed as the
        registry names them."""
        ids = []
        for place in item.organisations:
            org = s.scalar(select(Organisation).where(Organisation.identifier == place.identifier))
            if org is None:
                org = Organisation(identifier=place.identifier, name=place.name,
                                   kind=place.kind, country="LU")
                s.add(org)
                s.flush()
            elif (org.name, org.kind) != (place.name, place.kind):
                org.name, org.kind = place.name, place.kind
            ids.append(org.id)
        return ids

    @staticmethod
    def _places(s: Session, professional_id: int) -> list[int]:
        return list(s.scalars(select(ProfessionalOrganisation.organisation_id).where(
            ProfessionalOrganisation.professional_id == professional_id)
            .order_by(ProfessionalOrganisation.position)))

    @staticmethod
    def _set_places(s: Session, professional_id: int, org_ids: list[int]) -> None:
        s.execute(delete(ProfessionalOrganisation).where(
            ProfessionalOrganisation.professional_id == professional_id))
        s.add_all(ProfessionalOrganisation(professional_id=professional_id, organisation_id=o,
                                           position=n) for n, o in enumerate(org_ids))

    def apply(self, items: Sequence[RegisteredProfessional]) -> ProfessionalCounts:
        """Apply one chunk in one transaction (a registry id twice: the later line wins)."""
        latest = {i.registry_id: i for i in items}
        counts = ProfessionalCounts()
        now = self._clock()
        with self._sessions.begin() as s:
            existing = {p.registry_id: p for p in s.scalars(select(Professional).where(
                Professional.registry_id.in_(list(latest))))}
            for registry_id, item in latest.items():
                org_ids = self._organisations(s, item)
                org_id = org_ids[0] if org_ids else None
                prof = existing.get(registry_id)
                if prof is None:
                    prof = Professional(
                        registry_id=registry_id, given_name=item.given_name,
                        family_name=item.family_name, profession=item.profession,
                        isco_code=item.isco_code, specialty=item.specialty,
                        organisation_id=org_id, retired_at=now if item.retired else None)
                    s.add(prof)
                    s.flush()
                    self._set_places(s, prof.id, org_ids)
                    counts.new += 1
                    continue
                differ = [f for f in _FIELDS if getattr(prof, f) != getattr(item, f)]
                if prof.organisation_id != org_id or self._places(s, prof.id) != org_ids:
                    differ.append("organisation")
                    self._set_places(s, prof.id, org_ids)
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
