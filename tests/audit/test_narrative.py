"""The access log in words (fr, de, en), from real access-log rows of a cross-border access."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from ncp.audit.narrative import country_name, describe, describe_all
from ncp.store.policy import Actor
from ncp.store.records import LogEntry, Records
from ncp.store.vocabulary import CrossBorderService

AT = dt.datetime(2026, 11, 22, 10, 5, tzinfo=dt.UTC)  # 11:05 in Luxembourg
READ = LogEntry(at=AT, actor_kind="foreign", actor_name="Dr An Peeters",
                actor_organisation="Apotheek Centrum", actor_country="BE", action="read",
                what="Résumé patient", document_unique_id="2.25.1", context="cross-border",
                outcome="success", detail=None)


def test_a_foreign_read_in_three_languages() -> None:
    assert describe(READ, "fr") == ("Dr An Peeters, Apotheek Centrum, Belgique, a consulté "
                                    "« Résumé patient » le 22 novembre 2026 à 11:05.")
    assert describe(READ, "de") == ("Dr An Peeters, Apotheek Centrum, Belgien, hat am "
                                    "22. November 2026 um 11:05 Uhr „Résumé patient“ "
                                    "eingesehen.")
    assert describe(READ, "en") == ("Dr An Peeters, Apotheek Centrum, Belgium, read "
                                    "“Résumé patient” on 22 November 2026 at 11:05.")


def test_searches_refusals_and_writes() -> None:
    search = replace(READ, action="search", what="documents of type patient-summary")
    assert "votre résumé patient (Patient Summary)" in describe(search, "fr")
    assert "your Patient Summary" in describe(search, "en")
    denied = replace(search, outcome="denied", what="documents of type prescription")
    assert "s'est vu refuser l'accès à vos ordonnances électroniques" in describe(denied, "fr")
    assert describe(denied, "de").startswith("Dr An Peeters, Apotheek Centrum, Belgien: "
                                             "Zugriff auf Ihre elektronischen Rezepte verweigert")
    assert "was refused access to your ePrescriptions" in describe(denied, "en")
    write = replace(READ, action="write", what="eDispensation : Dafalgan 1 g")
    assert "a enregistré « eDispensation : Dafalgan 1 g »" in describe(write, "fr")
    identity = replace(READ, action="search", what="patient identity", outcome="error")
    assert "tried to access your identity (patient search)" in describe(identity, "en")


def test_summer_time_first_of_month_and_unknown_country() -> None:
    summer = replace(READ, at=dt.datetime(2026, 7, 1, 10, 0, tzinfo=dt.UTC),
                     actor_country="XX")
    text = describe(summer, "fr")
    assert "le 1er juillet 2026 à 12:00" in text and ", XX, " in text
    assert country_name("de", "fr") == "Allemagne"
    with pytest.raises(ValueError):
        describe(READ, "lb")


def test_rows_written_by_the_store_read_as_sentences(records: Records) -> None:
    pid = records.add_patient(matricule="1956031212359", given_name="Jean",
                              family_name="Schmit", gender="M")
    me = Actor.patient(pid)
    records.give_consent(me, pid, CrossBorderService.PATIENT_SUMMARY)
    foreign = Actor.foreign(name="Dr An Peeters", organisation="UZ Leuven", country="BE",
                            profession="physician")
    records.list_documents(foreign, pid, doc_type="patient-summary")
    entries = records.access_log(me, pid)
    sentences = describe_all(entries, "en")
    assert sentences[0].startswith("Dr An Peeters, UZ Leuven, Belgium, looked up your "
                                   "Patient Summary on ")
    assert any(s.startswith("You changed your access rules") for s in sentences)
