"""gateway refusals and request volumes: the reason of a refusal on its audit record; request
counts per peer, professional and patient; operator alerts

Revision ID: 0016_refusals_and_volumes
Revises: 0015_document_aad
Create Date: 2026-12-02 19:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_refusals_and_volumes"
down_revision = "0015_document_aad"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_messages") as batch:
        batch.add_column(sa.Column("error_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("refusal_check", sa.String(64), nullable=True))
        batch.add_column(sa.Column("refusal_element", sa.String(200), nullable=True))
        batch.add_column(sa.Column("refusal_detail", sa.Text(), nullable=True))
    op.create_index("ix_audit_messages_error_id", "audit_messages", ["error_id"])
    op.create_table(
        "request_counts",
        sa.Column("scope", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("window_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.create_table(
        "operator_alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(80), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("limit", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_operator_alerts_at", "operator_alerts", ["at"])


def downgrade() -> None:
    op.drop_index("ix_operator_alerts_at", table_name="operator_alerts")
    op.drop_table("operator_alerts")
    op.drop_table("request_counts")
    op.drop_index("ix_audit_messages_error_id", table_name="audit_messages")
    with op.batch_alter_table("audit_messages") as batch:
        for column in ("refusal_detail", "refusal_element", "refusal_check", "error_id"):
            batch.drop_column(column)
