"""One registry of the code systems we meet, by OID (what CDA carries) and by FHIR URI (what the
MVC's FHIR shorthand carries), with the name written in ``codeSystemName``.

Each external OID was checked against the codes of the eHDSI value sets published with the
schematron release (``voc-*.xml``): the FSH URI and the OID name the same codes there.

The Luxembourg code systems of the national ("friendly") profile are project-local OIDs under our
home community arc (``1.3.182.2.4.1``, see ``ncp.settings``): the DSP's national catalogues
registered under those OIDs in this project (``ncp/terminology/data/mappings``). A deployment
that receives registered OIDs changes them here and in the mapping files' headers only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CodeSystem:
    oid: str
    name: str
    uri: str = ""
    national: bool = False


_LU = "1.3.182.2.4.1.100"

CODE_SYSTEMS: tuple[CodeSystem, ...] = (
    CodeSystem("2.16.840.1.113883.6.96", "SNOMED CT", "http://snomed.info/sct"),
    CodeSystem("2.16.840.1.113883.6.1", "LOINC", "http://loinc.org"),
    CodeSystem("0.4.0.127.0.16.1.1.2.1", "EDQM", "http://standardterms.edqm.eu"),
    CodeSystem("2.16.840.1.113883.6.73", "ATC WHO", "http://www.whocc.no/atc"),
    CodeSystem("1.3.6.1.4.1.12559.11.10.1.3.1.44.2", "ICD-10", "http://hl7.org/fhir/sid/icd-10"),
    CodeSystem("2.16.840.1.113883.6.3", "ICD-10 WHO"),
    CodeSystem("2.16.840.1.113883.6.8", "UCUM", "http://unitsofmeasure.org"),
    CodeSystem("1.3.6.1.4.1.12559.11.10.1.3.1.44.5", "Orphanet", "https://www.orpha.net"),
    CodeSystem("1.0.3166.1", "ISO 3166-1",
               "http://terminology.hl7.org/5.3.0/CodeSystem-ISO3166Part1.html"),
    CodeSystem("1dd183a6-6d2b-4a9d-8f5d-be09d6bb5a6e", "IETF BCP 47", "urn:ietf:bcp:47"),
    CodeSystem("2.16.840.1.113883.2.9.6.2.7", "ISCO", "urn:oid:2.16.840.1.113883.2.9.6.2.7"),
    CodeSystem("1.3.6.1.4.1.12559.11.10.1.3.1.44.4", "eHDSI Null Flavor",
               "urn:oid:1.3.6.1.4.1.12559.11.10.1.3.1.44.4"),
    CodeSystem("1.3.6.1.4.1.12559.11.10.1.3.1.44.6", "EMDN",
               "urn:oid:1.3.6.1.4.1.12559.11.10.1.3.1.44.6"),
    CodeSystem("2.16.840.1.113883.5.1", "AdministrativeGender",
               "http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender"),
    CodeSystem("2.16.840.1.113883.5.25", "Confidentiality",
               "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"),
    CodeSystem("2.16.840.1.113883.5.111", "RoleCode",
               "http://terminology.hl7.org/CodeSystem/v3-RoleCode"),
    CodeSystem("2.16.840.1.113883.5.110", "RoleClass",
               "http://terminology.hl7.org/CodeSystem/v3-RoleClass"),
    CodeSystem("2.16.840.1.113883.5.1119", "AddressUse",
               "http://terminology.hl7.org/CodeSystem/v3-AddressUse"),
    CodeSystem("2.16.840.1.113883.5.139", "TimingEvent",
               "http://terminology.hl7.org/CodeSystem/v3-TimingEvent"),
    CodeSystem("2.16.840.1.113883.5.1070", "substanceAdminSubstitution",
               "http://terminology.hl7.org/CodeSystem/v3-substanceAdminSubstitution"),
    CodeSystem("2.16.840.1.113883.5.83", "ObservationInterpretation",
               "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"),
    CodeSystem("2.16.840.1.113883.5.90", "ParticipationType",
               "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"),
    CodeSystem("2.16.840.1.113883.5.1008", "NullFlavor",
               "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"),
    CodeSystem("2.16.840.1.113883.5.1150.1", "IPS Absent and Unknown Data",
               "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips"),
    CodeSystem("2.16.840.1.113883.5.88", "ParticipationFunction",
               "http://terminology.hl7.org/CodeSystem/v3-ParticipationFunction"),
    CodeSystem("2.16.840.1.113883.5.4", "ActCode",
               "http://terminology.hl7.org/CodeSystem/v3-ActCode"),
    CodeSystem("2.16.840.1.113883.4.642.4.1075", "condition-ver-status",
               "http://terminology.hl7.org/CodeSystem/condition-ver-status"),
    CodeSystem("2.16.840.1.113883.4.642.4.1371", "allergyintolerance-verification",
               "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"),
    CodeSystem("2.16.840.1.113883.4.642.4.1373", "allergyintolerance-clinical",
               "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"),
    CodeSystem("2.16.840.1.113883.4.642.4.130", "allergy-intolerance-criticality",
               "http://hl7.org/fhir/allergy-intolerance-criticality"),
    # Luxembourg national catalogues of the DSP (project-local OIDs, see module docstring).
    CodeSystem(f"{_LU}.1", "LU-SEXE", national=True),
    CodeSystem(f"{_LU}.2", "LU-VOIE", national=True),
    CodeSystem(f"{_LU}.3", "LU-FORME", national=True),
    CodeSystem(f"{_LU}.4", "LU-CONDITIONNEMENT", national=True),
    CodeSystem(f"{_LU}.5", "LU-PRINCIPE-ACTIF", national=True),
    CodeSystem(f"{_LU}.6", "LU-ALLERGENE", national=True),
    CodeSystem(f"{_LU}.7", "LU-REACTION", national=True),
    CodeSystem(f"{_LU}.8", "LU-TYPE-ALLERGIE", national=True),
    CodeSystem(f"{_LU}.9", "LU-PROFESSION", national=True),
    CodeSystem(f"{_LU}.10", "LU-ACTE", national=True),
    CodeSystem(f"{_LU}.11", "LU-DISPOSITIF", national=True),
    CodeSystem(f"{_LU}.12", "LU-SUBSTITUTION", national=True),
    CodeSystem(f"{_LU}.13", "LU-STATUT-PROBLEME", national=True),
    CodeSystem(f"{_LU}.14", "LU-SEVERITE", national=True),
    CodeSystem(f"{_LU}.20", "LU-PRODUIT", national=True),
)

#: Template ids of our national documents (project-local, under the same arc).
NATIONAL_TEMPLATE_ARC = f"{_LU}.90"

BY_OID = {cs.oid: cs for cs in CODE_SYSTEMS}
BY_URI = {cs.uri: cs for cs in CODE_SYSTEMS if cs.uri}
BY_NAME = {cs.name: cs for cs in CODE_SYSTEMS}


def oid_for_uri(uri: str) -> str | None:
    """The OID of a FHIR code system URI (``urn:oid:`` URIs carry it themselves)."""
    if uri in BY_URI:
        return BY_URI[uri].oid
    if uri.startswith("urn:oid:"):
        return uri[len("urn:oid:"):]
    return None


def name_of(oid: str) -> str | None:
    cs = BY_OID.get(oid)
    return cs.name if cs else None


def national(name: str) -> str:
    """The OID of a national code system by name, e.g. ``national("LU-VOIE")``."""
    cs = BY_NAME[name]
    if not cs.national:
        raise KeyError(f"{name} is not a national code system")
    return cs.oid
