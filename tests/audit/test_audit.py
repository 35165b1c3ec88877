"""Audit messages: layout as the eHDSI samples, durable storage, syslog over real TLS."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import Engine

from ncp.audit.message import AuditEvent, Outcome, Participant, build_audit_message
from ncp.audit.syslog import SyslogTlsSender, format_rfc5424, forward_pending, frame
from ncp.ihe import registry
from ncp.security.pki import init_pki
from ncp.store.audit import AuditLog, AuditRecord
from ncp.store.db import session_factory

AT = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC)


def event(transaction: registry.Transaction, ehdsi: str, **kw: object) -> AuditEvent:
    base: dict[str, object] = {
        "transaction": transaction, "ehdsi_event": ehdsi, "outcome": Outcome.SUCCESS, "at": AT,
        "human_requestor": Participant("urn:oid:1.2.3^dr.janssens", "Dr Janssens",
                                       "Dr Janssens<dr.janssens@UZ Leuven>", requestor=True,
                                       role=("2211", "ISCO-08", "Medical doctor")),
        "service_consumer": Participant("CN=ncp.be,C=BE", network_access_point="127.0.0.2",
                                        requestor=True),
        "service_provider": Participant("CN=ncp.lu,C=LU", network_access_point="127.0.0.1"),
        "point_of_care": "UZ Leuven",
        "patient_id": "1956031212359^^^&1.3.182.4.4&ISO",
        "objects": (("urn:uuid:5e1b8f6e-1111-4c4c-9999-0123456789ab", "ITI-39",
                     "Document"),),
    }
    base.update(kw)
    return AuditEvent(**base)  # type: ignore[arg-type]


def shape(root: etree._Element) -> list[str]:
    return [child.tag for child in root]


def test_layout_follows_the_reference_samples(specs_dir: Path) -> None:
    sample = etree.parse(str(specs_dir / "audit/openncp9/patientserviceretrievetauditmessage.xml"))
    ours = etree.fromstring(build_audit_message(event(registry.ITI_39, "EHDSI-22")))
    # same top-level order: EventIdentification, ActiveParticipant+, AuditSource, Objects
    def collapse(tags: list[str]) -> list[str]:
        out: list[str] = []
        for t in tags:
            if not out or out[-1] != t:
                out.append(t)
        return out
    assert collapse(shape(ours)) == collapse(shape(sample.getroot()))
    ev = ours.find("EventIdentification")
    assert ev.get("EventActionCode") == "R" and ev.get("EventOutcomeIndicator") == "0"
    assert ev.find("EventID").get("csd-code") == "110106"
    assert [e.get("csd-code") for e in ev.findall("EventTypeCode")] == ["ITI-39", "EHDSI-22"]


@pytest.mark.parametrize(("transaction", "ehdsi", "event_id"), [
    (registry.ITI_55, "EHDSI-11", "110112"), (registry.ITI_38, "EHDSI-21", "110112"),
    (registry.ITI_39, "EHDSI-32", "110106"), (registry.ITI_41, "EHDSI-41", "110107")])
def test_every_transaction_names_its_events(transaction: registry.Transaction, ehdsi: str,
                                            event_id: str) -> None:
    root = etree.fromstring(build_audit_message(event(transaction, ehdsi)))
    assert root.find("EventIdentification/EventID").get("csd-code") == event_id
    patient = root.find("ParticipantObjectIdentification[@ParticipantObjectTypeCode='1']")
    # the patient is identified by id, never by demographics
    assert patient.get("ParticipantObjectID") == "1956031212359^^^&1.3.182.4.4&ISO"
    roles = [p.find("RoleIDCode").get("csd-code") for p in root.findall("ActiveParticipant")]
    assert {"2211", "ServiceConsumer", "ServiceProvider", "110153", "110152", "POC"} <= set(roles)
    requestors = [p for p in root.findall("ActiveParticipant")
                  if p.get("UserIsRequestor") == "true"]
    assert requestors[0].get("UserID") == "urn:oid:1.2.3^dr.janssens"


def test_error_is_recorded_with_code_and_text() -> None:
    root = etree.fromstring(build_audit_message(event(
        registry.ITI_38, "EHDSI-21", outcome=Outcome.SERIOUS_FAILURE, error_code="4701",
        error_text="no consent")))
    assert root.find("EventIdentification").get("EventOutcomeIndicator") == "8"
    assert root.find("EventIdentification/EventOutcomeDescription").text == "no consent"
    err = root.find("ParticipantObjectIdentification[@ParticipantObjectID='4701']")
    assert err is not None and err.find("ParticipantObjectDetail").get("type") == "errormsg"


def test_records_are_durable_and_forwarded_once(any_db_engine: Engine) -> None:
    log = AuditLog(session_factory(any_db_engine))
    ids = [log.record(at=AT, transaction="ITI-38", event_code="EHDSI-21", outcome=0,
                      patient_ref="p^^^&1.3.182.4.4&ISO",
                      message=build_audit_message(event(registry.ITI_38, "EHDSI-21")))
           for _ in range(3)]
    sent: list[bytes] = []
    assert forward_pending(log, sent.extend, hostname="ncp-lu", batch=2) == 3
    assert len(sent) == 3 and log.pending() == []
    assert forward_pending(log, sent.extend) == 0
    assert [r.id for r in log.for_patient("p^^^&1.3.182.4.4&ISO")] == sorted(ids, reverse=True)

    def failing(frames: list[bytes]) -> None:
        raise OSError("repository down")

    log.record(at=AT, transaction="ITI-39", event_code="EHDSI-22", outcome=0, patient_ref=None,
               message=b"<AuditMessage/>")
    with pytest.raises(OSError):
        forward_pending(log, failing)
    assert len(log.pending()) == 1  # kept for the next run


def test_records_of_one_exchange_are_stored_together(any_db_engine: Engine) -> None:
    log = AuditLog(session_factory(any_db_engine))
    first, second = log.record_all([
        AuditRecord(AT, "ITI-39", "EHDSI-22", 0, "p^^^&1.3.182.4.4&ISO", b"<AuditMessage/>"),
        AuditRecord(AT, "ITI-39", "EHDSI-TRANSLATION", 0, "p^^^&1.3.182.4.4&ISO",
                    "<AuditMessage>é</AuditMessage>".encode())])
    assert second > first
    stored = {r.id: r for r in log.pending()}
    assert stored[second].message == "<AuditMessage>é</AuditMessage>"
    assert stored[first].event_code == "EHDSI-22" and stored[first].at == AT


def test_rfc5424_and_5425_framing(db_engine: Engine) -> None:
    log = AuditLog(session_factory(db_engine))
    log.record(at=AT, transaction="ITI-55", event_code="EHDSI-11", outcome=0, patient_ref=None,
               message="<AuditMessage>é</AuditMessage>".encode())
    record = log.pending()[0]
    msg = format_rfc5424(record, hostname="ncp-lu")
    assert msg.startswith(b"<85>1 2026-11-22T10:00:00.000Z ncp-lu ncp ")
    assert b" IHE+RFC-3881 - \xef\xbb\xbf<AuditMessage>" in msg
    framed = frame(msg)
    length, _, rest = framed.partition(b" ")
    assert int(length) == len(rest) == len(msg)


def test_forwarding_over_real_tls(db_engine: Engine, tmp_path: Path) -> None:
    init_pki(tmp_path, ("LU",))
    received = bytearray()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(tmp_path / "lu/tls-server.pem"), str(tmp_path / "lu/tls-server.key"))
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        with ctx.wrap_socket(conn, server_side=True) as tls:
            while chunk := tls.recv(65536):
                received.extend(chunk)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    log = AuditLog(session_factory(db_engine))
    body = build_audit_message(event(registry.ITI_41, "EHDSI-41"))
    log.record(at=AT, transaction="ITI-41", event_code="EHDSI-41", outcome=0, patient_ref=None,
               message=body)
    sender = SyslogTlsSender("localhost", port, cafile=str(tmp_path / "lu/ca.pem"))
    assert forward_pending(log, sender.send) == 1
    thread.join(10)
    server.close()
    length, _, rest = bytes(received).partition(b" ")
    assert int(length) == len(rest) and rest.endswith(body)
