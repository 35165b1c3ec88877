from __future__ import annotations

from ncp.cda.kinds import DocumentKind
from ncp.transform.bindings import bindings_for, qualify


def test_qualify_chooses_the_namespace_per_step():
    path = ("//entry/substanceAdministration[templateId/@root='1.2']/consumable/"
            "manufacturedProduct/manufacturedMaterial/asContent/containerPackagedProduct/formCode")
    assert qualify(path) == (
        "//hl7:entry/hl7:substanceAdministration[hl7:templateId/@root='1.2']/hl7:consumable/"
        "hl7:manufacturedProduct/hl7:manufacturedMaterial/pharm:asContent/"
        "pharm:containerPackagedProduct/pharm:formCode")
    assert qualify("//ingredient[@classCode='ACTI']/ingredientSubstance/code") == (
        "//pharm:ingredient[@classCode='ACTI']/pharm:ingredientSubstance/pharm:code")
    assert qualify("//observation[code/@code='x' and code/@codeSystem='y']/value") == (
        "//hl7:observation[hl7:code/@code='x' and hl7:code/@codeSystem='y']/hl7:value")


def test_bindings_per_kind():
    ps = bindings_for(DocumentKind.PATIENT_SUMMARY)
    ep = bindings_for(DocumentKind.EPRESCRIPTION)
    gender = "/ClinicalDocument/recordTarget/patientRole/patient/administrativeGenderCode"
    assert any(b.path == gender and b.usage == "RNFA" for b in ps)
    assert all(b.usage in ("R", "RNFA", "O") for b in ps + ep)
    # Most specific first, and the eP product's substance never accepts an allergen set.
    assert [len(b.path) for b in ps] == sorted((len(b.path) for b in ps), reverse=True)
    kind = next(b for b in ep if b.path.endswith("generalizedMaterialKind/code"))
    assert kind.value_sets == ("1.3.6.1.4.1.12559.11.10.1.3.1.42.24",)
    units = [b for b in ep if b.attribute == "unit"]
    assert units and all(b.anchor == "entry" for b in units)
