"""audit chain over the partial refusals: hash-chain position and link on
audit_partial_refusals (issue 14, "Also": the chain covers every audit row)

Revision ID: 0023_partial_refusals_chain
Revises: 0022_professional_organisations
Create Date: 2026-12-03 06:45:00

Existing rows are sealed by the next run of the sealer (``ncp audit seal``, or the app).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023_partial_refusals_chain"
down_revision = "0022_professional_organisations"
branch_labels = None
depends_on = None

TABLE = "audit_partial_refusals"


def upgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        batch.add_column(sa.Column("chain_seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(op.f(f"uq_{TABLE}_chain_seq"), ["chain_seq"])


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_constraint(op.f(f"uq_{TABLE}_chain_seq"), type_="unique")
        batch.drop_column("chain_hash")
        batch.drop_column("chain_seq")
