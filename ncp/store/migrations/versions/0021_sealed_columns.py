"""sealed columns: the clinical values at rest sealed with the key ring (issue 14, finding 8)

Revision ID: 0021_sealed_columns
Revises: 0020_consent_notice
Create Date: 2026-12-03 06:20:00

Each table gets its envelope (``key_id``, ``wrapped_key``) and an ``x_sealed`` column per value
(:mod:`ncp.store.sealed`); the plaintext columns become nullable, empty for rows written from
now on. Existing rows keep their plaintext until ``ncp keys reseal`` seals them: that data
migration needs the key ring, which Alembic has not. The pivot cache is emptied: its entries'
associated data now binds the patient and the type, and the cache refills itself on the next
read of each document.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_sealed_columns"
down_revision = "0020_consent_notice"
branch_labels = None
depends_on = None

#: table -> (plaintext columns made nullable (name, type), sealed columns added, own envelope)
_TABLES: dict[str, tuple[list[tuple[str, sa.types.TypeEngine]], list[str], bool]] = {
    "documents": ([("title", sa.String(300))], ["title_sealed"], False),
    "access_log": ([("what", sa.String(300))], ["what_sealed", "detail_sealed"], True),
    "emergency_accesses": ([("reason", sa.String(400))], ["reason_sealed"], True),
    "patient_notices": ([("text", sa.String(400))], ["text_sealed"], True),
    "dpo_alerts": ([("detail", sa.String(400))], ["detail_sealed"], True),
    "prescriptions": ([("product_name", sa.String(200))],
                      ["product_name_sealed", "atc_code_sealed", "atc_display_sealed",
                       "strength_sealed"], True),
    "crossborder_contexts": ([("patient_name", sa.String(300))],
                             ["patient_name_sealed", "birth_date_sealed"], True),
    "crossborder_dispensations": ([("product", sa.String(300))], ["product_sealed"], False),
    "audit_partial_refusals": ([("detail", sa.Text())], ["detail_sealed"], True),
}


def upgrade() -> None:
    for name, (plain, sealed, envelope) in _TABLES.items():
        with op.batch_alter_table(name) as batch:
            for column, type_ in plain:
                batch.alter_column(column, existing_type=type_, nullable=True)
            if envelope:
                batch.add_column(sa.Column("key_id", sa.String(40), nullable=True))
                batch.add_column(sa.Column("wrapped_key", sa.LargeBinary(64), nullable=True))
            for column in sealed:
                batch.add_column(sa.Column(column, sa.LargeBinary(), nullable=True))
    for name in ("received_originals", "crossborder_dispensations"):
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column("aad_version", sa.Integer(), nullable=False,
                                       server_default="0"))
    op.execute("DELETE FROM pivot_cache")


def downgrade() -> None:
    for name in ("received_originals", "crossborder_dispensations"):
        with op.batch_alter_table(name) as batch:
            batch.drop_column("aad_version")
    for name, (_plain, sealed, envelope) in _TABLES.items():
        with op.batch_alter_table(name) as batch:
            for column in sealed:
                batch.drop_column(column)
            if envelope:
                batch.drop_column("wrapped_key")
                batch.drop_column("key_id")
    # The plaintext columns stay nullable: rows written sealed have no plaintext to restore.
