"""DSPs opened at a visit: the merges of provisional records into matricules' records

Revision ID: 0018_visit_merges
Revises: 0017_partial_refusals
Create Date: 2026-12-02 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_visit_merges"
down_revision = "0017_partial_refusals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patient_merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provisional_id", sa.String(length=13), nullable=False),
        sa.Column("matricule", sa.String(length=13), nullable=False),
        sa.Column("source_patient_id", sa.Integer(), nullable=False),
        sa.Column("target_patient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator", sa.String(length=100), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(["source_patient_id"], ["patients.id"],
                                name=op.f("fk_patient_merges_source_patient_id_patients")),
        sa.ForeignKeyConstraint(["target_patient_id"], ["patients.id"],
                                name=op.f("fk_patient_merges_target_patient_id_patients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_merges")),
        sa.UniqueConstraint("provisional_id", name=op.f("uq_patient_merges_provisional_id")),
        sa.UniqueConstraint("source_patient_id",
                            name=op.f("uq_patient_merges_source_patient_id")),
    )
    op.create_index("ix_patient_merges_matricule", "patient_merges", ["matricule"])
    op.create_index("ix_patient_merges_target_patient_id", "patient_merges",
                    ["target_patient_id"])


def downgrade() -> None:
    op.drop_index("ix_patient_merges_target_patient_id", table_name="patient_merges")
    op.drop_index("ix_patient_merges_matricule", table_name="patient_merges")
    op.drop_table("patient_merges")
