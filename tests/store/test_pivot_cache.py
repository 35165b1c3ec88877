"""The pivot cache: policy-checked reads, encrypted rows bound to document and variant."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from ncp.store.errors import AccessDenied, ContentTampered, NotFound
from ncp.store.pivot_cache import PivotCache, PivotCacheEntry
from ncp.store.policy import Actor
from ncp.store.records import Records
from tests.store.factories import patient, professional

NATIONAL = b"<ClinicalDocument>national</ClinicalDocument>"
PIVOT = b"<ClinicalDocument>pivot</ClinicalDocument>"
FOREIGN = Actor.foreign(name="Dr An Peeters", organisation="UZ Leuven", country="BE",
                        profession="physician")


@pytest.fixture
def shared(records: Records):  # type: ignore[no-untyped-def]
    gp = professional(records)
    pid, me = patient(records, referring=gp)
    records.add_relationship(patient_id=pid, professional_id=gp.professional_id,
                             source="referring-doctor")
    records.give_consent(me, pid, "patient-summary")
    info = records.add_document(gp, pid, doc_type="patient-summary", title="Résumé patient",
                                media_type="text/xml", content=NATIONAL)
    return pid, me, info


def test_miss_then_hit(records: Records, shared) -> None:  # type: ignore[no-untyped-def]
    pid, _, info = shared
    cache = PivotCache(records)
    first = cache.read(FOREIGN, info.unique_id, variant=lambda _: "ps|v1", patient_id=pid)
    assert first.pivot is None and first.national == NATIONAL
    cache.put(first.info, variant="ps|v1", pivot=PIVOT)
    cache.put(first.info, variant="ps|v1", pivot=PIVOT)  # a concurrent second writer: fine
    hit = cache.read(FOREIGN, info.unique_id, variant=lambda _: "ps|v1", patient_id=pid)
    assert hit.pivot == PIVOT and hit.national is None
    other = cache.read(FOREIGN, info.unique_id, variant=lambda _: "ps|v2")
    assert other.pivot is None  # a new mapping release never serves the old pivot
    assert cache.digests([info.id], variant="ps|v1")[info.id][0] == len(PIVOT)
    assert cache.prune(keep_variants={"ps|v2"}) == 1 and cache.count() == 0


def test_the_policy_still_decides(records: Records, shared) -> None:  # type: ignore[no-untyped-def]
    pid, me, info = shared
    cache = PivotCache(records)
    cache.put(info, variant="ps|v1", pivot=PIVOT)
    records.withdraw_consent(me, pid, "patient-summary")
    with pytest.raises(AccessDenied):
        cache.read(FOREIGN, info.unique_id, variant=lambda _: "ps|v1")
    with pytest.raises(NotFound):  # a document of another patient is "unknown"
        cache.read(FOREIGN, info.unique_id, variant=lambda _: "ps|v1", patient_id=pid + 1)
    log = records.access_log(me, pid)  # the owner sees both attempts
    assert [e.outcome for e in log[:2]] == ["error", "denied"]


def test_a_tampered_pivot_is_refused(records: Records, shared) -> None:  # type: ignore[no-untyped-def]
    pid, _, info = shared
    cache = PivotCache(records)
    cache.put(info, variant="ps|v1", pivot=PIVOT)
    with records._sessions() as s, s.begin():
        s.execute(update(PivotCacheEntry).values(variant="ps|v9"))  # moved onto another key
    with pytest.raises(ContentTampered):
        cache.read(FOREIGN, info.unique_id, variant=lambda _: "ps|v9", patient_id=pid)


def test_rotation_rewraps_cached_pivots(any_db_engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Why: a pivot left under a retired key could never be opened nor replaced (the row is
    # unique per document and variant), so every later read would transcode again.
    from ncp.store.crypto import KeyRing
    from ncp.store.db import session_factory
    from ncp.store.keys import KeyRingSource, rotate

    path = tmp_path / "keys.json"
    KeyRing.load_or_create(path)
    sessions = session_factory(any_db_engine)
    records = Records(sessions, KeyRingSource.from_file(path))
    gp = professional(records)
    pid, me = patient(records, referring=gp)
    records.give_consent(me, pid, "patient-summary")
    info = records.add_document(gp, pid, doc_type="patient-summary", title="PS",
                                media_type="text/xml", content=NATIONAL)
    cache = PivotCache(records)
    cache.put(info, variant="ps|v1", pivot=PIVOT)
    report = rotate(sessions, path)
    # the document and its pivot, and the two access-log rows (consent, write)
    assert report.rewrapped == 4 and report.retired
    hit = cache.read(FOREIGN, info.unique_id, variant=lambda _: "ps|v1", patient_id=pid)
    assert hit.pivot == PIVOT
