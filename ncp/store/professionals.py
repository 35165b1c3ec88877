"""Professionals and organisations: who may act in the DSP as a health professional.

The national registry's feed (``ncp registry import-professionals``) is
:mod:`ncp.store.professional_registry`; these are the single registrations and lookups.
"""

from __future__ import annotations

from sqlalchemy import (
    select,
)

from ncp.store.access_log import AccessLogRecords
from ncp.store.errors import AccessDenied, InvalidInput, NotFound
from ncp.store.models import (
    Organisation,
    Professional,
    ProfessionalOrganisation,
)
from ncp.store.policy import Actor
from ncp.store.vocabulary import (
    Profession,
)


class ProfessionalRecords(AccessLogRecords):
    """Registering and finding professionals and organisations."""

    def add_organisation(self, *, identifier: str, name: str, kind: str,
                         country: str = "LU") -> int:
        with self._tx() as s:
            org = Organisation(identifier=identifier, name=name, kind=kind, country=country)
            s.add(org)
            s.flush()
            return org.id

    def add_professional(
        self,
        *,
        registry_id: str,
        given_name: str,
        family_name: str,
        profession: str,
        isco_code: str,
        specialty: str | None = None,
        organisation: str | None = None,
    ) -> int:
        """Register a health professional; ``organisation`` is an organisation identifier."""
        try:
            profession_value = Profession(profession).value
        except ValueError:
            raise InvalidInput(f"unknown profession {profession!r}") from None
        if not registry_id.strip() or not isco_code.isdigit():
            raise InvalidInput("a professional needs a registry id and a numeric ISCO-08 code")
        with self._tx() as s:
            org_id = self._organisation_id(s, organisation) if organisation else None
            if s.scalar(select(Professional.id).where(Professional.registry_id == registry_id)):
                raise InvalidInput(f"professional {registry_id} is already registered")
            prof = Professional(
                registry_id=registry_id, given_name=given_name, family_name=family_name,
                profession=profession_value, specialty=specialty, isco_code=isco_code,
                organisation_id=org_id,
            )
            s.add(prof)
            s.flush()
            if org_id is not None:
                s.add(ProfessionalOrganisation(professional_id=prof.id, organisation_id=org_id,
                                               position=0))
            return prof.id

    def places_of(self, professional_id: int) -> list[str]:
        """The names of the places where the professional practises, the main one first."""
        with self._read() as s:
            return list(s.scalars(
                select(Organisation.name)
                .join(ProfessionalOrganisation,
                      ProfessionalOrganisation.organisation_id == Organisation.id)
                .where(ProfessionalOrganisation.professional_id == professional_id)
                .order_by(ProfessionalOrganisation.position)))

    def professional_id(self, registry_id: str) -> int:
        with self._read() as s:
            pid = s.scalar(select(Professional.id).where(Professional.registry_id == registry_id))
        if pid is None:
            raise NotFound(f"unknown professional {registry_id}")
        return pid

    def professional_actor(self, professional_id: int) -> Actor:
        """The :class:`Actor` for a registered professional (name and organisation filled in)."""
        with self._read() as s:
            prof = self._professional(s, professional_id)
            if prof.retired_at is not None:
                raise AccessDenied("the professional is no longer in the national registry")
            org = prof.organisation.name if prof.organisation else None
            return Actor.professional(prof.id, prof.profession, prof.display_name, org)
