"""peers: foreign gateways directory, cross-border contexts, dispensations sent abroad

Revision ID: 0006_peers
Revises: 0005_pivot_cache
Create Date: 2026-11-22 01:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_peers"
down_revision = "0005_pivot_cache"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "peer_gateways",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("home_community_id", sa.String(length=64), nullable=False),
        sa.Column("endpoints", sa.Text(), nullable=False),
        sa.Column("tls_anchor_pem", sa.Text(), nullable=True),
        sa.Column("signing_anchor_pem", sa.Text(), nullable=True),
        sa.Column("search_mask", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peer_gateways")),
        sa.UniqueConstraint("country", name=op.f("uq_peer_gateways_country")),
    )
    op.create_table(
        "crossborder_contexts",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("patient_cx", sa.String(length=300), nullable=False),
        sa.Column("patient_name", sa.String(length=300), nullable=False),
        sa.Column("birth_date", sa.String(length=20), nullable=True),
        sa.Column("gender", sa.String(length=4), nullable=True),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_crossborder_contexts")),
    )
    op.create_index(op.f("ix_crossborder_contexts_account_id"), "crossborder_contexts",
                    ["account_id"])
    op.create_table(
        "crossborder_dispensations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("patient_cx", sa.String(length=300), nullable=False),
        sa.Column("prescription_id", sa.String(length=200), nullable=False),
        sa.Column("document_unique_id", sa.String(length=200), nullable=False),
        sa.Column("document_id", sa.String(length=200), nullable=False),
        sa.Column("product", sa.String(length=300), nullable=False),
        sa.Column("packages", sa.Integer(), nullable=False),
        sa.Column("substituted", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(length=64), nullable=True),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=True),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("discarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crossborder_dispensations")),
        sa.UniqueConstraint("document_unique_id",
                            name=op.f("uq_crossborder_dispensations_document_unique_id")),
    )
    op.create_index(op.f("ix_crossborder_dispensations_account_id"),
                    "crossborder_dispensations", ["account_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_crossborder_dispensations_account_id"),
                  table_name="crossborder_dispensations")
    op.drop_table("crossborder_dispensations")
    op.drop_index(op.f("ix_crossborder_contexts_account_id"), table_name="crossborder_contexts")
    op.drop_table("crossborder_contexts")
    op.drop_table("peer_gateways")
