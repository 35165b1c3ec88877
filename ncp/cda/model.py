"""Structured clinical content from which national CDA documents are generated.

The mapper → model → generator split (see STYLE.md): whatever produces the data (the DSP record
store, the demo seeder) fills these dataclasses; :mod:`ncp.cda.national` turns them into XML.
Coded values are :class:`Coded` in a *national* code system (or an international one the national
profile uses as is, such as LOINC section codes or WHO ICD-10).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Coded:
    code: str
    system: str
    display: str
    system_name: str = ""


@dataclass(frozen=True)
class Address:
    street: str
    city: str
    postal_code: str
    country: str = "LU"


@dataclass(frozen=True)
class Person:
    given_name: str
    family_name: str


@dataclass(frozen=True)
class Organisation:
    id_root: str
    id_extension: str
    name: str
    address: Address
    telecom: str  # URI, e.g. tel:+35244111


@dataclass(frozen=True)
class Professional:
    id_root: str
    id_extension: str
    person: Person
    profession: Coded  # national profession code (LU-PROFESSION)
    organisation: Organisation
    telecom: str


@dataclass(frozen=True)
class Patient:
    id_root: str
    id_extension: str  # the matricule
    person: Person
    gender: Coded  # LU-SEXE
    birth_date: dt.date
    address: Address


@dataclass(frozen=True)
class Product:
    """A medicinal product as the national drug list describes it."""

    code: str  # national product number (CNS)
    name: str  # brand name
    substance: Coded  # LU-PRINCIPE-ACTIF
    strength_value: str
    strength_unit: str  # UCUM
    strength_per_value: str  # denominator, e.g. "1"
    strength_per_unit: str  # UCUM, "1" for per unit of presentation
    dose_form: Coded  # LU-FORME
    package: Coded  # LU-CONDITIONNEMENT
    package_size: str  # number of units in the package
    package_unit: str  # UCUM of the package quantity ("1" for units)


@dataclass(frozen=True)
class Medication:
    """A medication the patient takes (Patient Summary) or a prescription item (eP)."""

    item_id: str
    product: Product
    route: Coded  # LU-VOIE
    dose_value: str
    dose_unit: str  # UCUM
    period_hours: int  # one dose every ``period_hours`` hours
    start: dt.date
    end: dt.date | None = None
    instructions: str = ""


@dataclass(frozen=True)
class PrescriptionItem:
    medication: Medication
    packages: int
    substitution: Coded  # LU-SUBSTITUTION


@dataclass(frozen=True)
class Allergy:
    item_id: str
    kind: Coded  # LU-TYPE-ALLERGIE
    agent: Coded  # LU-ALLERGENE or LU-PRINCIPE-ACTIF
    reaction: Coded | None  # LU-REACTION
    severity: Coded | None  # LU-SEVERITE
    onset: dt.date | None


@dataclass(frozen=True)
class Problem:
    item_id: str
    diagnosis: Coded  # WHO ICD-10
    onset: dt.date
    status: Coded | None = None  # LU-STATUT-PROBLEME


@dataclass(frozen=True)
class Procedure:
    item_id: str
    procedure: Coded  # LU-ACTE
    date: dt.date


@dataclass(frozen=True)
class Device:
    item_id: str
    device: Coded  # LU-DISPOSITIF
    implanted: dt.date


@dataclass(frozen=True)
class DocumentHeader:
    id_root: str
    id_extension: str
    effective_time: dt.datetime  # timezone-aware
    patient: Patient
    author: Professional
    custodian: Organisation
    language: str = "fr-LU"
    title: str = ""


@dataclass
class PatientSummaryData:
    header: DocumentHeader
    medications: list[Medication] = field(default_factory=list)
    allergies: list[Allergy] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    procedures: list[Procedure] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)


@dataclass
class PrescriptionData:
    header: DocumentHeader
    items: list[PrescriptionItem] = field(default_factory=list)
