"""Loading the catalogue, designations and national mappings into the database, and look-ups."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from ncp.store import terminology as store
from ncp.store.db import session_factory
from ncp.terminology.loader import load_all
from ncp.terminology.service import DbTerminology
from ncp.terminology.sources import TerminologySourceError, read_fsh_value_set

VS = "1.3.6.1.4.1.12559.11.10.1.3.1.42"
EDQM = "0.4.0.127.0.16.1.1.2.1"
LU_VOIE = "1.3.182.2.4.1.100.2"


def test_catalogue_is_loaded_with_oids_and_versions(terminology_engine):
    with session_factory(terminology_engine)() as session:
        route = store.value_set_info(session, f"{VS}.12")
        gender = store.value_set_info(session, f"{VS}.34")
        counts = store.counts(session)
    assert route.name == "eHDSIRouteofAdministration"
    assert route.version == "8.1.0" and route.source == "mvc-fsh"
    # Missing from the MVC 8.1 files, taken from the schematron release.
    assert gender.source == "artdecor-voc"
    assert counts["value_sets"] >= 80
    assert counts["concepts"] > 30000
    assert counts["mappings"] >= 150


def test_membership(terminology):
    assert terminology.is_member(f"{VS}.12", EDQM, "20053000")  # Oral use
    assert not terminology.is_member(f"{VS}.12", EDQM, "10219000")  # a dose form, not a route
    assert not terminology.is_member(f"{VS}.12", "9.9.9", "20053000")
    assert not terminology.is_member("1.2.3.4", EDQM, "20053000")
    assert terminology.display(f"{VS}.2", EDQM, "10219000") == "Tablet"


def test_transcoding_association_and_reverse(terminology):
    mapping = terminology.transcode(LU_VOIE, "SC", f"{VS}.12")
    assert (mapping.target_system, mapping.target_code) == (EDQM, "20066000")
    assert mapping.mapping_file == "lu-voie@2026.1"
    assert terminology.transcode(LU_VOIE, "SC", f"{VS}.2") is None
    assert terminology.reverse(EDQM, "20066000", LU_VOIE) == (LU_VOIE, "SC")
    assert terminology.national_system(f"{VS}.12") == LU_VOIE


def test_designation_fallback_order(terminology):
    # Reviewed French and German designations.
    fr = terminology.designation(EDQM, "20053000", "fr")
    de = terminology.designation(EDQM, "20053000", "de-LU")
    assert (fr.text, fr.lang, fr.fallback) == ("Voie orale", "fr", False)
    assert (de.text, de.fallback) == ("Zum Einnehmen", False)
    # A concept with no reviewed German name falls back to English, marked as a fallback.
    rare = terminology.designation(EDQM, "20081000", "de")  # Subretinal use
    assert rare.fallback and rare.lang.startswith("en")
    # A national code has its French label only.
    national = terminology.designation(LU_VOIE, "ORAL", "de")
    assert (national.text, national.fallback) == ("Voie orale", True)
    assert terminology.designation("9.9.9", "nothing", "fr") is None


def test_reload_replaces_rather_than_duplicates(terminology_engine, specs_dir):
    sessions = session_factory(terminology_engine)
    with sessions() as session:
        before = store.counts(session)
    load_all(sessions, specs_dir)
    with sessions() as session:
        assert store.counts(session) == before


def test_mapping_outside_its_value_set_is_refused(db_engine, specs_dir, tmp_path):
    folder = tmp_path / "mappings"
    folder.mkdir()
    source = Path(__file__).parents[2] / "ncp/terminology/data/mappings/lu-voie.csv"
    text = source.read_text(encoding="utf-8").replace(",20053000,Oral use", ",10219000,Tablet")
    (folder / "lu-voie.csv").write_text(text, encoding="utf-8")
    sessions = session_factory(db_engine)
    with pytest.raises(TerminologySourceError, match="10219000"):
        load_all(sessions, specs_dir, mappings_dir=folder)
    with sessions() as session:  # nothing was written
        assert session.scalars(select(store.TermMapping)).first() is None
        assert store.counts(session)["value_sets"] == 0


def test_mapping_file_needs_a_version(db_engine, specs_dir, tmp_path):
    folder = tmp_path / "mappings"
    folder.mkdir()
    source = Path(__file__).parents[2] / "ncp/terminology/data/mappings/lu-sexe.csv"
    shutil.copyfile(source, folder / "lu-sexe.csv")
    text = (folder / "lu-sexe.csv").read_text().replace("# version: 2026.1\n", "")
    (folder / "lu-sexe.csv").write_text(text)
    with pytest.raises(TerminologySourceError, match="version"):
        load_all(session_factory(db_engine), specs_dir, mappings_dir=folder)


def test_fsh_reader(tmp_path):
    fsh = tmp_path / "x.fsh"
    fsh.write_text('ValueSet: eHDSIX\nId: x\n* ^version = "8.1.0"\n'
                   '* ^identifier.value = "urn:oid:1.2.3"\n'
                   'Alias: $e = http://standardterms.edqm.eu\n'
                   '* $e#20053000 "Oral use"\n* http://loinc.org#1-8 "A \\"quoted\\" name"\n')
    vs = read_fsh_value_set(fsh)
    assert (vs.oid, vs.version) == ("1.2.3", "8.1.0")
    assert vs.concepts == [(EDQM, "20053000", "Oral use"),
                           ("2.16.840.1.113883.6.1", "1-8", 'A "quoted" name')]


def test_terminology_sees_a_reload_after_refresh(terminology_engine):
    terms = DbTerminology(session_factory(terminology_engine))
    assert terms.transcode(LU_VOIE, "ORAL", f"{VS}.12") is not None
    terms.refresh()
    assert terms.has_value_set(f"{VS}.12")


def test_reviewed_designations_cover_the_display_concepts():
    from ncp.terminology.sources import designation_files, read_designation_csv

    files = {path.stem: read_designation_csv(path) for path in designation_files()}
    for category in ("gender", "routes", "dose-forms", "packages", "allergy", "reactions",
                     "problems", "substitution", "sections", "labels"):
        assert files.get(category), category
    rows = [row for rows in files.values() for row in rows]
    keys = [(r.code_system, r.code) for r in rows]
    assert len(keys) == len(set(keys)), "a concept is reviewed twice"
    complete = [r for r in rows if r.fr and r.de and r.en]
    assert len(complete) >= 300
