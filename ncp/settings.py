"""Configuration, read once from the environment (prefix ``NCP_``) by pydantic-settings.

Secure defaults: plain HTTP is off unless asked for, and a production environment refuses to
start on the self-generated development PKI or keys (see :meth:`Settings.check_production`).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting of the gateway; each maps to the environment variable ``NCP_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="NCP_", env_file=None, extra="ignore")

    environment: Literal["development", "production"] = "development"
    country_code: str = Field("LU", min_length=2, max_length=2)
    #: Home community id of our gateway (XCA homeCommunityId, without the urn:oid: prefix).
    home_community_id: str = "1.3.182.2.4.1"
    #: Assigning authority of the national patient identifier (the Luxembourg matricule).
    patient_id_root: str = "1.3.182.4.4"
    #: Identifier domain of our ePrescriptions (International Search Mask of Luxembourg).
    eprescription_id_root: str = "1.3.182.11.5"
    #: Root folder for everything generated at run time (database, PKI, keys).
    var_dir: Path = Path("var")
    #: SQLAlchemy URL; empty means a SQLite file ``<var_dir>/ncp.sqlite``.
    database_url: str = ""
    #: Folder of the development PKI written by ``ncp pki init``.
    pki_dir: Path | None = None
    #: Our TLS server certificate and key (PEM); empty means the development PKI's.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: Our signing certificate and key for SAML and WS-Security (PEM).
    signing_cert: Path | None = None
    signing_key: Path | None = None
    #: Trust list: which foreign anchors are trusted, per country and purpose (JSON).
    trust_list: Path | None = None
    #: Key ring of master keys that wrap the per-document data keys (JSON, see docs).
    master_keys: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8443
    #: Serve plain HTTP instead of mutual TLS: for local development only.
    allow_plain_http: bool = False
    ui_languages: list[str] = ["fr", "de", "en"]
    #: Folder of the eHDSI artefacts (schemas, schematrons, value sets), as published: not
    #: copied into the repository. Default: ``../shared/specs`` beside the checkout.
    specs_dir: Path | None = None
    #: Largest SOAP request accepted, in bytes.
    max_request_bytes: int = 20 * 1024 * 1024
    #: ``assertion``: a second use of a SAML assertion id within its lifetime is refused unless
    #: it is the very same assertion from the same peer (portals on the reference gateway send
    #: one HCP assertion for discovery, query and retrieve). ``assertion+message``: only a
    #: reuse within the same wsa:MessageID is refused. A wsa:MessageID is never reusable.
    replay_scope: Literal["assertion", "assertion+message"] = "assertion"
    #: Refuse, from every peer, incoming messages whose Body, Timestamp and addressing headers
    #: are not signed. ``false`` (default): the signed assertions are what IHE XUA requires
    #: and what the reference gateway sends; a signature that is present is still verified.
    #: Per peer: ``"require_message_signature": true`` in its trust-list entry.
    require_message_signature: bool = False
    #: Refuse, from every peer, incoming messages without a ``wsu:Timestamp``. ``false``
    #: (default): optional in WS-Security, absent from OpenNCP and the Danish samples; a
    #: Timestamp that is present is still checked. Per peer: ``"require_timestamp": true``.
    require_timestamp: bool = False
    #: How long after an eDispensation the dispensing organisation may still discard it.
    discard_window_hours: int = Field(24, ge=0)
    #: XDS repositoryUniqueId of our documents; empty means ``<home_community_id>.3.1``.
    gateway_repository_id: str = ""
    #: SOAP requests one process works on at once (the others queue in arrival order). Two:
    #: the work is CPU-bound under one GIL, and each thread past the second cost CPU per
    #: request (GIL hand-offs, SQLite write-lock retries) and doubled the p99 (bench/gateway.py:
    #: 2 processes, 16 clients, p99 106-109 ms at 2, 204-231 ms at 4); two still overlap one
    #: request's database round trips with another's work.
    gateway_concurrency: int = Field(2, ge=1)
    #: XCPD discoveries allowed per window (``request_window_minutes``), counted in the
    #: database: per peer country, per foreign professional, per patient (ncp.store.volumes).
    #: Past a limit: refused with WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS* and an operator
    #: alert. Matricules encode birth dates: these slow their enumeration.
    request_window_minutes: int = Field(60, ge=1)
    #: Refuse a TLS peer whose country has no gateway in the peers directory (``ncp peers
    #: import-smp`` / ``add``). Registered peers are always pinned: the TLS client to their
    #: TLS anchor, the assertions' and the message's signers to their signing anchor. Empty:
    #: true in production (fail closed), false in development.
    require_registered_peers: bool | None = None
    discovery_limit_per_peer: int = Field(2000, ge=1)
    discovery_limit_per_professional: int = Field(60, ge=1)
    discovery_limit_per_patient: int = Field(20, ge=1)
    #: Serve the API's interactive documentation (``/api/docs``) and OpenAPI document. Empty:
    #: on in development, off in production (a public API map helps nobody but a scanner).
    api_docs: bool | None = None
    #: Log lines as ``json`` (one object per line, for a log shipper) or readable ``text``.
    #: Empty: text in development, JSON in production.
    log_format: Literal["text", "json"] | None = None
    log_level: str = "INFO"
    #: Bearer token of ``GET /metrics``; empty: no metrics endpoint (404).
    metrics_token: str = ""
    #: Shared folder of the per-process metric files (Prometheus multiprocess mode); empty
    #: means ``<var_dir>/run/metrics``. Every ``ncp serve`` process of one host uses the same.
    metrics_dir: Path | None = None

    @property
    def log_format_effective(self) -> Literal["text", "json"]:
        if self.log_format is not None:
            return self.log_format
        return "json" if self.environment == "production" else "text"

    @property
    def require_registered_peers_effective(self) -> bool:
        if self.require_registered_peers is not None:
            return self.require_registered_peers
        return self.environment == "production"

    @property
    def metrics_path(self) -> Path:
        return self.metrics_dir or self.var_dir / "run" / "metrics"

    @property
    def api_docs_enabled(self) -> bool:
        return self.api_docs if self.api_docs is not None else self.environment == "development"

    @property
    def specs_path(self) -> Path:
        return self.specs_dir or default_specs_dir()

    @property
    def pki_root(self) -> Path:
        return self.pki_dir or self.var_dir / "pki"

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.var_dir / 'ncp.sqlite').as_posix()}"

    def own_pki_file(self, name: str) -> Path:
        """Path of one of our own development PKI files, e.g. ``tls-server.pem``."""
        return self.pki_root / self.country_code.lower() / name

    @property
    def tls_cert_path(self) -> Path:
        return self.tls_cert or self.own_pki_file("tls-server.pem")

    @property
    def tls_key_path(self) -> Path:
        return self.tls_key or self.own_pki_file("tls-server.key")

    @property
    def signing_cert_path(self) -> Path:
        return self.signing_cert or self.own_pki_file("signing.pem")

    @property
    def signing_key_path(self) -> Path:
        return self.signing_key or self.own_pki_file("signing.key")

    @property
    def trust_list_path(self) -> Path:
        return self.trust_list or self.pki_root / "trust-list.json"

    @property
    def master_keys_path(self) -> Path:
        return self.master_keys or self.var_dir / "keys" / "master-keys.json"

    def check_production(self) -> None:
        """Refuse development defaults when running as production (fail fast at startup)."""
        if self.environment != "production":
            return
        problems = []
        if not self.database_url:
            problems.append("NCP_DATABASE_URL must name the production database")
        for name in ("tls_cert", "tls_key", "signing_cert", "signing_key", "trust_list",
                     "master_keys"):
            if getattr(self, name) is None:
                problems.append(f"NCP_{name.upper()} must be set explicitly")
        if self.allow_plain_http:
            problems.append("NCP_ALLOW_PLAIN_HTTP is not allowed in production")
        if problems:
            raise RuntimeError("refusing to start in production: " + "; ".join(problems))


def default_specs_dir() -> Path:
    """``$NCP_SPECS_DIR``, else ``<checkout>/../shared/specs`` (the layout of a checkout and CI).

    Read from the environment directly as well, so modules that need the artefacts before any
    settings object exists (schema caches) agree with :attr:`Settings.specs_path`.
    """
    configured = os.environ.get("NCP_SPECS_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "shared" / "specs"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use (not at import)."""
    return Settings()
