"""received originals: what a foreign country sent, sealed, beside its national document

Revision ID: 0007_received_originals
Revises: 0006_peers
Create Date: 2026-11-23 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_received_originals"
down_revision = "0006_peers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "received_originals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("media_type", sa.String(length=80), nullable=False),
        sa.Column("content_size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(length=64), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"],
            name=op.f("fk_received_originals_document_id_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_originals")),
        sa.UniqueConstraint("document_id", name=op.f("uq_received_originals_document_id")),
    )


def downgrade() -> None:
    op.drop_table("received_originals")
