"""break the glass and delegation: reason codes, DPO alerts, patient notices, helper scopes

Revision ID: 0012_break_glass_delegation
Revises: 0011_peer_options
Create Date: 2026-12-02 19:45:00

Existing helpers keep ``manage`` (what they could do, less consent and closing the DSP, which
now need a legal representative); new ones get ``read`` unless the patient says otherwise.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_break_glass_delegation"
down_revision = "0011_peer_options"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("emergency_accesses") as batch:
        batch.add_column(sa.Column("reason_code", sa.String(length=40), nullable=False,
                                   server_default="other"))
    with op.batch_alter_table("helper_links") as batch:
        batch.add_column(sa.Column("delegation", sa.String(length=10), nullable=False,
                                   server_default="manage"))
    op.create_table(
        "patient_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("text", sa.String(length=400), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"],
                                name=op.f("fk_patient_notices_patient_id_patients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_notices")),
    )
    op.create_index("ix_patient_notices_patient", "patient_notices", ["patient_id", "read_at"])
    op.create_table(
        "dpo_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("professional_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=400), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"],
                                name=op.f("fk_dpo_alerts_patient_id_patients")),
        sa.ForeignKeyConstraint(["professional_id"], ["professionals.id"],
                                name=op.f("fk_dpo_alerts_professional_id_professionals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dpo_alerts")),
    )
    op.create_index("ix_dpo_alerts_open", "dpo_alerts", ["acknowledged_at", "at"])


def downgrade() -> None:
    op.drop_index("ix_dpo_alerts_open", table_name="dpo_alerts")
    op.drop_table("dpo_alerts")
    op.drop_index("ix_patient_notices_patient", table_name="patient_notices")
    op.drop_table("patient_notices")
    with op.batch_alter_table("helper_links") as batch:
        batch.drop_column("delegation")
    with op.batch_alter_table("emergency_accesses") as batch:
        batch.drop_column("reason_code")
