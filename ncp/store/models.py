"""The schema of the DSP record store (SQLAlchemy 2 declarative, one schema for all databases).

Schema changes go through Alembic only (``ncp/store/migrations``). Enumerated columns store the
string values of :mod:`ncp.store.vocabulary` and are checked by the repositories, so that the
same schema works on SQLite and PostgreSQL without native enum types.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from ncp.store import sealed

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: object
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identifier: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))  # hospital, practice, pharmacy, laboratory...
    country: Mapped[str] = mapped_column(String(2), default="LU")


class Professional(Base):
    __tablename__ = "professionals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registry_id: Mapped[str] = mapped_column(String(32), unique=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    profession: Mapped[str] = mapped_column(String(40))
    specialty: Mapped[str | None] = mapped_column(String(100))
    isco_code: Mapped[str] = mapped_column(String(8))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
    #: When the national registry reported the professional as no longer practising: from then
    #: on they act on no record (their documents stay, with their name).
    retired_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class ProfessionalOrganisation(Base):
    """Where a professional practises, as the national registry lists it: a practice and a
    hospital, say. ``position`` 0 is the main place (``Professional.organisation_id``), the one
    named on what they write and in the patients' access logs."""

    __tablename__ = "professional_organisations"

    professional_id: Mapped[int] = mapped_column(ForeignKey("professionals.id"),
                                                 primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"),
                                                 primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matricule: Mapped[str] = mapped_column(String(13), unique=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(2))
    street: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2), default="LU")
    preferred_language: Mapped[str] = mapped_column(String(2), default="fr")
    referring_doctor_id: Mapped[int | None] = mapped_column(ForeignKey("professionals.id"))
    dsp_state: Mapped[str] = mapped_column(String(10), default="open")
    dsp_opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    dsp_closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    #: Date of death as the social-security register reports it.
    death_date: Mapped[dt.date | None] = mapped_column(Date)
    #: When the person activated their eSanté account (None: opened by the register feed and
    #: not yet activated; professionals' rules apply from the start all the same).
    activated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class DspStateChange(Base):
    """Each closing and reopening of a DSP, kept for the record."""

    __tablename__ = "dsp_state_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    state: Mapped[str] = mapped_column(String(10))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(String(400))


@sealed.table('ciphertext', 'title_sealed')
class Document(Base):
    """One version of a document. Content is encrypted (see :mod:`ncp.store.crypto`)."""

    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_patient_current", "patient_id", "is_current"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unique_id: Mapped[str] = mapped_column(String(80), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    doc_type: Mapped[str] = mapped_column(String(40))
    #: Empty since the title is sealed (``title_sealed``, under the content's data key, with
    #: the content's associated data); kept for rows written before, until ``ncp keys reseal``.
    title: Mapped[str | None] = mapped_column(String(300), nullable=True)
    title_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    media_type: Mapped[str] = mapped_column(String(80))
    author_kind: Mapped[str] = mapped_column(String(16))  # professional, patient, foreign
    author_professional_id: Mapped[int | None] = mapped_column(ForeignKey("professionals.id"))
    author_name: Mapped[str | None] = mapped_column(String(200))  # foreign authors
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    service_start: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    service_stop: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    confidentiality: Mapped[str] = mapped_column(String(1), default="N")
    masked: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: The first version's id: every version of one document shares it.
    series_id: Mapped[int | None] = mapped_column(Integer, index=True)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    content_size: Mapped[int] = mapped_column(Integer)
    #: 0: the ciphertext's associated data is the unique id alone (before issue 14); 1: it
    #: binds the patient and the access fields too (ncp.store.documents.document_aad); 2: the
    #: same, and the title is sealed too (a version-2 row cannot pass for an older one).
    aad_version: Mapped[int] = mapped_column(Integer, default=1, server_default="0")
    key_id: Mapped[str] = mapped_column(String(40))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary(64))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = deferred(mapped_column(LargeBinary))


class TherapeuticRelationship(Base):
    __tablename__ = "therapeutic_relationships"
    __table_args__ = (Index("ix_relationship_patient_prof", "patient_id", "professional_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    professional_id: Mapped[int] = mapped_column(ForeignKey("professionals.id"), index=True)
    valid_from: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    valid_to: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    source: Mapped[str] = mapped_column(String(20))


class AccessRule(Base):
    """A patient's grant, block or restricted-access naming for one professional."""

    __tablename__ = "access_rules"
    __table_args__ = (Index("ix_access_rules_patient_prof", "patient_id", "professional_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    professional_id: Mapped[int] = mapped_column(ForeignKey("professionals.id"))
    kind: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


@sealed.table('reason_sealed')
class EmergencyAccess(Base):
    """A "break the glass" access: allowed for a short window, flagged, shown to the patient."""

    __tablename__ = "emergency_accesses"
    __table_args__ = (Index("ix_emergency_patient_prof", "patient_id", "professional_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    professional_id: Mapped[int] = mapped_column(ForeignKey("professionals.id"))
    reason: Mapped[str | None] = mapped_column(String(400), nullable=True)
    #: Sealed values (issue 14, finding 8): each ``x_sealed`` is ``x`` under this row's data key,
    #: wrapped by the master key ``key_id`` (:mod:`ncp.store.sealed`). The plaintext column is
    #: empty for rows written since; older rows keep it until ``ncp keys reseal``.
    key_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary(64), nullable=True)
    reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    #: Why, as a code the data protection officer can count (``EmergencyReason``).
    reason_code: Mapped[str] = mapped_column(String(40), default="other")
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


@sealed.table('text_sealed')
class PatientNotice(Base):
    """Something the patient is told about their record: a break-the-glass access, an act of
    their helper. Shown to the patient until read; never deleted with the act."""

    __tablename__ = "patient_notices"
    __table_args__ = (Index("ix_patient_notices_patient", "patient_id", "read_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(40))  # emergency-access, helper-act
    text: Mapped[str | None] = mapped_column(String(400), nullable=True)
    #: Sealed values (issue 14, finding 8): each ``x_sealed`` is ``x`` under this row's data key,
    #: wrapped by the master key ``key_id`` (:mod:`ncp.store.sealed`). The plaintext column is
    #: empty for rows written since; older rows keep it until ``ncp keys reseal``.
    key_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary(64), nullable=True)
    text_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    read_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


@sealed.table('detail_sealed')
class DpoAlert(Base):
    """An alert for the data protection officer (break the glass, a refused excess of it)."""

    __tablename__ = "dpo_alerts"
    __table_args__ = (Index("ix_dpo_alerts_open", "acknowledged_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(40))  # emergency-access, emergency-limit
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    professional_id: Mapped[int | None] = mapped_column(ForeignKey("professionals.id"))
    detail: Mapped[str | None] = mapped_column(String(400), nullable=True)
    #: Sealed values (issue 14, finding 8): each ``x_sealed`` is ``x`` under this row's data key,
    #: wrapped by the master key ``key_id`` (:mod:`ncp.store.sealed`). The plaintext column is
    #: empty for rows written since; older rows keep it until ``ncp keys reseal``.
    key_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary(64), nullable=True)
    detail_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class CrossBorderConsent(Base):
    """Explicit consent to cross-border sharing, per service; withdrawal closes the row."""

    __tablename__ = "cross_border_consents"
    __table_args__ = (Index("ix_consent_patient_service", "patient_id", "service"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    service: Mapped[str] = mapped_column(String(20))
    given_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    channel: Mapped[str] = mapped_column(String(40))
    #: The Patient Information Notice version acknowledged with this consent
    #: (``ncp.consent.notice``); None for consents given before notices were versioned.
    notice_version: Mapped[str | None] = mapped_column(String(10))


@sealed.table('what_sealed', 'detail_sealed')
class AccessLogEntry(Base):
    """Every search, read and write of the record, written in the same transaction."""

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_patient_at", "patient_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_professional_id: Mapped[int | None] = mapped_column(ForeignKey("professionals.id"))
    actor_patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    #: Display name of the actor as known at the time (foreign professionals, helpers).
    actor_name: Mapped[str | None] = mapped_column(String(200))
    actor_organisation: Mapped[str | None] = mapped_column(String(200))
    actor_country: Mapped[str | None] = mapped_column(String(2))
    action: Mapped[str] = mapped_column(String(12))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    what: Mapped[str | None] = mapped_column(String(300), nullable=True)
    context: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(10))
    detail: Mapped[str | None] = mapped_column(String(400))
    #: Sealed values (issue 14, finding 8): each ``x_sealed`` is ``x`` under this row's data key,
    #: wrapped by the master key ``key_id`` (:mod:`ncp.store.sealed`). The plaintext columns are
    #: empty for rows written since, except the administrative rows of the national feeds
    #: (actor: the system, no clinical text); older rows keep them until ``ncp keys reseal``.
    key_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary(64), nullable=True)
    what_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    detail_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    #: The hash chain (ncp.store.chain): position and link, set by the sealer.
    chain_seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    chain_hash: Mapped[str | None] = mapped_column(String(64))


@sealed.table('product_name_sealed', 'atc_code_sealed', 'atc_display_sealed', 'strength_sealed')
class Prescription(Base):
    """The dispensing state of one ePrescription (one prescribed product) of the DSP.

    The prescription document itself is a row of ``documents``; this row carries what the
    gateway needs without decrypting it (XCA metadata) and what dispensing changes.
    """

    __tablename__ = "prescriptions"
    __table_args__ = (Index("ix_prescriptions_patient_status", "patient_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Identifier in the ePrescription id domain (1.3.182.11.5), the eP document's setId.
    prescription_id: Mapped[str] = mapped_column(String(64), unique=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    product_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    atc_code: Mapped[str | None] = mapped_column(String(16))
    atc_display: Mapped[str | None] = mapped_column(String(200))
    #: Sealed values (issue 14, finding 8): each ``x_sealed`` is ``x`` under this row's data key,
    #: wrapped by the master key ``key_id`` (:mod:`ncp.store.sealed`). The plaintext column is
    #: empty for rows written since; older rows keep it until ``ncp keys reseal``.
    key_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary(64), nullable=True)
    product_name_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    atc_code_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    atc_display_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    strength_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    dose_form_code: Mapped[str | None] = mapped_column(String(32))
    dose_form_display: Mapped[str | None] = mapped_column(String(200))
    strength: Mapped[str | None] = mapped_column(String(100))
    substitution_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    packages_prescribed: Mapped[int] = mapped_column(Integer)
    packages_dispensed: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(24))
    prescribed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    valid_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class Dispensation(Base):
    """An eDispensation received for one of our prescriptions (from a pharmacy abroad)."""

    __tablename__ = "dispensations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The eD document's unique id: a re-submission of the same id is answered idempotently.
    unique_id: Mapped[str] = mapped_column(String(128), unique=True)
    prescription_row_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    packages: Mapped[int] = mapped_column(Integer)
    organisation: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    pharmacist: Mapped[str] = mapped_column(String(200))
    dispensed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    discarded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    discard_unique_id: Mapped[str | None] = mapped_column(String(128), unique=True)


@sealed.table('ciphertext')
class ReceivedOriginal(Base):
    """A document exactly as a foreign country sent it, kept beside the national form that the
    DSP stores in its place (today: the pivot eDispensation behind a dispensation document).

    The DSP's users read the national document; this row is the evidence of what crossed the
    border. Sealed like every document (its own data key wrapped by a master key, the
    associated data binding it to its document: :mod:`ncp.store.originals`), and written in the
    same transaction as the document it belongs to.
    """

    __tablename__ = "received_originals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The stored (national) document this is the original of: one original per document.
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), unique=True)
    #: The sending country (the TLS client's and the assertion signer's).
    country: Mapped[str] = mapped_column(String(2))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    media_type: Mapped[str] = mapped_column(String(80))
    content_size: Mapped[int] = mapped_column(Integer)
    #: SHA-256 of the bytes received (hex): the original can be matched to the sender's copy
    #: without decrypting it.
    sha256: Mapped[str] = mapped_column(String(64))
    #: 0: associated data the document id alone; 1: also the patient, the type and the
    #: sending country (:mod:`ncp.store.originals`).
    aad_version: Mapped[int] = mapped_column(Integer, default=1, server_default="0")
    key_id: Mapped[str] = mapped_column(String(40))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary(64))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class AssertionReplay(Base):
    """SAML assertion ids already accepted, kept until their NotOnOrAfter (shared replay cache)."""

    __tablename__ = "assertion_replay"

    assertion_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    not_on_or_after: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class AuditMessage(Base):
    """ATNA audit records (RFC 3881 / DICOM AuditMessage), durable before forwarding."""

    __tablename__ = "audit_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    transaction: Mapped[str] = mapped_column(String(20))
    event_code: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(2))
    patient_ref: Mapped[str | None] = mapped_column(String(100), index=True)
    message: Mapped[str] = mapped_column(Text)
    forwarded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    #: The hash chain (ncp.store.chain): position and link, set by the sealer.
    chain_seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    chain_hash: Mapped[str | None] = mapped_column(String(64))
    #: A refusal's error id (the one the peer was sent), the check that refused (a
    #: :class:`~ncp.security.errors.SecurityError` reason such as ``revoked``, or the error's
    #: kind), the element it concerns and the internal detail: what an operator needs to
    #: answer a peer that quotes the error id. Never sent to the peer.
    error_id: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    refusal_check: Mapped[str | None] = mapped_column(String(64), nullable=True)
    refusal_element: Mapped[str | None] = mapped_column(String(200), nullable=True)
    refusal_detail: Mapped[str | None] = mapped_column(Text, nullable=True)


@sealed.table('detail_sealed', pk='error_id')
class PartialRefusal(Base):
    """An error sent inside an answer that otherwise succeeded (a document of a retrieve that
    is unknown, masked or not permitted; a warning such as 1102): its error id reaches the peer
    in a RegistryError like any refusal's, so ``ncp explain`` must find it. One row per error,
    with the audit record of its exchange."""

    __tablename__ = "audit_partial_refusals"

    error_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    audit_message_id: Mapped[int] = mapped_column(ForeignKey("audit_messages.id"), index=True)
    check: Mapped[str] = mapped_column(String(64))
    element: Mapped[str | None] = mapped_column(String(200), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Sealed values (issue 14, finding 8): each ``x_sealed`` is ``x`` under this row's data key,
    #: wrapped by the master key ``key_id`` (:mod:`ncp.store.sealed`). The plaintext column is
    #: empty for rows written since; older rows keep it until ``ncp keys reseal``.
    key_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary(64), nullable=True)
    detail_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    #: The hash chain (ncp.store.chain): position and link, set by the sealer.
    chain_seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    chain_hash: Mapped[str | None] = mapped_column(String(64))


__all__ = [
    "AccessLogEntry",
    "AccessRule",
    "AssertionReplay",
    "AuditMessage",
    "Base",
    "CrossBorderConsent",
    "Dispensation",
    "Document",
    "DspStateChange",
    "EmergencyAccess",
    "Organisation",
    "PartialRefusal",
    "Patient",
    "Prescription",
    "Professional",
    "TherapeuticRelationship",
    "UtcDateTime",
]
