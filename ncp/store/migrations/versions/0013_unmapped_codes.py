"""unmapped codes: codes of received eDispensations kept as received, for follow-up

Revision ID: 0013_unmapped_codes
Revises: 0012_break_glass_delegation
Create Date: 2026-12-02 19:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_unmapped_codes"
down_revision = "0012_break_glass_delegation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unmapped_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("document_kind", sa.String(length=40), nullable=False),
        sa.Column("document_id", sa.String(length=256), nullable=False),
        sa.Column("location", sa.String(length=1000), nullable=False),
        sa.Column("code", sa.String(length=256), nullable=False),
        sa.Column("code_system", sa.String(length=256), nullable=False),
        sa.Column("display", sa.String(length=500), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("value_sets", sa.String(length=1000), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unmapped_codes")),
    )
    op.create_index(op.f("ix_unmapped_codes_received_at"), "unmapped_codes", ["received_at"])
    op.create_index("ix_unmapped_codes_system_code", "unmapped_codes", ["code_system", "code"])


def downgrade() -> None:
    op.drop_index("ix_unmapped_codes_system_code", table_name="unmapped_codes")
    op.drop_index(op.f("ix_unmapped_codes_received_at"), table_name="unmapped_codes")
    op.drop_table("unmapped_codes")
