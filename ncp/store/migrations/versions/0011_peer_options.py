"""peer options: per-peer interoperability choices (role codes sent, XDR transfer)

Revision ID: 0011_peer_options
Revises: 0010_login_throttle
Create Date: 2026-12-02 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_peer_options"
down_revision = "0010_login_throttle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("peer_gateways") as batch:
        batch.add_column(sa.Column("options", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("peer_gateways") as batch:
        batch.drop_column("options")
