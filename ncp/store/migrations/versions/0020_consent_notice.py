"""The Patient Information Notice version a cross-border consent was given under

Revision ID: 0020_consent_notice
Revises: 0019_activation_letters
Create Date: 2026-12-03 06:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_consent_notice"
down_revision = "0019_activation_letters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Consents given before notices were versioned keep NULL: no notice was acknowledged, and
    # the portal asks for the current one before such a consent is given again or renewed.
    with op.batch_alter_table("cross_border_consents") as batch:
        batch.add_column(sa.Column("notice_version", sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cross_border_consents") as batch:
        batch.drop_column("notice_version")
