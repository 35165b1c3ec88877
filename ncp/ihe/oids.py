"""One registry of the object identifiers (OIDs) and registry UUIDs the protocol layer uses.

Each entry says where the identifier is registered or where we took it from, so that a reviewer
can check it without reading code that uses it. Nothing else in ``ncp`` spells an OID or an XDS
UUID literally: import it from here.

Sources cited:
- *ISM LU*: the International Search Mask of Luxembourg, ``../shared/specs/smp/ism-forms/``.
- *HL7 OID registry*: https://www.hl7.org/oid/ (the HL7 v3 code systems and HL7 roots).
- *IHE ITI TF-3*: IHE IT Infrastructure Technical Framework Volume 3, section 4.2.5
  (XDS metadata UUIDs), 4.2.8 (stored query ids), and ITI-55 for the XCPD code systems.
- *eHDSI*: the eHDSI XCPD and XCA profile specifications and the Master Value Set Catalogue
  (``../shared/specs/mvc/``); *OpenNCP* where only the reference gateway's wire format is known.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class Oid:
    """An identifier together with its human name and where it is registered."""

    value: str
    name: str
    source: str

    def __str__(self) -> str:
        return self.value

    @property
    def urn(self) -> str:
        """``urn:oid:`` form, as XCA writes homeCommunityId."""
        return f"urn:oid:{self.value}"


# --- Luxembourg ------------------------------------------------------------------------------
LU_PATIENT_ID = Oid(value="1.3.182.4.4", name="Luxembourg national identifier (matricule)",
                    source="ISM LU (smp/ism-forms/InternationalSearch_LU.xml), domain attribute")
#: Our choice, not registered yet: the national OID registrar (Agence eSanté) assigns the final
#: arc before go-live (docs/registry.md, docs/go-live.md). A sibling of the matricule's arc, not
#: a child of it and no string prefix of it, so that no prefix match takes one for the other.
LU_PROVISIONAL_ID = Oid(value="1.3.182.4.9", name="Luxembourg DSP provisional identifier "
                        "(a DSP opened at a visit, person without a matricule)",
                        source="ncp's own choice, to be registered (docs/registry.md)")
LU_EPRESCRIPTION_ID = Oid(value="1.3.182.11.5", name="Luxembourg ePrescription identifiers",
                          source="ISM LU, ePrescription id domain")

# --- HL7 v3 code systems and roots -------------------------------------------------------------
LOINC = Oid(value="2.16.840.1.113883.6.1", name="LOINC", source="HL7 OID registry")
UCUM = Oid(value="2.16.840.1.113883.6.8", name="UCUM", source="HL7 OID registry")
ATC = Oid(value="2.16.840.1.113883.6.73", name="WHO ATC", source="HL7 OID registry")
HL7_INTERACTION = Oid(value="2.16.840.1.113883.1.6", name="HL7 interaction identifiers",
                      source="HL7 OID registry (interactionId and trigger event root)")
HL7_ACT_CODE = Oid(value="2.16.840.1.113883.5.4", name="HL7 ActCode", source="HL7 OID registry")
HL7_ADMINISTRATIVE_GENDER = Oid(value="2.16.840.1.113883.5.1", name="HL7 AdministrativeGender",
                                source="HL7 OID registry")
HL7_CONFIDENTIALITY = Oid(value="2.16.840.1.113883.5.25", name="HL7 Confidentiality",
                          source="HL7 OID registry")
HL7_SUBSTANCE_ADMIN_SUBSTITUTION = Oid(value="2.16.840.1.113883.5.1070",
                                       name="HL7 SubstanceAdminSubstitution",
                                       source="HL7 OID registry")
HL7_QUERY_MATCH = Oid(value="2.16.840.1.113883.1.11.19914", name="HL7 ObservationQueryMatchType",
                      source="HL7 OID registry; used by XCPD queryMatchObservation/code")
ISCO_08 = Oid(value="2.16.840.1.113883.2.9.6.2.7", name="ISCO-08 occupations",
              source="eHDSI HCP assertion role and CDA functionCode (registered by HL7 Italy)")
ISO_3166_1 = Oid(value="1.0.3166.1", name="ISO 3166-1 country codes",
                 source="ISO; eHDSI healthcareFacilityTypeCode codingScheme (XDR sample)")
EDQM = Oid(value="0.4.0.127.0.16.1.1.2.1", name="EDQM Standard Terms",
           source="EDQM; eHDSI dose form in XCA eP metadata (OpenNCP)")

# --- IHE -------------------------------------------------------------------------------------
IHE_XCPD_ERROR = Oid(value="1.3.6.1.4.1.19376.1.2.27.3", name="IHE XCPD error codes",
                     source="IHE ITI TF-2 ITI-55, Table 3.55.4.2.2.7-1")
IHE_XCPD_HEALTH_DATA_LOCATOR = Oid(value="1.3.6.1.4.1.19376.1.2.27.2",
                                   name="IHE XCPD custodian codes (health data locator)",
                                   source="IHE ITI TF-2 ITI-55")
IHE_XDW_EVENT_CODE = Oid(value="1.3.6.1.4.1.19376.1.2.3", name="IHE XDW workflow event codes",
                         source="IHE XDW; eHDSI eP 'dispensable' event code (OpenNCP)")

# --- eHDSI -----------------------------------------------------------------------------------
EHDSI_XCPD_ERROR = Oid(value="1.3.6.1.4.1.12559.11.10.1.3.2.2.1", name="eHDSI XCPD error codes",
                       source="eHDSI XCPD profile specification")
EHDSI_CODE_SYSTEM_ROOT = Oid(value="1.3.6.1.4.1.12559.11.10.1.3.1", name="eHDSI terminology root",
                             source="eHDSI Master Value Set Catalogue (mvc/)")
EHDSI_DISPLAY_LABELS = Oid(value="1.3.6.1.4.1.12559.11.10.1.3.1.44.4", name="epSOSDisplayLabels",
                           source="eHDSI MVC (code system of the display labels)")
#: Not an OID: the reference gateway writes this literal as codingScheme of the eP strength.
EHDSI_STRENGTH_SCHEME = "eHDSI_Strength_CodeSystem"


# --- XDS metadata UUIDs (IHE ITI TF-3 4.2.5) ---------------------------------------------------
@dataclass(frozen=True, kw_only=True, slots=True)
class XdsUuid:
    """An ebRIM classification scheme, identification scheme or object type of XDS."""

    value: str
    name: str
    source: str = "IHE ITI TF-3 4.2.5"

    def __str__(self) -> str:
        return self.value


def _x(value: str, name: str) -> XdsUuid:
    return XdsUuid(value=f"urn:uuid:{value}", name=name)


DOCUMENT_ENTRY_STABLE = _x("7edca82f-054d-47f2-a032-9b2a5b5186c1", "DocumentEntry (stable)")
DOCUMENT_ENTRY_ON_DEMAND = _x("34268e47-fdf5-41a6-ba33-82133c465248", "DocumentEntry (on-demand)")
DE_AUTHOR = _x("93606bcf-9494-43ec-9b4e-a7748d1a838d", "XDSDocumentEntry.author")
DE_CLASS_CODE = _x("41a5887f-8865-4c09-adf7-e362475b143a", "XDSDocumentEntry.classCode")
DE_CONFIDENTIALITY_CODE = _x("f4f85eac-e6cb-4883-b524-f2705394840f",
                             "XDSDocumentEntry.confidentialityCode")
DE_EVENT_CODE_LIST = _x("2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4", "XDSDocumentEntry.eventCodeList")
DE_FORMAT_CODE = _x("a09d5840-386c-46f2-b5ad-9c3699a4309d", "XDSDocumentEntry.formatCode")
DE_HEALTHCARE_FACILITY_TYPE_CODE = _x("f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1",
                                      "XDSDocumentEntry.healthCareFacilityTypeCode")
DE_PRACTICE_SETTING_CODE = _x("cccf5598-8b07-4b77-a05e-ae952c785ead",
                              "XDSDocumentEntry.practiceSettingCode")
DE_TYPE_CODE = _x("f0306f51-975f-434e-a61c-c59651d33983", "XDSDocumentEntry.typeCode")
DE_PATIENT_ID = _x("58a6f841-87b3-4a3e-92fd-a8ffeff98427", "XDSDocumentEntry.patientId")
DE_UNIQUE_ID = _x("2e82c1f6-a085-4c72-9da3-8640a32e42ab", "XDSDocumentEntry.uniqueId")
SUBMISSION_SET = _x("a54d6aa5-d40d-43f9-88c5-b4633d873bdd",
                    "XDSSubmissionSet (classification node)")
SS_AUTHOR = _x("a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d", "XDSSubmissionSet.author")
SS_CONTENT_TYPE_CODE = _x("aa543740-bdda-424e-8c96-df4873be8500",
                          "XDSSubmissionSet.contentTypeCode")
SS_PATIENT_ID = _x("6b5aea1a-874d-4603-a4bc-96a0a7b38446", "XDSSubmissionSet.patientId")
SS_SOURCE_ID = _x("554ac39e-e3fe-47fe-b233-965d2a147832", "XDSSubmissionSet.sourceId")
SS_UNIQUE_ID = _x("96fdda7c-d067-4183-912e-bf5ee74998a8", "XDSSubmissionSet.uniqueId")

#: Stored query ids (IHE ITI TF-2 3.18.4.1.2.3.7): only FindDocuments is used by eHDSI.
FIND_DOCUMENTS_QUERY = XdsUuid(value="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d",
                               name="FindDocuments stored query",
                               source="IHE ITI TF-2 3.18.4.1.2.3.7.1")
