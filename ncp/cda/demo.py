"""Demo national documents for ``ncp demo``: a Patient Summary and ePrescriptions per patient.

Content is chosen deterministically from the matricule (same patient, same documents), from a
small demo drug list and the national catalogues, with clinically coherent combinations (a
diabetic gets metformin, an asthmatic salbutamol...). The documents follow the national profile
(:mod:`ncp.cda.national`) and transcode to valid eHDSI pivot documents.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass

from ncp.cda.catalogue import national_code
from ncp.cda.model import (
    Address,
    Allergy,
    Device,
    DocumentHeader,
    Medication,
    Organisation,
    Patient,
    PatientSummaryData,
    Person,
    PrescriptionData,
    PrescriptionItem,
    Problem,
    Procedure,
    Product,
    Professional,
)
from ncp.cda.national import build_patient_summary, build_prescription
from ncp.settings import get_settings


@dataclass(frozen=True)
class DemoPatient:
    matricule: str
    given_name: str
    family_name: str
    birth_date: dt.date
    gender: str  # 'M' | 'F' | 'UN'
    city: str
    country: str = "LU"


@dataclass(frozen=True)
class GeneratedDocument:
    doc_type: str  # "patient-summary" | "prescription"
    title: str
    media_type: str
    content: bytes


@dataclass(frozen=True)
class _Drug:
    code: str
    name: str
    substance: str  # LU-PRINCIPE-ACTIF
    strength: tuple[str, str, str, str]  # value, unit, per value, per unit
    form: str  # LU-FORME
    package: str  # LU-CONDITIONNEMENT
    package_size: tuple[str, str]
    route: str  # LU-VOIE
    dose: tuple[str, str]
    period_hours: int
    instructions: str


_DRUGS = {
    "ramipril": _Drug("0012345", "Ramipril Sandoz 5 mg", "S0101", ("5", "mg", "1", "1"),
                      "CPR", "BOITE", ("30", "1"), "ORAL", ("1", "1"), 24,
                      "Un comprimé le matin"),
    "amlodipine": _Drug("0023456", "Amlodipine Teva 10 mg", "S0105", ("10", "mg", "1", "1"),
                        "CPR", "BOITE", ("28", "1"), "ORAL", ("1", "1"), 24,
                        "Un comprimé par jour"),
    "metformine": _Drug("0034567", "Metformine EG 850 mg", "S0103", ("850", "mg", "1", "1"),
                        "CPR-PEL", "BOITE", ("60", "1"), "ORAL", ("1", "1"), 12,
                        "Pendant les repas"),
    "atorvastatine": _Drug("0045678", "Atorvastatine Mylan 20 mg", "S0102",
                           ("20", "mg", "1", "1"), "CPR-PEL", "BOITE", ("30", "1"), "ORAL",
                           ("1", "1"), 24, "Le soir"),
    "salbutamol": _Drug("0056789", "Ventolin 100 microgrammes/dose", "S0111",
                        ("100", "ug", "1", "1"), "AER-INH", "CONT-PRESS", ("200", "1"), "INH",
                        ("2", "1"), 6, "Deux bouffées en cas de gêne respiratoire"),
    "budesonide": _Drug("0067890", "Pulmicort Turbuhaler 200 microgrammes", "S0112",
                        ("200", "ug", "1", "1"), "PDR-INH", "INHAL", ("100", "1"), "INH",
                        ("1", "1"), 12, "Rincer la bouche après usage"),
    "levothyroxine": _Drug("0078901", "L-Thyroxine Henning 75 microgrammes", "S0113",
                           ("75", "ug", "1", "1"), "CPR", "BOITE", ("100", "1"), "ORAL",
                           ("1", "1"), 24, "À jeun, 30 minutes avant le petit-déjeuner"),
    "pantoprazole": _Drug("0089012", "Pantoprazole Zentiva 40 mg", "S0110",
                          ("40", "mg", "1", "1"), "CPR-GR", "BOITE", ("28", "1"), "ORAL",
                          ("1", "1"), 24, "Avant le petit-déjeuner"),
    "escitalopram": _Drug("0090123", "Escitalopram Krka 10 mg", "S0114",
                          ("10", "mg", "1", "1"), "CPR-PEL", "BOITE", ("28", "1"), "ORAL",
                          ("1", "1"), 24, "Le matin"),
    "paracetamol": _Drug("0101234", "Dafalgan 1 g", "S0107", ("1", "g", "1", "1"),
                         "CPR-EFF", "BOITE", ("16", "1"), "ORAL", ("1", "1"), 8,
                         "Maximum 3 g par jour"),
    "insuline": _Drug("0112345", "Lantus SoloStar 100 unités/ml", "S0121",
                      ("100", "[IU]", "1", "mL"), "SOL-INJ-STY", "STYLO", ("3", "mL"), "SC",
                      ("20", "[IU]"), 24, "Le soir, à heure fixe"),
    "allopurinol": _Drug("0123456", "Zyloric 300 mg", "S0125", ("300", "mg", "1", "1"),
                         "CPR", "BOITE", ("30", "1"), "ORAL", ("1", "1"), 24,
                         "Après le repas"),
    "rivaroxaban": _Drug("0134567", "Xarelto 20 mg", "S0119", ("20", "mg", "1", "1"),
                         "CPR-PEL", "BOITE", ("28", "1"), "ORAL", ("1", "1"), 24,
                         "Au cours du repas du soir"),
    "bisoprolol": _Drug("0145678", "Bisoprolol Apotex 5 mg", "S0104", ("5", "mg", "1", "1"),
                        "CPR-PEL", "BOITE", ("30", "1"), "ORAL", ("1", "1"), 24,
                        "Le matin"),
    "colecalciferol": _Drug("0156789", "D-Cure 25 000 UI", "S0128",
                            ("25000", "[IU]", "1", "mL"), "SOL-BUV", "UNIDOSE", ("1", "mL"),
                            "ORAL", ("1", "mL"), 720, "Une ampoule par mois"),
    "amoxicilline": _Drug("0167890", "Amoxicilline Sandoz 1 g", "S0116", ("1", "g", "1", "1"),
                          "CPR-PEL", "BOITE", ("16", "1"), "ORAL", ("1", "1"), 8,
                          "Pendant 7 jours"),
    "cetirizine": _Drug("0178901", "Zyrtec 10 mg", "S0122", ("10", "mg", "1", "1"), "CPR-PEL",
                        "BOITE", ("20", "1"), "ORAL", ("1", "1"), 24, "Le soir"),
}

# Clinical profiles: diagnoses (WHO ICD-10), drugs, possible procedures/devices.
_PROFILES = [
    (["I10", "E78.0"], ["ramipril", "atorvastatine"], ["C11"], ["D03"]),
    (["E11.9", "I10"], ["metformine", "amlodipine", "insuline"], [], []),
    (["J45.9", "J30.1"], ["salbutamol", "budesonide", "cetirizine"], ["C06"], []),
    (["E03.9", "K21.9"], ["levothyroxine", "pantoprazole"], ["C12", "C02"], []),
    (["F32.9", "M54.5"], ["escitalopram", "paracetamol"], ["C01"], []),
    (["I48.9", "I50.9"], ["rivaroxaban", "bisoprolol"], ["C10"], ["D01"]),
    (["M10.9", "E55.9"], ["allopurinol", "colecalciferol"], ["C04"], []),
    (["I25.1", "E66.9"], ["bisoprolol", "atorvastatine"], ["C11", "C08"], ["D03", "D02"]),
]
_ALLERGIES = [("ALL", "LU-PRINCIPE-ACTIF", "S0131", "R01", "2"),
              ("ALL", "LU-ALLERGENE", "A02", "R11", "1"),
              ("ALL", "LU-ALLERGENE", "A06", "R02", "4"),
              ("INT", "LU-PRINCIPE-ACTIF", "S0108", "R06", "1"),
              ("ALL", "LU-ALLERGENE", "A08", "R13", "2"),
              ("ALL", "LU-ALLERGENE", "A01", "R03", "3")]

_GENDERS = {"M": "H", "F": "F", "UN": "I"}

@dataclass(frozen=True)
class DemoCountry:
    """Who writes and keeps a country's demo documents, and in which language: the demo partner
    (this software playing Belgium) must not hand out documents kept by the Luxembourg agency
    in fr-LU (issue 15 item 19). Demo values: names and numbers are made up."""

    custodian: str
    custodian_address: Address
    custodian_telecom: str
    language: str
    doctors: tuple[tuple[str, str, str], ...]
    #: (name, street, city, postal code)
    practices: tuple[tuple[str, str, str, str], ...]
    practice_telecom: str


DEMO_COUNTRIES = {
    "LU": DemoCountry(
        "Agence eSanté - Dossier de soins partagé",
        Address("Place de la Santé 1", "Luxembourg", "1471"), "tel:+35227125001", "fr-LU",
        (("Marc", "Weber", "MG"), ("Claire", "Schmit", "MG"), ("Paul", "Hoffmann", "MS"),
         ("Anne", "Muller", "MG"), ("Luc", "Wagner", "MS")),
        (("Cabinet médical du Kirchberg", "12, rue Alphonse Weicker", "Luxembourg", "2721"),
         ("Cabinet médical d'Esch", "45, rue de l'Alzette", "Esch-sur-Alzette", "4011"),
         ("Maison médicale du Nord", "3, place de l'Étoile", "Ettelbruck", "9080")),
        "tel:+35226123456"),
    "BE": DemoCountry(
        "Coffre-fort santé de démonstration (partenaire belge)",
        Address("1, rue de la Démonstration", "Bruxelles", "1000", "BE"), "tel:+3220000001",
        "fr-BE",
        (("Lucas", "Peeters", "MG"), ("Julie", "Lambert", "MG"), ("Thomas", "Dubois", "MS"),
         ("Sarah", "Jacobs", "MG")),
        (("Maison médicale des Marolles", "10, rue Haute", "Bruxelles", "1000"),
         ("Centre médical de Liège", "25, boulevard d'Avroy", "Liège", "4000"),
         ("Cabinet médical de Namur", "4, place d'Armes", "Namur", "5000")),
        "tel:+3220000002"),
}


def demo_country(code: str) -> DemoCountry:
    """The demo profile of ``code`` (Luxembourg's for a country without one)."""
    return DEMO_COUNTRIES.get(code.upper(), DEMO_COUNTRIES["LU"])




def _rng(matricule: str) -> random.Random:
    # Demo content only, reproducible by design: not a security use of randomness.
    seed = int.from_bytes(hashlib.sha256(matricule.encode()).digest()[:8], "big")
    return random.Random(seed)  # noqa: S311


def _drug_product(drug: _Drug) -> Product:
    return Product(
        code=drug.code, name=drug.name,
        substance=national_code("LU-PRINCIPE-ACTIF", drug.substance),
        strength_value=drug.strength[0], strength_unit=drug.strength[1],
        strength_per_value=drug.strength[2], strength_per_unit=drug.strength[3],
        dose_form=national_code("LU-FORME", drug.form),
        package=national_code("LU-CONDITIONNEMENT", drug.package),
        package_size=drug.package_size[0], package_unit=drug.package_size[1],
    )


def _medication(drug: _Drug, item_id: str, start: dt.date) -> Medication:
    return Medication(item_id=item_id, product=_drug_product(drug),
                      route=national_code("LU-VOIE", drug.route), dose_value=drug.dose[0],
                      dose_unit=drug.dose[1], period_hours=drug.period_hours, start=start,
                      instructions=drug.instructions)


def _header(patient: DemoPatient, rng: random.Random, *, id_root: str, id_extension: str,
            when: dt.datetime) -> DocumentHeader:
    settings = get_settings()
    country = demo_country(settings.country_code)
    given, family, profession = rng.choice(country.doctors)
    practice = rng.choice(country.practices)
    org_root = f"{settings.home_community_id}.30"
    here = settings.country_code.upper()
    organisation = Organisation(org_root, f"ORG{country.practices.index(practice) + 1:03d}",
                                practice[0], Address(practice[1], practice[2], practice[3], here),
                                country.practice_telecom)
    author = Professional(f"{settings.home_community_id}.20",
                          f"{family.upper()[:4]}{len(given)}{rng.randint(1000, 9999)}",
                          Person(given, family), national_code("LU-PROFESSION", profession),
                          organisation, country.practice_telecom)
    custodian = Organisation(org_root, "DSP", country.custodian, country.custodian_address,
                             country.custodian_telecom)
    pat = Patient(settings.patient_id_root, patient.matricule,
                  Person(patient.given_name, patient.family_name),
                  national_code("LU-SEXE", _GENDERS.get(patient.gender, "I")),
                  patient.birth_date,
                  Address(f"{rng.randint(1, 120)}, rue Principale", patient.city,
                          f"{rng.randint(1000, 9999)}", patient.country))
    return DocumentHeader(id_root=id_root, id_extension=id_extension, effective_time=when,
                          patient=pat, author=author, custodian=custodian,
                          language=country.language)


#: The demo documents carry Luxembourg's winter offset, as the national software writes them.
_LUXEMBOURG_WINTER = dt.timezone(dt.timedelta(hours=1))


def demo_anchor(today: dt.date | None = None) -> dt.datetime:
    """When the demo record's summary was written: 30 days before ``today``, 09:30.

    Relative to the day the demo is seeded, never a calendar date: the demo prescriptions are
    valid for 90 days from a few days after the summary, so a fixed date would leave a demo
    seeded some months later with nothing to dispense (issue 11). Same day, same documents.
    """
    day = (today or dt.datetime.now(_LUXEMBOURG_WINTER).date()) - dt.timedelta(days=30)
    return dt.datetime.combine(day, dt.time(9, 30), tzinfo=_LUXEMBOURG_WINTER)


def demo_patient_summary(patient: DemoPatient, *, when: dt.datetime | None = None
                         ) -> PatientSummaryData:
    """The structured Patient Summary of a demo patient (deterministic from the matricule)."""
    rng = _rng(patient.matricule)
    when = when or demo_anchor()
    diagnoses, drugs, procedures, devices = rng.choice(_PROFILES)
    settings = get_settings()
    ext = f"PS{patient.matricule}"
    header = _header(patient, rng, id_root=f"{settings.home_community_id}.10", id_extension=ext,
                     when=when)
    adult = patient.birth_date + dt.timedelta(days=18 * 365)
    span_days = max((when.date() - adult).days, 30)

    def past(days_min: int = 30) -> dt.date:
        return when.date() - dt.timedelta(days=rng.randint(days_min, max(span_days, days_min)))

    data = PatientSummaryData(header=header)
    for n, key in enumerate(drugs, start=1):
        data.medications.append(_medication(_DRUGS[key], f"{ext}.MED.{n}", past()))
    for n, code in enumerate(diagnoses, start=1):
        data.problems.append(Problem(f"{ext}.PRB.{n}", national_code("ICD-10 WHO", code), past(),
                                     national_code("LU-STATUT-PROBLEME",
                                                   rng.choice(["ACT", "CHR"]))))
    for n, (kind, system, agent, reaction, severity) in enumerate(
            rng.sample(_ALLERGIES, rng.randint(0, 2)), start=1):
        data.allergies.append(Allergy(f"{ext}.ALG.{n}", national_code("LU-TYPE-ALLERGIE", kind),
                                      national_code(system, agent),
                                      national_code("LU-REACTION", reaction),
                                      national_code("LU-SEVERITE", severity), past()))
    for n, code in enumerate(procedures, start=1):
        data.procedures.append(Procedure(f"{ext}.PRC.{n}", national_code("LU-ACTE", code),
                                         past()))
    for n, code in enumerate(devices, start=1):
        data.devices.append(Device(f"{ext}.DEV.{n}", national_code("LU-DISPOSITIF", code),
                                   past()))
    return data


def demo_prescriptions(patient: DemoPatient, *, when: dt.datetime | None = None
                       ) -> list[PrescriptionData]:
    """One or two ePrescriptions (one product each) from the drugs of the patient's summary."""
    summary = demo_patient_summary(patient, when=when)
    rng = _rng(patient.matricule + "/eP")
    when = summary.header.effective_time + dt.timedelta(days=rng.randint(1, 20))
    settings = get_settings()
    chosen = rng.sample(summary.medications, min(len(summary.medications), rng.randint(1, 2)))
    prescriptions = []
    for number, med in enumerate(chosen, start=1):
        ext = f"{patient.matricule[-6:]}{when:%y%m%d}{number:02d}"
        header = _header(patient, _rng(patient.matricule), id_root=settings.eprescription_id_root,
                         id_extension=ext, when=when)
        drug = next(d for d in _DRUGS.values() if d.code == med.product.code)
        prescribed = _medication(drug, f"{ext}.1", when.date())
        prescribed = Medication(**{**prescribed.__dict__,
                                   "end": when.date() + dt.timedelta(days=90)})
        item = PrescriptionItem(prescribed, rng.randint(1, 3),
                                national_code("LU-SUBSTITUTION", rng.choice(["0", "1", "1"])))
        prescriptions.append(PrescriptionData(header=header, items=[item]))
    return prescriptions


def national_documents(patient: DemoPatient) -> list[GeneratedDocument]:
    """The demo patient's national Patient Summary and one or two national ePrescriptions."""
    docs = [GeneratedDocument("patient-summary", "Résumé patient", "text/xml",
                              build_patient_summary(demo_patient_summary(patient)))]
    for prescription in demo_prescriptions(patient):
        product = prescription.items[0].medication.product.name
        docs.append(GeneratedDocument("prescription", f"Ordonnance : {product}", "text/xml",
                                      build_prescription(prescription)))
    return docs


def demo_dispensation(prescription_pivot: bytes, *, number: int = 1,
                      when: dt.datetime | None = None) -> bytes:
    """A pivot eDispensation by a demo Luxembourg pharmacy of a pivot ePrescription."""
    from ncp.cda.dispensation import Dispensation, build_dispensation
    from ncp.cda.model import Coded

    settings = get_settings()
    pharmacy = Organisation(f"{settings.home_community_id}.30", "PHA017",
                            "Pharmacie de la Gare", Address("8, avenue de la Gare",
                                                            "Luxembourg", "1611"),
                            "tel:+352491234")
    pharmacist = Professional(f"{settings.home_community_id}.20", "PH20117",
                              Person("Sophie", "Reuter"),
                              Coded("2262", "2.16.840.1.113883.2.9.6.2.7", "Pharmacists", "ISCO"),
                              pharmacy, "tel:+352491235")
    when = when or dt.datetime.now(_LUXEMBOURG_WINTER).replace(second=0, microsecond=0)
    return build_dispensation(prescription_pivot, Dispensation(
        id_root=f"{settings.home_community_id}.40", id_extension=f"ED{when:%Y%m%d%H%M}{number}",
        when=when, pharmacist=pharmacist, pharmacy=pharmacy, packages=1))
