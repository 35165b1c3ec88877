"""``ncp demo`` loads its professionals, insured persons and referring-doctor declarations
through the national feeds, from
the extracts under docs/examples/demo, and those extracts say what ncp.demo names."""

from __future__ import annotations

from sqlalchemy import Engine, select

from ncp import demo
from ncp.auth.demo import seed_accounts
from ncp.registry.insured import InsuredPerson, read_insured
from ncp.registry.professionals import RegisteredProfessional, read_professionals
from ncp.store.activation import ActivationLetter
from ncp.store.models import AccessLogEntry, Patient
from ncp.store.records import Records


def test_the_extracts_agree_with_the_demo_people() -> None:
    people = list(read_insured(demo.FEEDS / "insured.csv"))
    assert all(isinstance(p, InsuredPerson) for p in people)
    assert [(p.matricule, p.given_name, p.family_name, p.birth_date, p.gender, p.city)
            for p in people] == [  # type: ignore[union-attr]
        (r.patient.matricule, r.patient.given_name, r.patient.family_name,
         r.patient.birth_date, r.patient.gender, r.patient.city) for r in demo.PATIENTS]
    pros = list(read_professionals(demo.FEEDS / "professionals.jsonl"))
    assert all(isinstance(p, RegisteredProfessional) for p in pros)
    orgs = {i: (n, k) for i, n, k in demo.ORGANISATIONS}
    assert [(p.registry_id, p.given_name, p.family_name, p.profession, p.isco_code,
             p.specialty, p.organisation_id, (p.organisation_name, p.organisation_kind))
            for p in pros] == [  # type: ignore[union-attr]
        (p.registry_id, p.given_name, p.family_name, p.profession, p.isco_code, p.specialty,
         p.organisation, orgs[p.organisation]) for p in demo.PROFESSIONALS]


def test_the_demo_opens_its_dsps_through_the_register_feed(records: Records,
                                                          any_db_engine: Engine) -> None:
    assert demo.seed(records) is True
    with records.reading() as s:
        opened = list(s.scalars(select(AccessLogEntry.what).where(
            AccessLogEntry.what == "DSP opened (register)")))
        activated = list(s.scalars(select(Patient.activated_at)))
    assert len(opened) == len(demo.PATIENTS)
    assert all(a is None for a in activated)  # until the persons use their letters
    seed_accounts(records, any_db_engine, cheap_hashes=True)
    with records.reading() as s:
        activated = list(s.scalars(select(Patient.activated_at)))
        by_letter = list(s.scalars(select(AccessLogEntry.patient_id).where(
            AccessLogEntry.what == "DSP activated with the activation letter")))
        used = list(s.scalars(select(ActivationLetter.used_at)))
    assert all(a is not None for a in activated)
    assert len(by_letter) == len(set(by_letter)) == len(demo.PATIENTS)
    assert len(used) == len(demo.PATIENTS) and all(used)
    tom = records.patient_id(demo.PATIENTS[2].patient.matricule)
    gp = records.professional_actor(records.professional_id("LU-HP-100001"))
    (summary,) = records.list_documents(gp, tom, doc_type="services-summary")
    assert "Électrocardiogramme".encode() in records.read_document(gp, summary.unique_id)[1]
    # Every demo patient's referring doctor comes from the insurer's declaration feed.
    with records.reading() as s:
        referring = set(s.scalars(select(Patient.referring_doctor_id)))
        declared = list(s.scalars(select(AccessLogEntry.what).where(
            AccessLogEntry.what.like("referring doctor declared:%"))))
    assert referring == {gp.professional_id}
    assert len(declared) == len(demo.PATIENTS)
    assert demo.seed(records) is False  # idempotent
