"""Terminology: MVC value sets, designations, national transcoding mappings

Revision ID: 0002_terminology
Revises: 0001_store
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_terminology"
down_revision = "0001_store"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "term_value_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("oid", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_term_value_sets")),
        sa.UniqueConstraint("oid", name=op.f("uq_term_value_sets_oid")),
    )
    op.create_table(
        "term_concepts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value_set_id", sa.Integer(), nullable=False),
        sa.Column("code_system", sa.String(length=128), nullable=False),
        sa.Column("code", sa.String(length=128), nullable=False),
        sa.Column("display", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["value_set_id"], ["term_value_sets.id"],
                                name=op.f("fk_term_concepts_value_set_id_term_value_sets"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_term_concepts")),
        sa.UniqueConstraint("value_set_id", "code_system", "code",
                            name="uq_term_concepts_member"),
    )
    op.create_index("ix_term_concepts_system_code", "term_concepts", ["code_system", "code"])
    op.create_index(op.f("ix_term_concepts_value_set_id"), "term_concepts", ["value_set_id"])
    op.create_table(
        "term_designations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_system", sa.String(length=128), nullable=False),
        sa.Column("code", sa.String(length=128), nullable=False),
        sa.Column("lang", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_term_designations")),
        sa.UniqueConstraint("code_system", "code", "lang",
                            name="uq_term_designations_concept_lang"),
    )
    op.create_table(
        "term_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_system", sa.String(length=128), nullable=False),
        sa.Column("source_code", sa.String(length=128), nullable=False),
        sa.Column("value_set_oid", sa.String(length=128), nullable=False),
        sa.Column("target_system", sa.String(length=128), nullable=False),
        sa.Column("target_code", sa.String(length=128), nullable=False),
        sa.Column("target_display", sa.String(length=500), nullable=False),
        sa.Column("mapping_file", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_term_mappings")),
        sa.UniqueConstraint("source_system", "source_code", "value_set_oid",
                            name="uq_term_mappings_source_target"),
    )


def downgrade() -> None:
    op.drop_table("term_mappings")
    op.drop_table("term_designations")
    op.drop_index(op.f("ix_term_concepts_value_set_id"), table_name="term_concepts")
    op.drop_index("ix_term_concepts_system_code", table_name="term_concepts")
    op.drop_table("term_concepts")
    op.drop_table("term_value_sets")
