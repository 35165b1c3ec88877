"""Fixtures of the gateway tests: a development PKI (LU, BE, FR), a database with the
terminology and the demo DSP loaded once per session, and per test a fresh copy of it with the
gateway built over it.

The demo patients (ncp/demo.py): 0 Jean Schmit and 1 Maria Da Silva share PS and eP, 2 Tom
Wagner PS only, 3 Léa Becker nothing, 4 Nicolas Reuter has a closed DSP, 5 Emma Hansen both.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from ncp.demo import PATIENTS, seed
from ncp.gateway import Gateway, build_gateway
from ncp.ihe.identifiers import PatientId
from ncp.security import TrustStore
from ncp.security.pki import init_pki
from ncp.settings import Settings
from ncp.store.crypto import KeyRing
from ncp.store.db import make_engine, session_factory
from ncp.store.keys import KeyRingSource
from ncp.store.models import (
    AccessLogEntry,
    AuditMessage,
    Dispensation,
    Document,
    ReceivedOriginal,
)
from ncp.store.pivot_cache import PivotCacheEntry
from ncp.store.policy import Actor
from ncp.store.records import Records
from ncp.terminology.loader import load_all
from tests.clock import NOW
from tests.gateway.peer import LU_ROOT, Peer

#: A minimal, well-formed PDF (an original clinical document of the demo patients).
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def patient(n: int) -> PatientId:
    return PatientId(extension=PATIENTS[n].patient.matricule, root=LU_ROOT)


@pytest.fixture(scope="session")
def gw_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gw-pki")
    init_pki(root, ("LU", "BE", "FR"), now=NOW)
    return root


def _fill(engine: Engine, keys: Path, specs_dir: Path) -> None:
    """Terminology, the demo DSP, and two original clinical documents of patient 0: a
    laboratory report (shared) and a masked imaging report (never shared)."""
    load_all(session_factory(engine), specs_dir)
    records = Records(session_factory(engine), KeyRingSource.from_file(keys))
    seed(records)
    pid = records.patient_id(PATIENTS[0].patient.matricule)
    for registry_id in ("LU-HP-100005", "LU-HP-100006"):
        records.add_relationship(patient_id=pid, professional_id=records.professional_id(
            registry_id), source="visit")
    lab = records.professional_actor(records.professional_id("LU-HP-100005"))
    records.add_document(lab, pid, doc_type="laboratory-report", title="Bilan sanguin",
                         media_type="application/pdf", content=PDF)
    radiologist = records.professional_actor(records.professional_id("LU-HP-100006"))
    imaging = records.add_document(radiologist, pid, doc_type="imaging-report",
                                   title="IRM genou", media_type="application/pdf", content=PDF)
    records.set_masked(Actor.patient(pid), imaging.unique_id, True)


@pytest.fixture(scope="session")
def _gateway_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    keys = tmp_path_factory.mktemp("gw-keys") / "master-keys.json"
    KeyRing({"mk-gw": os.urandom(32)}, "mk-gw").save(keys)
    return keys


@pytest.fixture(scope="session")
def _gateway_template(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path,
                      _gateway_keys: Path, specs_dir: Path) -> tuple[Path, Path]:
    """A migrated SQLite database with the terminology and the demo data, and its key ring."""
    path = tmp_path_factory.mktemp("gw-template") / "ncp.sqlite"
    shutil.copyfile(_sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    _fill(engine, _gateway_keys, specs_dir)
    engine.dispose()
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path, _gateway_keys


@pytest.fixture(scope="session")
def _gateway_pg_template(postgres_cluster, _postgres_template: str,  # type: ignore[no-untyped-def]
                         _gateway_keys: Path, specs_dir: Path) -> str:
    """The same filled database on PostgreSQL (a template database, copied per test)."""
    url = postgres_cluster.create_database("gw_template", _postgres_template)
    engine = make_engine(url)
    _fill(engine, _gateway_keys, specs_dir)
    engine.dispose()
    return "gw_template"


@dataclass
class GatewayEnv:
    settings: Settings
    engine: Engine
    records: Records
    gateway: Gateway
    trust: TrustStore
    pki: Path
    be: Peer

    def post(self, endpoint: str, sent: object, *, peer: Peer | None = None,
             pem: str | bool | None = True):  # type: ignore[no-untyped-def]
        """Call the gateway in process as the TLS layer would (client certificate given)."""
        cert = (peer or self.be).tls_pem if pem is True else (pem or None)
        return self.gateway.handle(endpoint, sent.body, sent.content_type,  # type: ignore[attr-defined]
                                   peer_certificate_pem=cert, peer_host="127.0.0.2")

    def count(self, model: type) -> int:
        with session_factory(self.engine)() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)

    def counts(self) -> dict[str, int]:
        """Rows of every table a request could write, to prove what a refusal wrote."""
        return {m.__tablename__: self.count(m) for m in  # type: ignore[attr-defined]
                (Document, Dispensation, ReceivedOriginal, PivotCacheEntry, AuditMessage,
                 AccessLogEntry)}

    def patient_db_id(self, n: int) -> int:
        return self.records.patient_id(PATIENTS[n].patient.matricule)


def make_env(tmp_path: Path, template: tuple[Path, Path], pki: Path, *,
             database_url: str | None = None, **overrides: object) -> GatewayEnv:
    """A gateway over a copy of the SQLite template, or over ``database_url``."""
    if database_url is None:
        db = tmp_path / "ncp.sqlite"
        shutil.copyfile(template[0], db)
        database_url = f"sqlite:///{db}"
    keys = tmp_path / "master-keys.json"
    shutil.copyfile(template[1], keys)
    settings = Settings(var_dir=tmp_path, pki_dir=pki, database_url=database_url,
                        master_keys=keys, **overrides)  # type: ignore[arg-type]
    engine = make_engine(settings.sqlalchemy_url)
    records = Records(session_factory(engine), KeyRingSource.from_file(keys))
    gateway = build_gateway(settings, engine, records)
    return GatewayEnv(settings, engine, records, gateway, TrustStore(settings.trust_list_path),
                      pki, Peer(pki, "BE"))


@pytest.fixture
def env(tmp_path: Path, _gateway_template: tuple[Path, Path], gw_pki: Path
        ) -> Iterator[GatewayEnv]:
    e = make_env(tmp_path, _gateway_template, gw_pki)
    yield e
    e.engine.dispose()


@pytest.fixture
def env_factory(tmp_path: Path, _gateway_template: tuple[Path, Path], gw_pki: Path
                ) -> Iterator[object]:
    """Make further gateways with other settings (each on its own copy of the database)."""
    made: list[GatewayEnv] = []

    def make(**overrides: object) -> GatewayEnv:
        folder = tmp_path / f"env{len(made)}"
        folder.mkdir()
        e = make_env(folder, _gateway_template, gw_pki, **overrides)
        made.append(e)
        return e

    yield make
    for e in made:
        e.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_env(request: pytest.FixtureRequest, tmp_path: Path,
            _gateway_template: tuple[Path, Path], gw_pki: Path) -> Iterator[GatewayEnv]:
    """The gateway over SQLite and over PostgreSQL (for what depends on the database)."""
    url = None
    if request.param == "postgresql":
        cluster = request.getfixturevalue("postgres_cluster")
        template = request.getfixturevalue("_gateway_pg_template")
        url = cluster.create_database(f"gw_{uuid.uuid4().hex[:12]}", template)
    e = make_env(tmp_path, _gateway_template, gw_pki, database_url=url)
    yield e
    e.engine.dispose()


def json_of(path: Path) -> dict[str, object]:
    return json.loads(path.read_text())


