"""The Patient Information Notice: every version in fr, de and en with the same sections; the
acknowledged version stored with the consent, on SQLite and PostgreSQL; a consent under an
older version is renewed, not duplicated."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ncp.consent import notice as notices
from ncp.store.models import CrossBorderConsent
from ncp.store.records import Records
from tests.store.factories import patient


def test_every_version_says_the_same_in_three_languages() -> None:
    assert notices.versions() and notices.current_version() == notices.versions()[-1]
    for version in notices.versions():
        texts = [notices.notice(version, lang) for lang in notices.LANGUAGES]
        assert len({t.title for t in texts}) == 3  # translated, not copied
        assert len({len(t.sections) for t in texts}) == 1, version
        for t in texts:
            assert all(s.heading and s.paragraphs for s in t.sections), (version, t.language)
            text = " ".join(p for s in t.sections for p in s.paragraphs)
            assert "CNPD" in text and "Agence eSanté" in text  # who, and where to complain
    assert notices.notice(notices.current_version(), "xx").language == "fr"
    with pytest.raises(KeyError):
        notices.notice("v999", "fr")


def test_the_acknowledged_version_is_kept_with_the_consent_and_a_new_one_renews_it(
        records: Records) -> None:
    pid, me = patient(records)
    records.give_consent(me, pid, "patient-summary", channel="portal", notice_version="v1")
    records.give_consent(me, pid, "patient-summary", channel="portal", notice_version="v1")
    assert records.consent_notices(pid) == {"patient-summary": "v1"}
    records.give_consent(me, pid, "patient-summary", channel="portal", notice_version="v2")
    assert records.consent_notices(pid) == {"patient-summary": "v2"}
    with records.reading() as s:
        rows = s.execute(select(CrossBorderConsent.notice_version,
                                CrossBorderConsent.withdrawn_at.is_(None))
                         .where(CrossBorderConsent.patient_id == pid)
                         .order_by(CrossBorderConsent.id)).all()
    assert [tuple(r) for r in rows] == [("v1", False), ("v2", True)]  # the history keeps both
    records.withdraw_consent(me, pid, "patient-summary")  # withdrawing needs no notice
    assert records.consent_notices(pid) == {}
