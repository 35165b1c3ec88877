"""prescriptions and dispensations

Revision ID: 0004_prescriptions
Revises: 0003_accounts
Create Date: 2026-11-22 01:13:04.499163
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_prescriptions"
down_revision = "0003_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "prescriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prescription_id", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("product_name", sa.String(length=200), nullable=False),
        sa.Column("atc_code", sa.String(length=16), nullable=True),
        sa.Column("atc_display", sa.String(length=200), nullable=True),
        sa.Column("dose_form_code", sa.String(length=32), nullable=True),
        sa.Column("dose_form_display", sa.String(length=200), nullable=True),
        sa.Column("strength", sa.String(length=100), nullable=True),
        sa.Column("substitution_allowed", sa.Boolean(), nullable=False),
        sa.Column("packages_prescribed", sa.Integer(), nullable=False),
        sa.Column("packages_dispensed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("prescribed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_prescriptions_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_prescriptions_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prescriptions")),
        sa.UniqueConstraint("document_id", name=op.f("uq_prescriptions_document_id")),
        sa.UniqueConstraint("prescription_id", name=op.f("uq_prescriptions_prescription_id")),
    )
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_prescriptions_patient_status", ["patient_id", "status"], unique=False
        )

    op.create_table(
        "dispensations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unique_id", sa.String(length=128), nullable=False),
        sa.Column("prescription_row_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("packages", sa.Integer(), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("pharmacist", sa.String(length=200), nullable=False),
        sa.Column("dispensed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("discarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("discard_unique_id", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_dispensations_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["prescription_row_id"],
            ["prescriptions.id"],
            name=op.f("fk_dispensations_prescription_row_id_prescriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispensations")),
        sa.UniqueConstraint("discard_unique_id", name=op.f("uq_dispensations_discard_unique_id")),
        sa.UniqueConstraint("unique_id", name=op.f("uq_dispensations_unique_id")),
    )
    with op.batch_alter_table("dispensations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dispensations_prescription_row_id"),
            ["prescription_row_id"],
            unique=False,
        )


def downgrade() -> None:

    with op.batch_alter_table("dispensations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispensations_prescription_row_id"))

    op.drop_table("dispensations")
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_prescriptions_patient_status")

    op.drop_table("prescriptions")
