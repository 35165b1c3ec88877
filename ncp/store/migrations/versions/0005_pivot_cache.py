"""pivot cache: the eHDSI pivot of a national document, per document version (encrypted)

Revision ID: 0005_pivot_cache
Revises: 0004_prescriptions
Create Date: 2026-11-22 01:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_pivot_cache"
down_revision = "0004_prescriptions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pivot_cache",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("variant", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_size", sa.Integer(), nullable=False),
        sa.Column("sha1", sa.String(length=40), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(length=64), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_pivot_cache_document_id_documents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pivot_cache")),
        sa.UniqueConstraint("document_id", "variant", name=op.f("uq_pivot_cache_document_id")),
    )


def downgrade() -> None:
    op.drop_table("pivot_cache")
