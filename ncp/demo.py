"""Demo data for ``ncp demo``: a small Luxembourg with professionals, patients and documents.

The professionals and the insured persons are loaded from the registers' extracts under
``docs/examples/demo`` through the national feeds themselves (the code of ``ncp registry
import-professionals`` and ``import-insured``), so the demo opens its DSPs the way the country
does; the persons activate their DSPs with activation letters (:mod:`ncp.auth.demo`). What
no national feed carries yet is demo code here: the visits, the documents, the consents. The
insurer's services (a summary of services for Tom Wagner) come through the services feed too.
:data:`PROFESSIONALS` and :data:`PATIENTS` say the same as the extracts (a test checks it): the
logins and the tests name the demo people by them.

Idempotent: seeding a database that already holds the demo patients changes nothing. The
clinical documents are national ("friendly") CDA documents made by :mod:`ncp.cda.demo`.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

from ncp.cda.demo import DemoPatient, demo_prescriptions, national_documents
from ncp.cda.model import PrescriptionData
from ncp.cda.national import build_prescription
from ncp.consent.notice import current_version
from ncp.settings import Settings
from ncp.store import matricule
from ncp.store.dispensing import Dispensing, PrescriptionItem
from ncp.store.dsp import Records
from ncp.store.errors import NotFound
from ncp.store.policy import Actor

#: The registers' extracts of the demo (documented in docs/registry.md).
FEEDS = Path(__file__).resolve().parents[1] / "docs" / "examples" / "demo"


@dataclass(frozen=True)
class DemoProfessional:
    registry_id: str
    given_name: str
    family_name: str
    profession: str
    isco_code: str
    specialty: str | None
    organisation: str


ORGANISATIONS = [
    ("LU-HOSP-0001", "Centre Hospitalier de Luxembourg", "hospital"),
    ("LU-PRAC-0001", "Cabinet médical Limpertsberg", "practice"),
    ("LU-PHAR-0001", "Pharmacie du Globe", "pharmacy"),
    ("LU-LABO-0001", "Laboratoires Réunis", "laboratory"),
]

PROFESSIONALS = [
    DemoProfessional("LU-HP-100001", "Marie", "Muller", "physician", "2211",
                     "general practice", "LU-PRAC-0001"),
    DemoProfessional("LU-HP-100002", "Luc", "Hoffmann", "physician", "2212", "cardiology",
                     "LU-HOSP-0001"),
    DemoProfessional("LU-HP-100003", "Sophie", "Weber", "pharmacist", "2262", None,
                     "LU-PHAR-0001"),
    DemoProfessional("LU-HP-100004", "Anne", "Schmit", "nurse", "2221", None, "LU-HOSP-0001"),
    DemoProfessional("LU-HP-100005", "Paul", "Kremer", "laboratory-physician", "2212",
                     "clinical biology", "LU-LABO-0001"),
    DemoProfessional("LU-HP-100006", "Claire", "Thill", "radiologist", "2212", "radiology",
                     "LU-HOSP-0001"),
]


@dataclass(frozen=True)
class DemoRecord:
    patient: DemoPatient
    consents: tuple[str, ...]
    closed: bool = False


def _patient(birth: dt.date, serial: int, given: str, family: str, gender: str,
             city: str) -> DemoPatient:
    return DemoPatient(matricule=matricule.make(birth, serial), given_name=given,
                       family_name=family, birth_date=birth, gender=gender, city=city)


BOTH = ("patient-summary", "eprescription")

PATIENTS = [
    DemoRecord(_patient(dt.date(1956, 3, 12), 123, "Jean", "Schmit", "M", "Luxembourg"), BOTH),
    DemoRecord(_patient(dt.date(1978, 11, 2), 45, "Maria", "Da Silva", "F", "Esch-sur-Alzette"),
               BOTH),
    DemoRecord(_patient(dt.date(1990, 7, 25), 7, "Tom", "Wagner", "M", "Differdange"),
               ("patient-summary",)),
    DemoRecord(_patient(dt.date(1985, 1, 30), 311, "Léa", "Becker", "F", "Ettelbruck"), ()),
    DemoRecord(_patient(dt.date(1949, 9, 9), 88, "Nicolas", "Reuter", "M", "Diekirch"), BOTH,
               closed=True),
    DemoRecord(_patient(dt.date(2001, 4, 18), 502, "Emma", "Hansen", "F", "Luxembourg"), BOTH),
]


def seed(records: Records) -> bool:
    """Load the demo data unless it is there already; True if anything was added."""
    try:
        records.patient_id(PATIENTS[0].patient.matricule)
        return False
    except NotFound:
        pass
    load_feeds(records)
    ids = {p.registry_id: records.professional_id(p.registry_id) for p in PROFESSIONALS}
    gp = records.professional_actor(ids["LU-HP-100001"])
    cardiologist = ids["LU-HP-100002"]
    pharmacist = ids["LU-HP-100003"]
    for rec in PATIENTS:
        p = rec.patient
        pid = records.patient_id(p.matricule)
        for prof in (cardiologist, pharmacist):
            records.add_relationship(patient_id=pid, professional_id=prof, source="visit")
        for doc in national_documents(p):
            if doc.doc_type == "prescription":
                continue  # registered with their dispensing metadata below
            records.add_document(gp, pid, doc_type=doc.doc_type, title=doc.title,
                                 media_type=doc.media_type, content=doc.content)
        dispensing = Dispensing(records)
        for prescription in demo_prescriptions(p):
            item = prescription_item(prescription)
            dispensing.prescribe(gp, pid, item, title=f"Ordonnance : {item.product_name}",
                                 content=build_prescription(prescription))
        me = Actor.patient(pid, f"{p.given_name} {p.family_name}")
        for service in rec.consents:
            records.give_consent(me, pid, service, channel="demo",
                                 notice_version=current_version())
        if rec.closed:
            records.close_dsp(me, pid, "demo: a closed DSP")
    load_services(records)
    return True


def reset_demo(settings: Settings) -> list[Path]:
    """Remove the demo's data so that the next ``ncp demo`` seeds it afresh (``ncp demo
    --reset``): the SQLite database (with its journal files) and the demo partner's folder
    (``<var>/partner-be``: its database, keys and log). The PKI stays (the CA a browser was
    told to trust), and so do the master keys. Refused in production and for a database given
    by URL (a PostgreSQL database is dropped by its administrator, not by the demo).
    Returns what was removed."""
    if settings.environment == "production":
        raise RuntimeError("ncp demo --reset is refused in production")
    if settings.database_url:
        raise RuntimeError("ncp demo --reset removes only the demo's SQLite database; "
                           "NCP_DATABASE_URL names another database: drop it yourself")
    removed: list[Path] = []
    database = settings.var_dir / "ncp.sqlite"
    for path in (database, *(database.with_name(database.name + s) for s in
                             ("-wal", "-shm", "-journal"))):
        if path.exists():
            path.unlink()
            removed.append(path)
    partner = settings.var_dir / "partner-be"
    if partner.exists():
        shutil.rmtree(partner)
        removed.append(partner)
    return removed


def load_feeds(records: Records, folder: Path = FEEDS) -> None:
    """Apply the demo's professionals, insured persons and referring-doctor declarations
    through the national feeds."""
    from ncp.registry.insured import BadLine, read_insured
    from ncp.registry.professionals import read_professionals
    from ncp.registry.referring import read_declarations
    from ncp.store.population import Population
    from ncp.store.professional_registry import ProfessionalRegistry
    from ncp.store.referring import ReferringDeclarations

    if not (folder / "insured.csv").is_file():
        raise RuntimeError(f"the demo's register extracts are not in {folder} (ncp demo runs "
                           "from a source checkout)")
    sessions = records._sessions
    for read, feed in ((read_professionals(folder / "professionals.jsonl"),
                        ProfessionalRegistry(sessions, clock=records.clock)),
                       (read_insured(folder / "insured.csv"),
                        Population(sessions, clock=records.clock))):
        items = list(read)
        bad = [str(i) for i in items if isinstance(i, BadLine)]
        if bad:
            raise RuntimeError(f"bad line in the demo's extracts: {bad[0]}")
        feed.apply(items)  # type: ignore[attr-defined]
    declarations = list(read_declarations(folder / "referring.csv"))
    bad = [str(i) for i in declarations if isinstance(i, BadLine)]
    refused = ReferringDeclarations(sessions, clock=records.clock).apply(declarations).refused
    if bad or refused:
        raise RuntimeError(f"bad line in the demo's referring declarations: {bad or refused}")


def load_services(records: Records, folder: Path = FEEDS) -> None:
    """The insurer's services of the demo (Tom Wagner's summary of services), through the
    services feed (``ncp registry import-services``)."""
    from ncp.registry.insured import BadLine
    from ncp.registry.services import read_services
    from ncp.store.services import ServicesSummaries

    lines = list(read_services(folder / "services.csv", today=records.clock().date()))
    bad = [str(i) for i in lines if isinstance(i, BadLine)]
    if bad:
        raise RuntimeError(f"bad line in the demo's services: {bad[0]}")
    ServicesSummaries(records).apply(lines)  # type: ignore[arg-type]


def _mapped(system: str, code: str) -> tuple[str, str] | None:
    """The eHDSI (target) code and display of a national code, from the mapping files."""
    from ncp.terminology.sources import mapping_files

    for mf in mapping_files():
        for row in mf.rows:
            if row.source_system == system and row.source_code == code:
                return row.target_code, row.target_display
    return None


def prescription_item(data: PrescriptionData) -> PrescriptionItem:
    """What the gateway shows of a national ePrescription without decrypting it: ATC, EDQM dose
    form, strength, substitution (the eHDSI XCA metadata), from the prescriber's data."""
    item = data.items[0]
    product = item.medication.product
    atc = _mapped(product.substance.system, product.substance.code)
    form = _mapped(product.dose_form.system, product.dose_form.code)
    strength = f"{product.strength_value} {product.strength_unit}"
    if product.strength_per_unit != "1" or product.strength_per_value != "1":
        strength += f"/{product.strength_per_value} {product.strength_per_unit}"
    end = item.medication.end
    return PrescriptionItem(
        prescription_id=data.header.id_extension, product_name=product.name,
        packages=item.packages, atc_code=atc[0] if atc else None,
        atc_display=atc[1] if atc else None, dose_form_code=form[0] if form else None,
        dose_form_display=form[1] if form else None, strength=strength,
        substitution_allowed=item.substitution.code != "0",
        valid_until=dt.datetime.combine(end, dt.time(23, 59), tzinfo=dt.UTC) if end else None)
