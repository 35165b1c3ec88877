"""Issue 14 finding 8: no clinical text in plaintext at rest, and none that moves unseen.

A copy of the database file read with plain ``sqlite3`` (no key) shows none of the demo's
clinical strings in any column of any table (the public terminology tables aside: they are the
code systems, not anyone's record); someone who can write the file but has no key cannot move
a sealed row to another patient unseen.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ncp import demo
from ncp.cda.demo import demo_prescriptions, national_documents
from ncp.store.audit import AuditLog, AuditRecord, Refusal
from ncp.store.crypto import KeyRing
from ncp.store.db import session_factory
from ncp.store.dispensing import Dispensing, PrescriptionItem
from ncp.store.documents import TAMPERED_TITLE
from ncp.store.errors import ContentTampered
from ncp.store.keys import KeyRingSource
from ncp.store.peers import CrossBorderStore
from ncp.store.policy import Actor
from ncp.store.records import Records
from tests.clock import NOW
from tests.store.factories import patient, professional

#: Reference data: the code systems' own designations (they name every substance).
PUBLIC_TABLES = ("term_value_sets", "term_concepts", "term_designations", "term_mappings")


def _plaintext_hits(path: Path, needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every needle found in any text or blob of the file."""
    hits = []
    with sqlite3.connect(path) as raw:
        tables = [r[0] for r in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            if table in PUBLIC_TABLES:
                continue
            columns = [r[1] for r in raw.execute(f"PRAGMA table_info({table})")]
            for row in raw.execute(f"SELECT * FROM {table}"):  # noqa: S608 - names from the file
                for column, value in zip(columns, row, strict=True):
                    text = value.decode("utf-8", "replace") if isinstance(value, bytes) \
                        else value if isinstance(value, str) else None
                    if text is None:
                        continue
                    hits.extend((table, column, n) for n in needles if n.lower() in text.lower())
    return hits


def _demo_strings() -> list[str]:
    """The demo's clinical strings: its document titles, its prescribed products."""
    titles, products = set(), set()
    for rec in demo.PATIENTS:
        titles |= {d.title for d in national_documents(rec.patient)
                   if d.doc_type != "prescription"}
        for prescription in demo_prescriptions(rec.patient):
            item = demo.prescription_item(prescription)
            products.add(item.product_name)
    return sorted(titles | products | {"Escitalopram"})


def test_a_copy_of_the_database_shows_no_clinical_text(db_engine: Engine,
                                                       keyring: KeyRing) -> None:
    sessions = session_factory(db_engine)
    records = Records(sessions, keyring)
    assert demo.seed(records) is True
    # Beyond the demo: what a day of use adds (reads, an emergency, a visitor, an eD, a
    # per-document refusal sent to a peer).
    tom = records.patient_id(demo.PATIENTS[2].patient.matricule)
    me = Actor.patient(tom, "Tom")
    docs = records.list_documents(me, tom)
    for d in docs:
        records.read_document(me, d.unique_id)
    doctor = professional(records)
    records.declare_emergency(doctor, tom, "Escitalopram overdose suspected", "unconscious")
    store = CrossBorderStore(sessions, KeyRingSource.fixed(keyring))
    store.open_context(account_id=1, country="BE", patient_cx="1^^^&1.2&ISO",
                       patient_name="Escitalopram Janssens", birth_date="1968-05-14",
                       gender="F", purpose="TREATMENT", now=NOW,
                       lifetime=dt.timedelta(hours=1))
    store.record_dispensation(
        account_id=1, country="BE", patient_cx="1^^^&1.2&ISO", prescription_id="p",
        document_unique_id="1.2.3", document_id="1.2^3", product="Escitalopram 10 mg",
        packages=1, substituted=False, content=b"<eD>Escitalopram</eD>", status="sent",
        outcome="accepted", now=NOW)
    AuditLog(sessions, KeyRingSource.fixed(keyring)).record_all([AuditRecord(
        NOW, "ITI-39", "EV", 0, None, b"<AuditMessage/>", partial=(Refusal(
            "E-1", "untranscodable", "doc", "unmapped code N06AB10 Escitalopram"),))])

    needles = _demo_strings()
    # The strings are there, through the service: the scan below can find them.
    shown = " ".join(d.title for d in docs) + " ".join(
        e.what for e in records.access_log(me, tom))
    assert any(n in shown for n in needles), needles
    assert "Escitalopram" in " ".join(n.text for n in records.notices(me, tom))
    extra = ["overdose", "Janssens", "1968-05-14", "N06AB10"]
    assert _plaintext_hits(Path(str(db_engine.url.database)), [*needles, *extra]) == []


def test_the_scan_finds_plaintext_when_there_is_some(db_engine: Engine,
                                                     keyring: KeyRing) -> None:
    """The scan itself can fail: a row written in plaintext (as before 0021) is found."""
    records = Records(session_factory(db_engine), keyring)
    doctor = professional(records)
    pid, _ = patient(records, referring=doctor)
    records.add_document(doctor, pid, doc_type="visit-report", title="V",
                         media_type="text/plain", content=b"x")
    path = Path(str(db_engine.url.database))
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE documents SET title = 'Escitalopram 10 mg'")
    assert _plaintext_hits(path, ["Escitalopram"]) == [("documents", "title", "Escitalopram")]


def _edit(engine: Engine, sql: str, **params: object) -> None:
    with sqlite3.connect(str(engine.url.database)) as raw:  # no key, only the file
        raw.execute(sql, params)


def test_a_sealed_row_moved_to_another_patient_is_detected(db_engine: Engine,
                                                           keyring: KeyRing) -> None:
    records = Records(session_factory(db_engine), keyring)
    doctor = professional(records)
    a, a_me = patient(records, referring=doctor)
    b, b_me = patient(records, referring=doctor)
    doc = records.add_document(doctor, a, doc_type="visit-report", title="Psychiatrie",
                               media_type="text/plain", content=b"diagnosis: depression")
    dispensing = Dispensing(records)
    dispensing.prescribe(doctor, a, PrescriptionItem(
        prescription_id="RX-9", product_name="Escitalopram 10 mg", packages=1,
        atc_code="N06AB10", atc_display="escitalopram"), title="Ordonnance : Escitalopram",
        content=b"<ClinicalDocument/>")
    assert dispensing.prescription("RX-9").product_name == "Escitalopram 10 mg"
    a_log = {e.what for e in records.access_log(a_me, a)}
    assert "Psychiatrie" in a_log

    # The document: its content and its title are bound to patient a.
    _edit(db_engine, "UPDATE documents SET patient_id = :b WHERE unique_id = :uid",
          b=b, uid=doc.unique_id)
    with pytest.raises(ContentTampered):
        records.read_document(b_me, doc.unique_id)
    listed = [d for d in records.list_documents(b_me, b) if d.unique_id == doc.unique_id]
    assert [d.title for d in listed] == [TAMPERED_TITLE]
    # Access-log rows of patient a moved into b's log say nothing of a's record.
    _edit(db_engine, "UPDATE access_log SET patient_id = :b WHERE patient_id = :a", a=a, b=b)
    b_log = {e.what for e in records.access_log(b_me, b)}
    assert not b_log & a_log
    assert "(entry failed its integrity check)" in b_log
    # The prescription's product, moved to b, does not open either.
    _edit(db_engine, "UPDATE prescriptions SET patient_id = :b", b=b)
    with pytest.raises(ContentTampered):
        dispensing.prescription("RX-9")


def test_reseal_seals_rows_written_before_and_keeps_the_chain(db_engine: Engine,
                                                              keyring: KeyRing) -> None:
    """Rows from before 0021 (plaintext title, log text, product) are sealed by
    ``ncp keys reseal``'s steps; the access log's hash chain, already covering them, is
    verified and re-linked: intact afterwards, and the texts read as before."""
    import ncp.store.schema  # noqa: F401  (every re-sealing step registered)
    from ncp.store import chain, sealed

    sessions = session_factory(db_engine)
    records = Records(sessions, keyring)
    doctor = professional(records)
    pid, me = patient(records, referring=doctor)
    doc = records.add_document(doctor, pid, doc_type="visit-report", title="Psychiatrie",
                               media_type="text/plain", content=b"x")
    Dispensing(records).prescribe(doctor, pid, PrescriptionItem(
        prescription_id="RX-7", product_name="Escitalopram 10 mg", packages=1),
        title="Ordonnance : Escitalopram", content=b"<ClinicalDocument/>")
    records.declare_emergency(doctor, pid, "Escitalopram overdose suspected", "unconscious")
    audit = AuditLog(sessions, KeyRingSource.fixed(keyring))
    audit.record_all([AuditRecord(NOW, "ITI-39", "EV", 0, None, b"<AuditMessage/>", partial=(
        Refusal("E-7", "untranscodable", "doc", "unmapped code N06AB10"),))])
    before = [(e.what, e.detail) for e in records.access_log(me, pid)]
    # As a database from before 0021 has them: plaintext, no data key.
    _edit(db_engine, "UPDATE access_log SET what = 'Escitalopram: ' || id, "
          "key_id = NULL, wrapped_key = NULL, what_sealed = NULL, detail_sealed = NULL")
    _edit(db_engine, "UPDATE prescriptions SET product_name = 'Escitalopram 10 mg', "
          "key_id = NULL, wrapped_key = NULL, product_name_sealed = NULL")
    _edit(db_engine, "UPDATE emergency_accesses SET reason = 'Escitalopram overdose', "
          "key_id = NULL, wrapped_key = NULL, reason_sealed = NULL")
    _edit(db_engine, "UPDATE audit_partial_refusals SET detail = 'Escitalopram unmapped', "
          "key_id = NULL, wrapped_key = NULL, detail_sealed = NULL")
    with sqlite3.connect(str(db_engine.url.database)) as raw:
        ids = [r[0] for r in raw.execute("SELECT id FROM access_log ORDER BY id")]
    chain.seal(sessions)
    path = Path(str(db_engine.url.database))
    assert _plaintext_hits(path, ["Escitalopram"])
    done = {name: step(records, 2) for name, step in sealed.resealers()}
    assert done["access_log"] == len(ids) and done["prescriptions"] == 1
    assert done["emergency_accesses"] == 1 and done["audit_partial_refusals"] == 1
    assert _plaintext_hits(path, ["Escitalopram"]) == []
    # the three chains (access log, audit messages, partial refusals) re-linked, intact
    assert [r.broken for r in chain.verify(sessions)] == [None, None, None]
    stored = audit.refusal("E-7")
    assert stored is not None and stored[1].detail == "Escitalopram unmapped"
    assert {e.what for e in records.access_log(me, pid)} == {f"Escitalopram: {i}" for i in ids}
    assert len(before) == len(ids)
    assert Dispensing(records).prescription("RX-7").product_name == "Escitalopram 10 mg"
    assert records.read_document(me, doc.unique_id)[0].title == "Psychiatrie"
    assert all(n == 0 for n in (step(records, 2) for _, step in sealed.resealers()))


def test_reseal_refuses_a_broken_chain(db_engine: Engine, keyring: KeyRing) -> None:
    """The re-link never launders an edit made before it: a broken chain stops the access
    log's step with nothing written."""
    from ncp.store import chain

    sessions = session_factory(db_engine)
    records = Records(sessions, keyring)
    doctor = professional(records)
    pid, _ = patient(records, referring=doctor)
    records.add_document(doctor, pid, doc_type="visit-report", title="V",
                         media_type="text/plain", content=b"x")
    _edit(db_engine, "UPDATE access_log SET what = 'legacy', key_id = NULL")
    chain.seal(sessions)
    _edit(db_engine, "UPDATE access_log SET outcome = 'denied'")  # an edit after sealing
    from ncp.store.access_log import _reseal_access_log

    with pytest.raises(chain.ChainBroken):
        _reseal_access_log(records, 10)
    with sqlite3.connect(str(db_engine.url.database)) as raw:
        assert raw.execute("SELECT count(*) FROM access_log WHERE key_id IS NOT NULL"
                           ).fetchone() == (0,)
