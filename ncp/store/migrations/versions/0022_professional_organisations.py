"""Every place a professional practises (the national registry lists several)

Revision ID: 0022_professional_organisations
Revises: 0021_sealed_columns
Create Date: 2026-12-03 06:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_professional_organisations"
down_revision = "0021_sealed_columns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "professional_organisations",
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["professional_id"], ["professionals.id"],
                                name=op.f("fk_professional_organisations_professional_id_professionals")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_professional_organisations_organisation_id_organisations")),
        sa.PrimaryKeyConstraint("professional_id", "organisation_id",
                                name=op.f("pk_professional_organisations")),
    )
    # The main place each professional already has becomes their first membership.
    op.execute("INSERT INTO professional_organisations (professional_id, organisation_id, "
               "position) SELECT id, organisation_id, 0 FROM professionals "
               "WHERE organisation_id IS NOT NULL")


def downgrade() -> None:
    op.drop_table("professional_organisations")
