"""The Alembic migrations build exactly the schema the models declare, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

import ncp.store.accounts
import ncp.store.activation
import ncp.store.peers
import ncp.store.pivot_cache
import ncp.store.terminology
import ncp.store.visits  # noqa: F401
from ncp.store.db import upgrade
from ncp.store.models import Base


def test_migrations_match_models(any_db_engine: Engine) -> None:
    with any_db_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_downgrade_to_base_and_upgrade_again(any_db_engine: Engine) -> None:
    upgrade(any_db_engine, "head")
    from alembic import command

    from ncp.store.db import alembic_config

    command.downgrade(alembic_config(any_db_engine), "base")
    assert set(inspect(any_db_engine).get_table_names()) <= {"alembic_version"}
    upgrade(any_db_engine)
    assert "documents" in inspect(any_db_engine).get_table_names()
