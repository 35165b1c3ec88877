"""Activation letters: one-time codes (hashed) with which a person activates their DSP

Revision ID: 0019_activation_letters
Revises: 0018_visit_merges
Create Date: 2026-12-03 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_activation_letters"
down_revision = "0018_visit_merges"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activation_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ticket_hash", sa.String(length=64), nullable=True),
        sa.Column("ticket_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"],
                                name=op.f("fk_activation_letters_patient_id_patients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activation_letters")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_activation_letters_code_hash")),
        sa.UniqueConstraint("ticket_hash", name=op.f("uq_activation_letters_ticket_hash")),
    )
    op.create_index("ix_activation_letters_patient", "activation_letters",
                    ["patient_id", "used_at"])


def downgrade() -> None:
    op.drop_index("ix_activation_letters_patient", table_name="activation_letters")
    op.drop_table("activation_letters")
