"""professional registry feed: retirement of a professional

Revision ID: 0009_professional_registry
Revises: 0008_population
Create Date: 2026-12-02 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_professional_registry"
down_revision = "0008_population"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("professionals") as batch:
        batch.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("professionals") as batch:
        batch.drop_column("retired_at")
