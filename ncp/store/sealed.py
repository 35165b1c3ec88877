"""The sealed-column registry: which tables hold data sealed under the key ring.

Every table whose rows carry their own data key, wrapped by a master key (envelope
encryption, :mod:`ncp.store.crypto`), registers itself here where it is defined::

    @sealed.table("ciphertext")
    class Document(Base): ...

Why a registry: the key ring's rotation (:mod:`ncp.store.keys`) must re-wrap the data key of
every such row, and used to import each table to know them, while those tables' modules
import the key ring (an import circle; a new sealed table had to be added to rotation by
hand). Now rotation walks this registry and imports nothing above the key ring. A sealed table
that did not register would be missed by rotation and its rows made unreadable when their
master key retires, so :func:`unregistered` finds, from the database's own schema, any table
with a ``wrapped_key`` column that is not here, and rotation refuses to run while there is one.

A registered table has the columns ``id``, ``key_id`` and ``wrapped_key`` (NULL key id: nothing
sealed in that row); ``columns`` names what is sealed under the row's data key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import inspect
from sqlalchemy.engine import Connection

__all__ = ["SealedTable", "table", "tables", "unregistered"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SealedTable:
    #: the mapped class (its ``id``, ``key_id`` and ``wrapped_key`` attributes)
    model: Any
    #: the columns sealed under the row's data key
    columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return str(self.model.__tablename__)


_TABLES: dict[str, SealedTable] = {}


def table(*columns: str) -> Callable[[type[T]], type[T]]:
    """Register the decorated model as sealed; ``columns`` are the ciphertext columns."""

    def register(model: type[T]) -> type[T]:
        entry = SealedTable(model, tuple(columns))
        for name in ("id", "key_id", "wrapped_key", *columns):
            if not hasattr(model, name):
                raise TypeError(f"{entry.name} has no column {name!r} to seal")
        _TABLES[entry.name] = entry
        return model

    return register


def tables() -> list[SealedTable]:
    """The registered sealed tables, in registration order."""
    return list(_TABLES.values())


def unregistered(connection: Connection) -> list[str]:
    """Tables of the database that hold wrapped data keys but are not registered (their module
    was not imported, or forgot to register)."""
    schema = inspect(connection)
    return sorted(name for name in schema.get_table_names()
                  if name not in _TABLES
                  and any(c["name"] == "wrapped_key" for c in schema.get_columns(name)))
