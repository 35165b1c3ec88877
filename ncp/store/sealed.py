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

A registered table has a primary key (``id`` unless named), ``key_id`` and ``wrapped_key``
(NULL key id: nothing sealed in that row); ``columns`` names what is sealed under the row's data
key. Short values (a title, a reason, a product name) are sealed with :func:`seal_fields`: the
value ``x`` is stored in the column ``x_sealed`` as nonce || AES-GCM ciphertext under the row's
data key, its associated data the row's binding (its patient and access fields, given by the
table's module) and the field's name, so that a value moved to another row, another patient or
another field does not open.

Rows written before their values were sealed are sealed by ``ncp keys reseal``, which runs each
table's step registered with :func:`on_reseal`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection

from ncp.store.crypto import KeyRing, open_text, seal_text

__all__ = ["SealedTable", "binding", "field_aad", "on_reseal", "open_fields", "open_obj",
           "resealers", "seal_fields", "seal_obj", "table", "tables", "unregistered"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SealedTable:
    #: the mapped class (its ``id``, ``key_id`` and ``wrapped_key`` attributes)
    model: Any
    #: the columns sealed under the row's data key
    columns: tuple[str, ...]
    #: the primary key's attribute
    pk: str = "id"

    @property
    def name(self) -> str:
        return str(self.model.__tablename__)


_TABLES: dict[str, SealedTable] = {}


def table(*columns: str, pk: str = "id") -> Callable[[type[T]], type[T]]:
    """Register the decorated model as sealed; ``columns`` are the ciphertext columns."""

    def register(model: type[T]) -> type[T]:
        entry = SealedTable(model, tuple(columns), pk)
        for name in (pk, "key_id", "wrapped_key", *columns):
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


def field_aad(aad: bytes, name: str) -> bytes:
    """The associated data of one sealed field: the row's binding and the field's name."""
    return aad + b"\x00" + name.encode()


def seal_fields(ring: KeyRing, aad: bytes, values: Mapping[str, str | None],
                data_key: tuple[str, bytes, bytes] | None = None) -> dict[str, Any]:
    """Column values sealing ``values`` under a fresh data key (or the row's ``data_key``:
    key id, wrapped key, key): ``key_id``, ``wrapped_key`` and ``<name>_sealed`` each."""
    key_id, wrapped, key = data_key or ring.envelope()
    out: dict[str, Any] = {"key_id": key_id, "wrapped_key": wrapped}
    for name, value in values.items():
        out[f"{name}_sealed"] = seal_text(key, value, field_aad(aad, name))
    return out


def open_fields(ring: Callable[[str], KeyRing], key_id: str, wrapped_key: bytes, aad: bytes,
                blobs: Mapping[str, bytes | None]) -> dict[str, str | None]:
    """The values of :func:`seal_fields` (``ring``: a key ring source's ``get``); raises
    :class:`~ncp.store.crypto.TamperedContent` if any was changed or moved."""
    key = ring(key_id).data_key(key_id, wrapped_key)
    return {name: open_text(key, blob, field_aad(aad, name)) for name, blob in blobs.items()}


_RESEAL: dict[str, Callable[[Any, int], int]] = {}


def on_reseal(name: str) -> Callable[[Callable[[Any, int], int]], Callable[[Any, int], int]]:
    """Register a step of ``ncp keys reseal``: ``step(records, batch)`` seals the rows of one
    table written before its values were sealed and returns how many."""

    def register(step: Callable[[Any, int], int]) -> Callable[[Any, int], int]:
        _RESEAL[name] = step
        return step

    return register


def resealers() -> list[tuple[str, Callable[[Any, int], int]]]:
    return list(_RESEAL.items())


def binding(label: str, *parts: object) -> bytes:
    """A row's associated data: a label naming the table and version, then the row's fields
    that decide who it belongs to and who may see it (NUL-separated; None as empty)."""
    return "\x00".join((label, *("" if p is None else str(p) for p in parts))).encode()


def open_obj(ring: Callable[[str], KeyRing], obj: Any, fields: tuple[str, ...],
             aad: bytes) -> dict[str, str | None]:
    """The values of a stored row (mapped object or mapping): sealed, or the plaintext of a
    row written before its values were sealed (no data key)."""
    get = obj.get if isinstance(obj, Mapping) else lambda name: getattr(obj, name)
    if get("key_id") is None:
        return {f: get(f) for f in fields}
    return open_fields(ring, get("key_id"), get("wrapped_key"), aad,
                       {f: get(f"{f}_sealed") for f in fields})


def seal_obj(ring: KeyRing, obj: Any, aad: bytes, values: Mapping[str, str | None]) -> None:
    """Seal ``values`` into a mapped row (a fresh data key), emptying its plaintext columns."""
    for name, value in seal_fields(ring, aad, values).items():
        setattr(obj, name, value)
    for name in values:
        setattr(obj, name, None)


def reseal_plaintext(records: Any, model: Any, fields: tuple[str, ...],
                     aad: Callable[[Any], bytes], batch: int) -> int:
    """Seal the rows of ``model`` written before its ``fields`` were sealed (no data key yet),
    ``batch`` rows per transaction (``records``: the record service, for its transactions and
    key ring). Returns how many were sealed."""
    done = 0
    while True:
        with records._tx() as s:
            rows = s.scalars(select(model).where(model.key_id.is_(None))
                             .limit(batch).with_for_update()).all()
            ring = records.keys.current()
            for row in rows:
                seal_obj(ring, row, aad(row), {f: getattr(row, f) for f in fields})
        done += len(rows)
        if len(rows) < batch:
            return done
