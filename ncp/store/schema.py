"""Every module that defines tables, imported once: the whole schema's metadata (for Alembic)
and every sealed table registered with :mod:`ncp.store.sealed` (for ``ncp keys``)."""

from __future__ import annotations

import ncp.store.accounts
import ncp.store.activation
import ncp.store.models
import ncp.store.peers
import ncp.store.pivot_cache
import ncp.store.terminology
import ncp.store.visits
import ncp.store.volumes  # noqa: F401
from ncp.store.models import Base

__all__ = ["metadata"]

metadata = Base.metadata
