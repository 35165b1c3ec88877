"""DSP record store

Revision ID: 0001_store
Revises:
Create Date: 2026-11-22 00:58:25.225954
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_store"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "assertion_replay",
        sa.Column("assertion_id", sa.String(length=200), nullable=False),
        sa.Column("not_on_or_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("assertion_id", name=op.f("pk_assertion_replay")),
    )
    with op.batch_alter_table("assertion_replay", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assertion_replay_not_on_or_after"), ["not_on_or_after"], unique=False
        )

    op.create_table(
        "audit_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("transaction", sa.String(length=20), nullable=False),
        sa.Column("event_code", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=2), nullable=False),
        sa.Column("patient_ref", sa.String(length=100), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("forwarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_messages")),
    )
    with op.batch_alter_table("audit_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_messages_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_messages_patient_ref"), ["patient_ref"], unique=False
        )

    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("identifier", name=op.f("uq_organisations_identifier")),
    )
    op.create_table(
        "professionals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registry_id", sa.String(length=32), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("profession", sa.String(length=40), nullable=False),
        sa.Column("specialty", sa.String(length=100), nullable=True),
        sa.Column("isco_code", sa.String(length=8), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_professionals_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_professionals")),
        sa.UniqueConstraint("registry_id", name=op.f("uq_professionals_registry_id")),
    )
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("matricule", sa.String(length=13), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("gender", sa.String(length=2), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("postal_code", sa.String(length=16), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("preferred_language", sa.String(length=2), nullable=False),
        sa.Column("referring_doctor_id", sa.Integer(), nullable=True),
        sa.Column("dsp_state", sa.String(length=10), nullable=False),
        sa.Column("dsp_opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dsp_closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["referring_doctor_id"],
            ["professionals.id"],
            name=op.f("fk_patients_referring_doctor_id_professionals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("matricule", name=op.f("uq_patients_matricule")),
    )
    op.create_table(
        "access_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_access_rules_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professionals.id"],
            name=op.f("fk_access_rules_professional_id_professionals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_rules")),
    )
    with op.batch_alter_table("access_rules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_access_rules_patient_prof", ["patient_id", "professional_id"], unique=False
        )

    op.create_table(
        "cross_border_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=20), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_cross_border_consents_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cross_border_consents")),
    )
    with op.batch_alter_table("cross_border_consents", schema=None) as batch_op:
        batch_op.create_index("ix_consent_patient_service", ["patient_id", "service"], unique=False)

    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unique_id", sa.String(length=80), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("doc_type", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("media_type", sa.String(length=80), nullable=False),
        sa.Column("author_kind", sa.String(length=16), nullable=False),
        sa.Column("author_professional_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("service_stop", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confidentiality", sa.String(length=1), nullable=False),
        sa.Column("masked", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("content_size", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(length=64), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_professional_id"],
            ["professionals.id"],
            name=op.f("fk_documents_author_professional_id_professionals"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_documents_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_documents_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"], ["documents.id"], name=op.f("fk_documents_supersedes_id_documents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("unique_id", name=op.f("uq_documents_unique_id")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_documents_patient_current", ["patient_id", "is_current"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_documents_series_id"), ["series_id"], unique=False)

    op.create_table(
        "dsp_state_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=400), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_dsp_state_changes_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dsp_state_changes")),
    )
    with op.batch_alter_table("dsp_state_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dsp_state_changes_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "emergency_accesses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=400), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_emergency_accesses_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professionals.id"],
            name=op.f("fk_emergency_accesses_professional_id_professionals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_accesses")),
    )
    with op.batch_alter_table("emergency_accesses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_emergency_patient_prof", ["patient_id", "professional_id"], unique=False
        )

    op.create_table(
        "therapeutic_relationships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_therapeutic_relationships_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professionals.id"],
            name=op.f("fk_therapeutic_relationships_professional_id_professionals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_therapeutic_relationships")),
    )
    with op.batch_alter_table("therapeutic_relationships", schema=None) as batch_op:
        batch_op.create_index(
            "ix_relationship_patient_prof", ["patient_id", "professional_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_therapeutic_relationships_professional_id"),
            ["professional_id"],
            unique=False,
        )

    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_professional_id", sa.Integer(), nullable=True),
        sa.Column("actor_patient_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=True),
        sa.Column("actor_organisation", sa.String(length=200), nullable=True),
        sa.Column("actor_country", sa.String(length=2), nullable=True),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("what", sa.String(length=300), nullable=False),
        sa.Column("context", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("detail", sa.String(length=400), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_patient_id"],
            ["patients.id"],
            name=op.f("fk_access_log_actor_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_professional_id"],
            ["professionals.id"],
            name=op.f("fk_access_log_actor_professional_id_professionals"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_access_log_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_access_log_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index("ix_access_log_patient_at", ["patient_id", "at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_index("ix_access_log_patient_at")

    op.drop_table("access_log")
    with op.batch_alter_table("therapeutic_relationships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_therapeutic_relationships_professional_id"))
        batch_op.drop_index("ix_relationship_patient_prof")

    op.drop_table("therapeutic_relationships")
    with op.batch_alter_table("emergency_accesses", schema=None) as batch_op:
        batch_op.drop_index("ix_emergency_patient_prof")

    op.drop_table("emergency_accesses")
    with op.batch_alter_table("dsp_state_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dsp_state_changes_patient_id"))

    op.drop_table("dsp_state_changes")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_series_id"))
        batch_op.drop_index("ix_documents_patient_current")

    op.drop_table("documents")
    with op.batch_alter_table("cross_border_consents", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_patient_service")

    op.drop_table("cross_border_consents")
    with op.batch_alter_table("access_rules", schema=None) as batch_op:
        batch_op.drop_index("ix_access_rules_patient_prof")

    op.drop_table("access_rules")
    op.drop_table("patients")
    op.drop_table("professionals")
    op.drop_table("organisations")
    with op.batch_alter_table("audit_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_messages_patient_ref"))
        batch_op.drop_index(batch_op.f("ix_audit_messages_at"))

    op.drop_table("audit_messages")
    with op.batch_alter_table("assertion_replay", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assertion_replay_not_on_or_after"))

    op.drop_table("assertion_replay")
