"""population feed: date of death and account activation of each DSP

Revision ID: 0008_population
Revises: 0007_received_originals
Create Date: 2026-12-02 19:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_population"
down_revision = "0007_received_originals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patients") as batch:
        batch.add_column(sa.Column("death_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True))
    # DSPs that exist already were opened with their owner's account: they count as activated.
    op.execute("UPDATE patients SET activated_at = dsp_opened_at")


def downgrade() -> None:
    with op.batch_alter_table("patients") as batch:
        batch.drop_column("activated_at")
        batch.drop_column("death_date")
