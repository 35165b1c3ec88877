"""The sealed-column registry: rotation knows the sealed tables without importing them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, Integer, LargeBinary, MetaData, String, Table

import ncp.store.schema
from ncp.store import sealed
from ncp.store.crypto import KeyRing
from ncp.store.db import session_factory
from ncp.store.keys import UnregisteredSealedTable, rotate


def test_every_table_with_wrapped_keys_is_registered() -> None:
    with_keys = {t.name for t in ncp.store.schema.metadata.sorted_tables
                 if "wrapped_key" in t.c}
    assert with_keys == {entry.name for entry in sealed.tables()}
    assert {"documents", "received_originals", "pivot_cache", "crossborder_dispensations",
            "accounts"} <= with_keys


def test_the_key_ring_imports_nothing_above_it() -> None:
    """The import circle of issue 17: keys.py used to import three tables' modules."""
    code = ("import sys, ncp.store.keys; "
            "print(sorted(m for m in sys.modules if m.startswith('ncp.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(Path(ncp.store.schema.__file__)
                                                            .parents[2])}).stdout
    assert eval(out) == ["ncp.store", "ncp.store.crypto", "ncp.store.keys",  # noqa: S307
                         "ncp.store.sealed"]


def test_rotation_refuses_a_sealed_table_nobody_registered(db_engine: Engine,
                                                           tmp_path: Path) -> None:
    """A table with wrapped data keys that rotation does not know would lose its rows when
    their master key retires: rotation refuses before changing anything."""
    Table("later_feature", MetaData(), Column("id", Integer, primary_key=True),
          Column("key_id", String(40)), Column("wrapped_key", LargeBinary(64))
          ).create(db_engine)
    path = tmp_path / "keys.json"
    before = KeyRing.load_or_create(path)
    with pytest.raises(UnregisteredSealedTable, match="later_feature"):
        rotate(session_factory(db_engine), path)
    assert KeyRing.load(path).key_ids == before.key_ids


def test_a_registered_model_must_have_its_columns() -> None:
    class NoCiphertext:
        __tablename__ = "x"
        id = key_id = wrapped_key = None

    with pytest.raises(TypeError, match="ciphertext"):
        sealed.table("ciphertext")(NoCiphertext)
    assert "x" not in {entry.name for entry in sealed.tables()}
