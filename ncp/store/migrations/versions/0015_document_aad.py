"""document AAD: the ciphertext's associated data binds the patient and the access fields

Revision ID: 0015_document_aad
Revises: 0014_audit_chain
Create Date: 2026-12-02 20:15:00

Existing rows keep version 0 (the unique id alone) until ``ncp keys reseal`` re-seals them
under the new associated data: that data migration needs the key ring, which Alembic has not.
A version-1 row cannot be passed off as version 0 (its ciphertext would fail to open).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_document_aad"
down_revision = "0014_audit_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("aad_version", sa.Integer(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("aad_version")
