"""Assembling the responding gateway of one process from the settings and the record store."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from lxml import etree
from sqlalchemy import Engine

from ncp.consent import ConsentService
from ncp.eprescription import EPrescriptionService
from ncp.gateway.iti38 import CrossGatewayQuery
from ncp.gateway.iti39 import CrossGatewayRetrieve
from ncp.gateway.iti41 import ProvideAndRegister
from ncp.gateway.iti55 import PatientDiscovery
from ncp.gateway.pipeline import Gateway, Handler
from ncp.gateway.tls_peer import PeerPins
from ncp.patient_summary import CrossBorderDocuments, EntryFactory, PatientSummaryService
from ncp.patient_summary.documents import PdfRenderer, level1_renderer
from ncp.security import MessageSecurity, WsSecurityPolicy
from ncp.settings import Settings
from ncp.store.audit import AuditLog
from ncp.store.db import session_factory
from ncp.store.dispensing import Dispensing
from ncp.store.dsp import Records
from ncp.store.pivot_cache import PivotCache
from ncp.store.volumes import RequestVolumes, VolumeLimits
from ncp.terminology.service import DbTerminology, Terminology

__all__ = ["build_gateway", "repository_unique_id"]


def cda_schema_errors(root: etree._Element) -> list[str]:
    """Errors of a received CDA document against the eHDSI ``CDA_Pharma.xsd``."""
    from ncp.validation.validator import xsd_errors

    return [f"line {e.line}: {e.message}" for e in xsd_errors(root)]


def repository_unique_id(settings: Settings) -> str:
    """The XDS repository id of our documents: an arc under our home community id."""
    return settings.gateway_repository_id or f"{settings.home_community_id}.3.1"


def build_gateway(
    settings: Settings,
    engine: Engine,
    records: Records,
    *,
    security: MessageSecurity | None = None,
    terminology: Terminology | None = None,
    renderer: PdfRenderer | None = level1_renderer,
    clock: Callable[[], dt.datetime] | None = None,
) -> Gateway:
    """The gateway over ``records``; the replay cache and the audit log share its database.

    ``renderer`` makes the level 1 renditions listed beside each Patient Summary (None: the
    query answers without them)."""
    sessions = session_factory(engine)
    if security is None:
        policy = WsSecurityPolicy(require_message_signature=settings.require_message_signature,
                                  require_timestamp=settings.require_timestamp)
        security = MessageSecurity.from_settings(settings, sessions, wss_policy=policy)
    pins = PeerPins(sessions, require_registered=settings.require_registered_peers_effective)
    if security.pins is None:  # the assertions' and the message's signers, like the TLS peer
        security = dataclasses.replace(security, pins=pins)
    cache = PivotCache(records)
    terms = terminology or DbTerminology(sessions)
    entries = EntryFactory(settings.home_community_id, repository_unique_id(settings))
    dispensing = Dispensing(records,
                            discard_window=dt.timedelta(hours=settings.discard_window_hours))
    handlers: dict[str, Handler] = {
        "ITI-55": PatientDiscovery(),
        "ITI-38": CrossGatewayQuery(),
        "ITI-39": CrossGatewayRetrieve(),
        "ITI-41": ProvideAndRegister(),
    }
    kwargs = {"clock": clock} if clock is not None else {}
    volumes = RequestVolumes(engine, VolumeLimits(
        window=dt.timedelta(minutes=settings.request_window_minutes),
        per_peer=settings.discovery_limit_per_peer,
        per_professional=settings.discovery_limit_per_professional,
        per_patient=settings.discovery_limit_per_patient))
    return Gateway(
        settings=settings, security=security, audit=AuditLog(sessions, records.keys),
        consent=ConsentService(records),
        summaries=PatientSummaryService(records, cache, entries,
                                        with_renditions=renderer is not None),
        prescriptions=EPrescriptionService(dispensing, cache, entries,
                                           eprescription_root=settings.eprescription_id_root,
                                           patient_root=settings.patient_id_root,
                                           schema_errors=cda_schema_errors,
                                           terminology=terms),
        documents=CrossBorderDocuments(cache, terms, renderer=renderer),
        entries=entries, handlers=handlers, volumes=volumes,
        pins=pins, **kwargs)
