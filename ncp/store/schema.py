"""Every module that defines tables or seals values, imported once: the whole schema's
metadata (for Alembic) and every sealed table and re-sealing step registered with
:mod:`ncp.store.sealed` (for ``ncp keys rotate`` and ``ncp keys reseal``)."""

from __future__ import annotations

import ncp.store.accounts
import ncp.store.activation
import ncp.store.audit
import ncp.store.dispensing
import ncp.store.dsp
import ncp.store.models
import ncp.store.originals
import ncp.store.peers
import ncp.store.pivot_cache
import ncp.store.terminology
import ncp.store.visits
import ncp.store.volumes  # noqa: F401
from ncp.store.models import Base

__all__ = ["metadata"]

metadata = Base.metadata
