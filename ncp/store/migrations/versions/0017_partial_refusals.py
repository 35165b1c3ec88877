"""the reasons of the errors sent inside answers that otherwise succeeded (per-document errors
of a retrieve, warnings), so that every error id a peer receives can be explained

Revision ID: 0017_partial_refusals
Revises: 0016_refusals_and_volumes
Create Date: 2026-12-02 22:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_partial_refusals"
down_revision = "0016_refusals_and_volumes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_partial_refusals",
        sa.Column("error_id", sa.String(32), primary_key=True),
        sa.Column("audit_message_id", sa.Integer(), sa.ForeignKey("audit_messages.id"),
                  nullable=False),
        sa.Column("check", sa.String(64), nullable=False),
        sa.Column("element", sa.String(200), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_audit_partial_refusals_audit_message_id", "audit_partial_refusals",
                    ["audit_message_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_partial_refusals_audit_message_id",
                  table_name="audit_partial_refusals")
    op.drop_table("audit_partial_refusals")
