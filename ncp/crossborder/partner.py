"""Two countries on one machine: a built-in partner country (Belgium) for the demo and tests.

The partner is *this same gateway software* run a second time with the partner's settings:
its own database, its own CA and keys from the development PKI (``<pki>/be/``), its own home
community id and identifier domains. Its record store uses the national document format and
identifier rules of this software, so its demo identifiers are 13-digit numbers; its search
mask (an International Search Mask in the eHDSI layout, written here) asks for one identifier
in the domain Belgium publishes (``1.3.6.1.4.1.48336``, "ID Card Number").

``prepare(settings, peers=...)`` migrates, seeds the country's demo data and logins, loads the
terminology, and registers the given peers (endpoints, TLS and signing anchors from the
development PKI, search mask). ``start(...)`` runs a prepared country as an ``ncp serve``
process. ``python -m ncp.crossborder.partner prepare --peer LU=https://localhost:8443`` does
``prepare`` with the settings of the environment (used by ``ncp demo`` and the two-country
test, so that each country's documents are made under its own settings).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ncp.cda.demo import DemoPatient, national_documents
from ncp.settings import Settings
from ncp.store import matricule
from ncp.store.dsp import Records
from ncp.store.errors import NotFound
from ncp.store.policy import Actor

__all__ = ["COUNTRIES", "CountryProfile", "demo_partner", "environment", "mask_xml", "prepare",
           "start"]

ISM = "http://ec.europa.eu/sante/ehncp/ism"


@dataclass(frozen=True)
class CountryProfile:
    """The identity of a country as this software plays it in the demo."""

    country: str
    name: str
    home_community_id: str
    patient_id_root: str
    eprescription_id_root: str
    id_label: str
    id_pattern: str | None
    ui_language: str


#: Luxembourg's values are the real ones (ISM LU); the partner's OIDs below its published
#: identifier domain are development values.
COUNTRIES = {
    "LU": CountryProfile("LU", "NCPeH Luxembourg", "1.3.182.2.4.1", "1.3.182.4.4",
                         "1.3.182.11.5", "label.ism.nationalSocialSecurityNumber", r"\d{13}",
                         "fr"),
    "BE": CountryProfile("BE", "NCPeH Belgium (demo partner)", "1.3.6.1.4.1.48336.2.4.1",
                         "1.3.6.1.4.1.48336", "1.3.6.1.4.1.48336.11.5", "ID Card Number",
                         None, "fr"),
}

BE_ORGANISATIONS = [
    ("BE-HOSP-0001", "Cliniques universitaires Saint-Luc", "hospital"),
    ("BE-PHAR-0001", "Pharmacie du Sablon", "pharmacy"),
]
#: (registry id, given, family, profession, ISCO, organisation)
BE_PROFESSIONALS = [
    ("BE-HP-200001", "Lucas", "Peeters", "physician", "2211", "BE-HOSP-0001"),
    ("BE-HP-200002", "Julie", "Dubois", "pharmacist", "2262", "BE-PHAR-0001"),
]
#: (birth, serial, given, family, gender, city, consents)
BE_PATIENTS = [
    (dt.date(1968, 5, 14), 211, "Emma", "Janssens", "F", "Bruxelles",
     ("patient-summary", "eprescription")),
    (dt.date(1982, 9, 3), 77, "Noah", "Maes", "M", "Liège", ("patient-summary",
                                                             "eprescription")),
    (dt.date(1975, 2, 20), 5, "Louise", "Claes", "F", "Namur", ()),
]


def mask_xml(profile: CountryProfile) -> str:
    """An International Search Mask (eHDSI layout) asking for the country's identifier."""
    root = etree.Element(f"{{{ISM}}}searchFields", nsmap={"ism": ISM})
    country = etree.SubElement(root, f"{{{ISM}}}country", code=profile.country)
    search = etree.SubElement(country, f"{{{ISM}}}patientSearch", scope="ALL")
    ident = etree.SubElement(search, f"{{{ISM}}}identifier", type="NORMAL")
    attrs = {"domain": profile.patient_id_root, "label": profile.id_label, "mandatory": "true"}
    if profile.id_pattern:
        attrs["format"] = profile.id_pattern
    etree.SubElement(ident, f"{{{ISM}}}id", attrs)
    docs = etree.SubElement(country, f"{{{ISM}}}documentSearch", scope="EP")
    etree.SubElement(docs, f"{{{ISM}}}prescriptionId", domain=profile.eprescription_id_root,
                     label="label.ism.ePrescriptionId", mandatory="false")
    return etree.tostring(root, encoding="unicode")


def environment(profile: CountryProfile, *, var_dir: Path, pki_dir: Path, port: int,
                base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of an ``ncp`` process playing ``profile``."""
    env = dict(base if base is not None else os.environ)
    env.update({
        "NCP_COUNTRY_CODE": profile.country, "NCP_HOME_COMMUNITY_ID": profile.home_community_id,
        "NCP_PATIENT_ID_ROOT": profile.patient_id_root,
        "NCP_EPRESCRIPTION_ID_ROOT": profile.eprescription_id_root,
        "NCP_VAR_DIR": str(var_dir), "NCP_PKI_DIR": str(pki_dir), "NCP_PORT": str(port),
        "NCP_HOST": "127.0.0.1",
    })
    for name in ("NCP_DATABASE_URL", "NCP_TLS_CERT", "NCP_TLS_KEY", "NCP_SIGNING_CERT",
                 "NCP_SIGNING_KEY", "NCP_TRUST_LIST", "NCP_MASTER_KEYS"):
        env.pop(name, None)  # each country uses its own, under its var and PKI folders
    return env


def _seed_partner(records: Records) -> bool:
    first = BE_PATIENTS[0]
    try:
        records.patient_id(matricule.make(first[0], first[1]))
        return False
    except NotFound:
        pass
    for identifier, name, kind in BE_ORGANISATIONS:
        records.add_organisation(identifier=identifier, name=name, kind=kind)
    ids = {}
    for registry_id, given, family, profession, isco, org in BE_PROFESSIONALS:
        ids[registry_id] = records.add_professional(
            registry_id=registry_id, given_name=given, family_name=family,
            profession=profession, isco_code=isco, specialty=None, organisation=org)
    doctor = records.professional_actor(ids["BE-HP-200001"])
    for birth, serial, given, family, gender, city, consents in BE_PATIENTS:
        number = matricule.make(birth, serial)
        pid = records.add_patient(matricule=number, given_name=given, family_name=family,
                                  gender=gender, city=city, country="BE",
                                  referring_doctor=doctor.professional_id)
        for prof in ids.values():
            records.add_relationship(patient_id=pid, professional_id=prof, source="visit")
        patient = DemoPatient(matricule=number, given_name=given, family_name=family,
                              birth_date=birth, gender=gender, city=city, country="BE")
        for doc in national_documents(patient):
            records.add_document(doctor, pid, doc_type=doc.doc_type, title=doc.title,
                                 media_type=doc.media_type, content=doc.content)
        me = Actor.patient(pid, f"{given} {family}")
        for svc in consents:
            records.give_consent(me, pid, svc, channel="demo")
    return True


def _seed_partner_accounts(records: Records, engine: object, cheap: bool) -> None:
    from ncp.auth.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, professional_login
    from ncp.auth.passwords import Passwords, make_hasher
    from ncp.auth.service import Authenticator
    from ncp.store.db import session_factory

    auth = Authenticator(session_factory(engine), records,  # type: ignore[arg-type]
                         passwords=Passwords(make_hasher(cheap=cheap)))
    for registry_id, given, family, *_ in BE_PROFESSIONALS:
        login = professional_login(registry_id)
        if auth.store.by_login(login) is None:
            auth.create_account(login=login, password=DEMO_PASSWORD, kind="professional",
                                display_name=f"{given} {family}", totp_secret=DEMO_TOTP_SECRET,
                                professional_id=records.professional_id(registry_id))


def prepare(settings: Settings, *, peers: dict[str, str], specs: Path | None = None,
            cheap_hashes: bool = False) -> None:
    """Make ``settings``' country ready to serve the demo and to call ``peers``
    (country -> base URL of its gateway running this software)."""
    from ncp.app import build_runtime
    from ncp.auth.demo import seed_accounts
    from ncp.peers.client import default_endpoints
    from ncp.security.pki import init_pki
    from ncp.store.db import session_factory, upgrade
    from ncp.store.peers import PeerStore
    from ncp.terminology.loader import load_all

    init_pki(settings.pki_root, sorted({settings.country_code, *peers}),
             card_issuer=settings.country_code)
    runtime = build_runtime(settings)
    try:
        upgrade(runtime.engine)
        sessions = session_factory(runtime.engine)
        if settings.country_code == "LU":
            from ncp import demo

            demo.seed(runtime.records)
            seed_accounts(runtime.records, runtime.engine, cheap_hashes=cheap_hashes,
                          environment=settings.environment, pki_root=settings.pki_root)
        else:
            _seed_partner(runtime.records)
            _seed_partner_accounts(runtime.records, runtime.engine, cheap_hashes)
        from sqlalchemy import func, select

        from ncp.store.terminology import TermConcept

        with sessions() as s:
            loaded = s.scalar(select(func.count()).select_from(TermConcept))
        if not loaded:
            load_all(sessions, specs or settings.specs_path)
        store = PeerStore(sessions)
        now = dt.datetime.now(dt.UTC)
        for cc, url in peers.items():
            profile = COUNTRIES[cc.upper()]
            anchor = (settings.pki_root / cc.lower() / "ca.pem").read_text()
            store.upsert(country=cc, name=profile.name,
                         home_community_id=profile.home_community_id,
                         endpoints=default_endpoints(url), source="demo", now=now,
                         tls_anchor_pem=anchor, signing_anchor_pem=anchor,
                         search_mask=mask_xml(profile), merge=False)
    finally:
        runtime.engine.dispose()


def start(profile: CountryProfile, *, var_dir: Path, pki_dir: Path, port: int,
          log: Path | None = None) -> subprocess.Popen[bytes]:
    """Serve a prepared country as its own ``ncp serve`` process (HTTPS, mutual TLS)."""
    env = environment(profile, var_dir=var_dir, pki_dir=pki_dir, port=port)
    args = [sys.executable, "-c", "from ncp.cli import app; app()", "serve"]
    if log is None:
        return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.STDOUT)
    with open(log, "ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)


def run_prepare(profile: CountryProfile, *, var_dir: Path, pki_dir: Path, port: int,
                peers: dict[str, str], cheap_hashes: bool = False) -> None:
    """``prepare`` in a child process with ``profile``'s settings (documents are made from the
    process-wide settings, so each country is prepared in its own process)."""
    env = environment(profile, var_dir=var_dir, pki_dir=pki_dir, port=port)
    args = [sys.executable, "-m", "ncp.crossborder.partner", "prepare"]
    for cc, url in peers.items():
        args += ["--peer", f"{cc}={url}"]
    if cheap_hashes:
        args.append("--cheap-hashes")
    subprocess.run(args, env=env, check=True)


def demo_lines(lu_url: str, be_url: str) -> list[str]:
    """What ``ncp demo`` prints about the two-country round trip."""
    from ncp.auth.demo import professional_login

    emma = matricule.make(BE_PATIENTS[0][0], BE_PATIENTS[0][1])
    louise = matricule.make(BE_PATIENTS[2][0], BE_PATIENTS[2][1])
    return [
        f"partner country Belgium (a second gateway process): {be_url}",
        "  Belgian logins (same password and TOTP secret): " + ", ".join(
            f"{professional_login(rid)} ({given} {family}, {profession})"
            for rid, given, family, profession, *_ in BE_PROFESSIONALS),
        f"  Luxembourg doctor: {lu_url}/portal/login as lu-hp-100001, then {lu_url}/portal/xb,"
        f" Belgium, ID card number {emma} (Emma Janssens); {louise} has given no consent",
        f"  Belgian pharmacist: {be_url}/portal/login as be-hp-200002, then {be_url}/portal/xb,"
        " Luxembourg, a matricule of the demo patients above (e.g. Jean Schmit)",
    ]


def demo_partner(settings: Settings, *, serve: bool = True
                 ) -> tuple[subprocess.Popen[bytes] | None, list[str]]:
    """For ``ncp demo``: Belgium prepared (and started when ``serve``) as a second process on
    the next port, with its data under ``<var>/partner-be``; Luxembourg told about it. Returns
    the process (the caller stops it) and the lines to print."""
    import atexit

    lu_port, be_port = settings.port, settings.port + 1
    lu_url, be_url = f"https://localhost:{lu_port}", f"https://localhost:{be_port}"
    var = settings.var_dir / "partner-be"
    run_prepare(COUNTRIES["BE"], var_dir=var, pki_dir=settings.pki_root, port=be_port,
                peers={settings.country_code: lu_url})
    prepare(settings, peers={"BE": be_url})
    process = None
    if serve:
        process = start(COUNTRIES["BE"], var_dir=var, pki_dir=settings.pki_root, port=be_port,
                        log=var / "serve.log")
        atexit.register(process.terminate)
    return process, demo_lines(lu_url, be_url)


def _main(argv: list[str]) -> int:
    import argparse

    from ncp.settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m ncp.crossborder.partner")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--peer", action="append", default=[], help="CC=https://host:port")
    p.add_argument("--cheap-hashes", action="store_true")
    args = parser.parse_args(argv)
    peers = dict(item.split("=", 1) for item in args.peer)
    prepare(get_settings(), peers=peers, cheap_hashes=args.cheap_hashes)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
