"""The closed vocabularies of the record store, as enums whose values are stored verbatim."""

from __future__ import annotations

import enum


class Profession(enum.StrEnum):
    PHYSICIAN = "physician"
    PHARMACIST = "pharmacist"
    NURSE = "nurse"
    MIDWIFE = "midwife"
    DENTIST = "dentist"
    PHYSIOTHERAPIST = "physiotherapist"
    PSYCHOTHERAPIST = "psychotherapist"
    LABORATORY_PHYSICIAN = "laboratory-physician"
    RADIOLOGIST = "radiologist"


class DocumentType(enum.StrEnum):
    LABORATORY_REPORT = "laboratory-report"
    IMAGING_REPORT = "imaging-report"
    VISIT_REPORT = "visit-report"
    PRESCRIPTION = "prescription"
    DISCHARGE_LETTER = "discharge-letter"
    HOME_CARE_REPORT = "home-care-report"
    PATIENT_SUMMARY = "patient-summary"
    PERSONAL_NOTE = "personal-note"
    DISPENSATION = "dispensation"
    #: The insurer's summary of the services and examinations it reimbursed (written by the
    #: services feed only, ncp.store.services; never shared across borders).
    SERVICES_SUMMARY = "services-summary"


class Confidentiality(enum.StrEnum):
    """HL7 v3 Confidentiality codes (2.16.840.1.113883.5.25) used by the DSP."""

    NORMAL = "N"
    RESTRICTED = "R"
    VERY_RESTRICTED = "V"


class Gender(enum.StrEnum):
    """HL7 AdministrativeGender (2.16.840.1.113883.5.1)."""

    MALE = "M"
    FEMALE = "F"
    UNDIFFERENTIATED = "UN"


class DspState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class RelationshipSource(enum.StrEnum):
    REFERRING_DOCTOR = "referring-doctor"
    ADMISSION = "admission"
    VISIT = "visit"


class AccessRuleKind(enum.StrEnum):
    """The patient's own rules about one professional."""

    GRANT = "grant"  # may see my record although no therapeutic relationship is on file
    BLOCK = "block"  # may never see my record, emergencies included
    RESTRICTED = "restricted"  # may see my documents marked restricted (R)


class CrossBorderService(enum.StrEnum):
    PATIENT_SUMMARY = "patient-summary"
    EPRESCRIPTION = "eprescription"


class ActorKind(enum.StrEnum):
    PATIENT = "patient"
    HELPER = "helper"  # the patient's DSP assistant, acting for the patient
    PROFESSIONAL = "professional"
    FOREIGN = "foreign"  # a foreign professional through a foreign NCPeH
    SYSTEM = "system"


class EmergencyReason(enum.StrEnum):
    """Why the glass was broken, as a code (the free text says the rest)."""

    UNCONSCIOUS = "unconscious"  # the patient cannot consent or answer
    LIFE_THREATENING = "life-threatening"
    URGENT_CARE = "urgent-care"  # urgent treatment, the usual doctor unreachable
    OTHER = "other"


class AccessContext(enum.StrEnum):
    TREATMENT = "treatment"
    EMERGENCY = "emergency"
    CROSS_BORDER = "cross-border"
    PATIENT = "patient"  # the patient or their helper looking at their own record
    ADMINISTRATION = "administration"


class AccessAction(enum.StrEnum):
    SEARCH = "search"
    READ = "read"
    WRITE = "write"
    UPDATE = "update"
    POLICY = "policy"  # a change of the patient's rules, consent or DSP state


class Outcome(enum.StrEnum):
    SUCCESS = "success"
    DENIED = "denied"
    ERROR = "error"
