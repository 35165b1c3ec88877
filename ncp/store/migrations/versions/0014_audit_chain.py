"""audit chain: hash-chain position and link on the access log and the audit messages

Revision ID: 0014_audit_chain
Revises: 0013_unmapped_codes
Create Date: 2026-12-02 19:55:00

Existing rows are sealed by the first run of the sealer (``ncp audit seal``, or the app).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_audit_chain"
down_revision = "0013_unmapped_codes"
branch_labels = None
depends_on = None

TABLES = ("access_log", "audit_messages")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("chain_seq", sa.Integer(), nullable=True))
            batch.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))
            batch.create_unique_constraint(op.f(f"uq_{table}_chain_seq"), ["chain_seq"])


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"uq_{table}_chain_seq"), type_="unique")
            batch.drop_column("chain_hash")
            batch.drop_column("chain_seq")
