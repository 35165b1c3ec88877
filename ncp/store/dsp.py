"""The DSP record service: one object over every aggregate of the record store.

Each aggregate is a module of its own, on the shared transaction and access-log plumbing
(:mod:`ncp.store.record_service`, :mod:`ncp.store.access_log`) and calling the one policy
(:mod:`ncp.store.policy`):

- identity, the patients and their DSPs: :mod:`ncp.store.identity` (with
  :mod:`~ncp.store.population`, :mod:`~ncp.store.visits`, :mod:`~ncp.store.merge`);
- professionals and organisations: :mod:`ncp.store.professionals` (the feed:
  :mod:`~ncp.store.professional_registry`);
- relationships, the patient's rules and break the glass: :mod:`ncp.store.relationships`
  (the worklist: :mod:`~ncp.store.worklist`);
- documents: :mod:`ncp.store.documents` (with :mod:`~ncp.store.services`,
  :mod:`~ncp.store.originals`, :mod:`~ncp.store.pivot_cache`);
- consent and the DSP's state: :mod:`ncp.store.consent`;
- the access log, notices and alerts: :mod:`ncp.store.access_log`.

:class:`Records` joins them so that the faces (gateway, API, portal, CLI) hold one service.
"""

from __future__ import annotations

from ncp.store.consent import ConsentRecords
from ncp.store.documents import DocumentRecords
from ncp.store.identity import IdentityRecords
from ncp.store.professionals import ProfessionalRecords
from ncp.store.relationships import RelationshipRecords

__all__ = ["Records"]


class Records(IdentityRecords, ProfessionalRecords, RelationshipRecords, DocumentRecords,
              ConsentRecords):
    """The service over the record store. Thread-safe: it holds no per-request state."""
