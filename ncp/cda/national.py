"""Luxembourg's national ("friendly") CDA profile: generation from :mod:`ncp.cda.model`.

The national profile is the eHDSI pivot *shape* (CDA R2 level 3, the eHDSI section and entry
templates, the ``urn:hl7-org:pharm`` product model) with three differences, so that the DSP's
documents stay readable by its own software and transcoding is a matter of codes only:

- the document template id is a national one (:data:`NATIONAL_TEMPLATES`), not the eHDSI one;
- coded elements carry the DSP's national codes (``LU-*`` code systems, WHO ICD-10 for
  diagnoses) with French display names; international codes are used as they are where the DSP
  uses them too (LOINC document and section codes, HL7 confidentiality, UCUM units);
- the language is French (``fr-LU``) and the narrative is written in French.

Transcoding to the pivot (:mod:`ncp.transform`) replaces the template id and every coded element
listed by eHDSI, keeping each national code as ``<translation>``.
"""

from __future__ import annotations

import datetime as dt

from lxml import etree

from ncp.cda.kinds import LOINC, DocumentKind
from ncp.cda.model import (
    DocumentHeader,
    Medication,
    Organisation,
    PatientSummaryData,
    PrescriptionData,
    Product,
)
from ncp.cda.xml import XSI_TYPE, addr, coded, el, ii, name, pharm, template, ts
from ncp.terminology.codesystems import NATIONAL_TEMPLATE_ARC, national

#: National document template ids (project-local, see ncp.terminology.codesystems).
NATIONAL_TEMPLATES = {
    DocumentKind.PATIENT_SUMMARY: f"{NATIONAL_TEMPLATE_ARC}.1",
    DocumentKind.EPRESCRIPTION: f"{NATIONAL_TEMPLATE_ARC}.2",
    DocumentKind.EDISPENSATION: f"{NATIONAL_TEMPLATE_ARC}.3",
}

EHDSI = "1.3.6.1.4.1.12559.11.10.1.3.1"
CONFIDENTIALITY = "2.16.840.1.113883.5.25"
ABSENT_UNKNOWN = "2.16.840.1.113883.5.1150.1"
SNOMED = "2.16.840.1.113883.6.96"
PHARM_NS = "urn:hl7-org:pharm"
#: National product numbers of the CNS drug list.
PRODUCT_CODE_SYSTEM = national("LU-PRODUIT")


def _loinc(parent: etree._Element, tag: str, code: str, display: str) -> etree._Element:
    return el(parent, tag, {"code": code, "codeSystem": LOINC, "codeSystemName": "LOINC",
                            "displayName": display})


def _header(kind: DocumentKind, header: DocumentHeader, doc_code: tuple[str, str],
            title: str) -> etree._Element:
    root = el(None, "ClinicalDocument", {"classCode": "DOCCLIN", "moodCode": "EVN"})
    el(root, "typeId", {"root": "2.16.840.1.113883.1.3", "extension": "POCD_HD000040"})
    template(root, NATIONAL_TEMPLATES[kind])
    ii(root, header.id_root, header.id_extension)
    _loinc(root, "code", *doc_code)
    el(root, "title", text=header.title or title)
    el(root, "effectiveTime", {"value": ts(header.effective_time)})
    el(root, "confidentialityCode", {"code": "N", "codeSystem": CONFIDENTIALITY,
                                     "codeSystemName": "Confidentiality", "displayName": "normal"})
    el(root, "languageCode", {"code": header.language})
    ii(root, header.id_root, header.id_extension, tag="setId")
    el(root, "versionNumber", {"value": "1"})

    patient = header.patient
    role = el(el(root, "recordTarget", {"typeCode": "RCT", "contextControlCode": "OP"}),
              "patientRole", {"classCode": "PAT"})
    ii(role, patient.id_root, patient.id_extension)
    addr(role, patient.address)
    el(role, "telecom", {"nullFlavor": "NI"})
    person = el(role, "patient", {"classCode": "PSN", "determinerCode": "INSTANCE"})
    name(person, patient.person)
    coded(person, "administrativeGenderCode", patient.gender)
    el(person, "birthTime", {"value": ts(patient.birth_date)})

    author = header.author
    auth = el(root, "author", {"typeCode": "AUT", "contextControlCode": "OP"})
    coded(auth, "functionCode", author.profession)
    el(auth, "time", {"value": ts(header.effective_time)})
    assigned = el(auth, "assignedAuthor", {"classCode": "ASSIGNED"})
    _professional_body(assigned, author.id_root, author.id_extension, author.organisation,
                       author.telecom, author.person)

    custodian = el(el(el(root, "custodian", {"typeCode": "CST"}), "assignedCustodian",
                      {"classCode": "ASSIGNED"}), "representedCustodianOrganization",
                   {"classCode": "ORG", "determinerCode": "INSTANCE"})
    org = header.custodian
    ii(custodian, org.id_root, org.id_extension)
    el(custodian, "name", text=org.name)
    el(custodian, "telecom", {"value": org.telecom, "use": "WP"})
    addr(custodian, org.address)

    legal = el(root, "legalAuthenticator", {"typeCode": "LA", "contextControlCode": "OP"})
    el(legal, "time", {"value": ts(header.effective_time)})
    el(legal, "signatureCode", {"code": "S"})
    entity = el(legal, "assignedEntity", {"classCode": "ASSIGNED"})
    _professional_body(entity, author.id_root, author.id_extension, author.organisation,
                       author.telecom, author.person)
    return root


def _professional_body(parent: etree._Element, root: str, extension: str, org: Organisation,
                       telecom: str, person) -> None:
    ii(parent, root, extension)
    addr(parent, org.address)
    el(parent, "telecom", {"value": telecom, "use": "WP"})
    name(el(parent, "assignedPerson", {"classCode": "PSN", "determinerCode": "INSTANCE"}),
         person)
    _organisation(parent, org)


def _organisation(parent: etree._Element, org: Organisation) -> None:
    node = el(parent, "representedOrganization", {"classCode": "ORG",
                                                  "determinerCode": "INSTANCE"})
    ii(node, org.id_root, org.id_extension)
    el(node, "name", text=org.name)
    el(node, "telecom", {"value": org.telecom, "use": "WP"})
    addr(node, org.address)


def _section(body: etree._Element, templates: tuple[str, ...], section_id: tuple[str, str],
             code: tuple[str, str], title: str) -> tuple[etree._Element, etree._Element]:
    section = el(el(body, "component"), "section", {"classCode": "DOCSECT", "moodCode": "EVN"})
    template(section, *templates)
    ii(section, *section_id)
    _loinc(section, "code", *code)
    el(section, "title", text=title)
    text = el(section, "text")
    return section, text


def _table(text: etree._Element, headers: list[str]) -> etree._Element:
    table = el(text, "table", {"border": "1"})
    row = el(el(table, "thead"), "tr")
    for h in headers:
        el(row, "th", text=h)
    return el(table, "tbody")


def _row(tbody: etree._Element, ref: str, cells: list[str]) -> None:
    row = el(tbody, "tr", {"ID": ref})
    for cell in cells:
        el(row, "td", text=cell)


_FREQUENCY_FR = {24: "une fois par jour", 12: "deux fois par jour", 8: "trois fois par jour",
                 6: "quatre fois par jour", 168: "une fois par semaine",
                 720: "une fois par mois"}


def _posology_fr(med: Medication) -> str:
    """``1 × comprimé, une fois par jour``: the dose as the DSP prints it."""
    if med.dose_unit == "1":
        dose = f"{med.dose_value} × {med.product.dose_form.display.lower()}"
    else:
        dose = f"{med.dose_value} {med.dose_unit.replace('[IU]', 'UI')}"
    frequency = _FREQUENCY_FR.get(med.period_hours, f"toutes les {med.period_hours} h")
    return f"{dose}, {frequency}"


def _date_fr(value: dt.date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


# --- medication (shared by the Patient Summary and the ePrescription) --------------------------


def _product(consumable: etree._Element, product: Product, *, prescription: bool) -> None:
    manufactured = el(consumable, "manufacturedProduct", {"classCode": "MANU"})
    template(manufactured, f"{EHDSI}.3.29" if prescription else f"{EHDSI}.3.31")
    material = el(manufactured, "manufacturedMaterial", {"classCode": "MMAT",
                                                         "determinerCode": "KIND"})
    template(material, f"{EHDSI}.3.30" if prescription else f"{EHDSI}.3.32")
    el(material, "name", text=product.name)
    coded(material, "formCode", product.dose_form, ns=PHARM_NS)
    content = pharm(material, "asContent", {"classCode": "CONT"})
    pharm(content, "quantity", {"value": product.package_size, "unit": product.package_unit})
    package = pharm(content, "containerPackagedProduct", {"classCode": "CONT",
                                                          "determinerCode": "KIND"})
    pharm(package, "code", {"code": product.code, "codeSystem": PRODUCT_CODE_SYSTEM,
                            "codeSystemName": "LU-PRODUIT", "displayName": product.name})
    pharm(package, "name", text=product.name)
    coded(package, "formCode", product.package, ns=PHARM_NS)
    kind = pharm(pharm(material, "asSpecializedKind", {"classCode": "GRIC"}),
                 "generalizedMaterialKind", {"classCode": "MMAT", "determinerCode": "KIND"})
    coded(kind, "code", product.substance, ns=PHARM_NS)
    ingredient = pharm(material, "ingredient", {"classCode": "ACTI"})
    quantity = pharm(ingredient, "quantity")
    el(quantity, "numerator", {XSI_TYPE: "PQ", "value": product.strength_value,
                               "unit": product.strength_unit})
    el(quantity, "denominator", {XSI_TYPE: "PQ", "value": product.strength_per_value,
                                 "unit": product.strength_per_unit})
    substance = pharm(ingredient, "ingredientSubstance", {"classCode": "MMAT",
                                                          "determinerCode": "KIND"})
    coded(substance, "code", product.substance, ns=PHARM_NS)
    pharm(substance, "name", text=product.substance.display)




def _substance_administration(entry: etree._Element, med: Medication, item_root: str, *,
                              prescription: bool, ref: str) -> etree._Element:
    sa = el(entry, "substanceAdministration", {"classCode": "SBADM", "moodCode": "INT"})
    if prescription:
        template(sa, f"{EHDSI}.3.2", "1.3.6.1.4.1.19376.1.5.3.1.4.7",
                 "2.16.840.1.113883.10.20.1.24", "1.3.6.1.4.1.19376.1.5.3.1.4.7.1")
    else:
        template(sa, f"{EHDSI}.3.4", "2.16.840.1.113883.10.20.1.24",
                 "1.3.6.1.4.1.19376.1.5.3.1.4.7.1")
    ii(sa, item_root, med.item_id)
    el(el(sa, "text"), "reference", {"value": f"#{ref}"})
    el(sa, "statusCode", {"code": "active"})
    period = el(sa, "effectiveTime", {XSI_TYPE: "IVL_TS"})
    el(period, "low", {"value": ts(med.start)})
    if med.end:
        el(period, "high", {"value": ts(med.end)})
    elif prescription:
        el(period, "high", {"nullFlavor": "UNK"})
    frequency = el(sa, "effectiveTime", {XSI_TYPE: "PIVL_TS", "operator": "A",
                                         "institutionSpecified": "true"})
    el(frequency, "period", {"value": str(med.period_hours), "unit": "h"})
    coded(sa, "routeCode", med.route)
    el(sa, "doseQuantity", {"value": med.dose_value, "unit": med.dose_unit})
    _product(el(sa, "consumable", {"typeCode": "CSM"}), med.product, prescription=prescription)
    return sa


# --- Patient Summary ---------------------------------------------------------------------------


def build_patient_summary(data: PatientSummaryData) -> bytes:
    """The national Patient Summary of ``data`` (UTF-8 XML bytes)."""
    h = data.header
    root = _header(DocumentKind.PATIENT_SUMMARY, h, ("60591-5", "Patient summary Document"),
                   "Résumé patient")
    _preferred_professional(root, h)
    service = el(el(root, "documentationOf", {"typeCode": "DOC"}), "serviceEvent",
                 {"classCode": "PCPR", "moodCode": "EVN"})
    span = el(service, "effectiveTime")
    el(span, "low", {"value": ts(h.patient.birth_date)})
    el(span, "high", {"value": ts(h.effective_time.date())})
    body = el(el(root, "component"), "structuredBody", {"classCode": "DOCBODY",
                                                        "moodCode": "EVN"})
    base = f"{h.id_root}.{h.id_extension}" if h.id_extension.isdigit() else h.id_root
    item_root = h.id_root
    _medication_section(body, data, item_root, base)
    _allergy_section(body, data, item_root)
    _problem_section(body, data, item_root)
    _procedure_section(body, data, item_root)
    _device_section(body, data, item_root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _preferred_professional(root: etree._Element, h: DocumentHeader) -> None:
    """The patient's referring doctor as the professional to contact (IHE PCC template)."""
    participant = el(root, "participant", {"typeCode": "IND"})
    template(participant, "1.3.6.1.4.1.19376.1.5.3.1.2.4")
    el(participant, "functionCode", {"code": "PCP", "codeSystem": "2.16.840.1.113883.5.88",
                                     "codeSystemName": "ParticipationFunction",
                                     "displayName": "primary care physician"})
    entity = el(participant, "associatedEntity", {"classCode": "PROV"})
    addr(entity, h.author.organisation.address)
    el(entity, "telecom", {"value": h.author.telecom, "use": "WP"})
    name(el(entity, "associatedPerson", {"classCode": "PSN", "determinerCode": "INSTANCE"}),
         h.author.person)


def _medication_section(body, data: PatientSummaryData, item_root: str, _base: str) -> None:
    section, text = _section(body, (f"{EHDSI}.2.3", "2.16.840.1.113883.10.20.1.8"),
                             (item_root, f"{data.header.id_extension}.MED"),
                             ("10160-0", "History of Medication use"), "Traitements en cours")
    if not data.medications:
        el(text, "paragraph", {"ID": "med-none"}, "Aucun traitement connu")
        sa = el(el(section, "entry", {"typeCode": "DRIV"}), "substanceAdministration",
                {"classCode": "SBADM", "moodCode": "INT"})
        template(sa, f"{EHDSI}.3.4", "2.16.840.1.113883.10.20.1.24")
        ii(sa, item_root, f"{data.header.id_extension}.MED.0")
        el(sa, "code", {"code": "no-known-medications", "codeSystem": ABSENT_UNKNOWN,
                        "displayName": "No known medications"})
        el(el(sa, "text"), "reference", {"value": "#med-none"})
        el(sa, "statusCode", {"code": "completed"})
        el(sa, "effectiveTime", {XSI_TYPE: "IVL_TS", "nullFlavor": "UNK"})
        product = el(el(sa, "consumable", {"typeCode": "CSM"}), "manufacturedProduct",
                     {"classCode": "MANU"})
        template(product, f"{EHDSI}.3.31")
        el(product, "manufacturedMaterial", {"nullFlavor": "NA"})
        return
    tbody = _table(text, ["Médicament", "Principe actif", "Forme", "Voie", "Posologie",
                          "Depuis"])
    for number, med in enumerate(data.medications, start=1):
        ref = f"med-{number}"
        _row(tbody, ref, [med.product.name, med.product.substance.display,
                          med.product.dose_form.display, med.route.display,
                          _posology_fr(med),
                          _date_fr(med.start)])
        _substance_administration(el(section, "entry", {"typeCode": "DRIV"}), med, item_root,
                                  prescription=False, ref=ref)


def _concern(entry: etree._Element, templates: tuple[str, ...], item_root: str, item_id: str,
             onset: dt.date | None, *, active: bool = True) -> etree._Element:
    act = el(entry, "act", {"classCode": "ACT", "moodCode": "EVN"})
    template(act, *templates)
    ii(act, item_root, f"{item_id}.C")
    el(act, "code", {"code": "CONC", "codeSystem": "2.16.840.1.113883.5.6",
                     "displayName": "Concern"})
    el(act, "statusCode", {"code": "active" if active else "completed"})
    span = el(act, "effectiveTime", {XSI_TYPE: "IVL_TS"})
    el(span, "low", {"value": ts(onset)} if onset else {"nullFlavor": "UNK"})
    return act


def _allergy_section(body, data: PatientSummaryData, item_root: str) -> None:
    section, text = _section(body, (f"{EHDSI}.2.12",),
                             (item_root, f"{data.header.id_extension}.ALG"),
                             ("48765-2", "Allergies and adverse reactions"),
                             "Allergies et intolérances")
    if not data.allergies:
        el(text, "paragraph", {"ID": "alg-none"}, "Aucune allergie connue")
        act = _concern(el(section, "entry", {"typeCode": "DRIV"}), (f"{EHDSI}.3.16",), item_root,
                       f"{data.header.id_extension}.ALG.0", None)
        obs = el(el(act, "entryRelationship", {"typeCode": "SUBJ", "inversionInd": "false"}),
                 "observation", {"classCode": "OBS", "moodCode": "EVN"})
        template(obs, f"{EHDSI}.3.17")
        ii(obs, item_root, f"{data.header.id_extension}.ALG.0")
        el(obs, "code", {"code": "609328004", "codeSystem": SNOMED,
                         "displayName": "Allergic disposition"})
        el(el(obs, "text"), "reference", {"value": "#alg-none"})
        el(obs, "statusCode", {"code": "completed"})
        el(el(obs, "effectiveTime"), "low", {"nullFlavor": "NA"})
        el(obs, "value", {XSI_TYPE: "CD", "code": "no-known-allergies",
                          "codeSystem": ABSENT_UNKNOWN, "displayName": "No known allergies"})
        return
    tbody = _table(text, ["Type", "Agent", "Réaction", "Sévérité", "Depuis"])
    for number, allergy in enumerate(data.allergies, start=1):
        ref = f"alg-{number}"
        _row(tbody, ref, [allergy.kind.display, allergy.agent.display,
                          allergy.reaction.display if allergy.reaction else "",
                          allergy.severity.display if allergy.severity else "",
                          _date_fr(allergy.onset)])
        act = _concern(el(section, "entry", {"typeCode": "DRIV"}), (f"{EHDSI}.3.16",),
                       item_root, allergy.item_id, allergy.onset)
        obs = el(el(act, "entryRelationship", {"typeCode": "SUBJ", "inversionInd": "false"}),
                 "observation", {"classCode": "OBS", "moodCode": "EVN"})
        template(obs, f"{EHDSI}.3.17")
        ii(obs, item_root, allergy.item_id)
        coded(obs, "code", allergy.kind)
        el(el(obs, "text"), "reference", {"value": f"#{ref}"})
        el(obs, "statusCode", {"code": "completed"})
        span = el(obs, "effectiveTime")
        el(span, "low", {"value": ts(allergy.onset)} if allergy.onset else {"nullFlavor": "UNK"})
        role = el(el(obs, "participant", {"typeCode": "CSM"}), "participantRole",
                  {"classCode": "MANU"})
        coded(el(role, "playingEntity", {"classCode": "MMAT"}), "code", allergy.agent)
        if allergy.reaction:
            reaction = el(el(obs, "entryRelationship", {"typeCode": "MFST",
                                                        "inversionInd": "true"}),
                          "observation", {"classCode": "OBS", "moodCode": "EVN"})
            template(reaction, f"{EHDSI}.3.44")
            ii(reaction, item_root, f"{allergy.item_id}.R")
            el(reaction, "code", {"code": "404684003", "codeSystem": SNOMED,
                                  "displayName": "Clinical finding"})
            el(el(reaction, "text"), "reference", {"value": f"#{ref}"})
            el(reaction, "statusCode", {"code": "completed"})
            span = el(reaction, "effectiveTime")
            el(span, "low", {"value": ts(allergy.onset)} if allergy.onset
               else {"nullFlavor": "UNK"})
            coded(reaction, "value", allergy.reaction, xsi_type="CD")
            if allergy.severity:
                severity = el(el(reaction, "entryRelationship", {"typeCode": "SUBJ",
                                                                 "inversionInd": "true"}),
                              "observation", {"classCode": "OBS", "moodCode": "EVN"})
                template(severity, f"{EHDSI}.3.8")
                el(severity, "code", {"code": "SEV", "codeSystem": "2.16.840.1.113883.5.4",
                                      "displayName": "Severity"})
                el(el(severity, "text"), "reference", {"value": f"#{ref}"})
                el(severity, "statusCode", {"code": "completed"})
                coded(severity, "value", allergy.severity, xsi_type="CD")


def _problem_section(body, data: PatientSummaryData, item_root: str) -> None:
    section, text = _section(body, (f"{EHDSI}.2.9", "2.16.840.1.113883.10.20.1.11"),
                             (item_root, f"{data.header.id_extension}.PRB"),
                             ("11450-4", "Problem list"), "Problèmes actifs")
    if not data.problems:
        el(text, "paragraph", {"ID": "prb-none"}, "Aucun problème connu")
        act = _concern(el(section, "entry", {"typeCode": "DRIV"}),
                       (f"{EHDSI}.3.15", "2.16.840.1.113883.10.20.1.27"), item_root,
                       f"{data.header.id_extension}.PRB.0", None)
        obs = el(el(act, "entryRelationship", {"typeCode": "SUBJ", "inversionInd": "false"}),
                 "observation", {"classCode": "OBS", "moodCode": "EVN"})
        template(obs, f"{EHDSI}.3.7")
        ii(obs, item_root, f"{data.header.id_extension}.PRB.0")
        el(obs, "code", {"code": "55607006", "codeSystem": SNOMED, "displayName": "Problem"})
        el(el(obs, "text"), "reference", {"value": "#prb-none"})
        el(obs, "statusCode", {"code": "completed"})
        el(el(obs, "effectiveTime"), "low", {"nullFlavor": "NA"})
        el(obs, "value", {XSI_TYPE: "CD", "code": "no-known-problems",
                          "codeSystem": ABSENT_UNKNOWN, "displayName": "No known problems"})
        return
    tbody = _table(text, ["Problème", "Code CIM-10", "Statut", "Depuis"])
    for number, problem in enumerate(data.problems, start=1):
        ref = f"prb-{number}"
        _row(tbody, ref, [problem.diagnosis.display, problem.diagnosis.code,
                          problem.status.display if problem.status else "",
                          _date_fr(problem.onset)])
        act = _concern(el(section, "entry", {"typeCode": "DRIV"}),
                       (f"{EHDSI}.3.15", "2.16.840.1.113883.10.20.1.27"), item_root,
                       problem.item_id, problem.onset)
        obs = el(el(act, "entryRelationship", {"typeCode": "SUBJ", "inversionInd": "false"}),
                 "observation", {"classCode": "OBS", "moodCode": "EVN"})
        template(obs, f"{EHDSI}.3.7")
        ii(obs, item_root, problem.item_id)
        el(obs, "code", {"code": "55607006", "codeSystem": SNOMED, "displayName": "Problem"})
        el(el(obs, "text"), "reference", {"value": f"#{ref}"})
        el(obs, "statusCode", {"code": "completed"})
        el(el(obs, "effectiveTime"), "low", {"value": ts(problem.onset)})
        coded(obs, "value", problem.diagnosis, xsi_type="CD")
        if problem.status:
            status = el(el(obs, "entryRelationship", {"typeCode": "REFR",
                                                      "inversionInd": "false"}),
                        "observation", {"classCode": "OBS", "moodCode": "EVN"})
            template(status, f"{EHDSI}.3.9")
            _loinc(status, "code", "33999-4", "Status")
            el(status, "statusCode", {"code": "completed"})
            coded(status, "value", problem.status, xsi_type="CE")


def _procedure_section(body, data: PatientSummaryData, item_root: str) -> None:
    section, text = _section(body, (f"{EHDSI}.2.11",),
                             (item_root, f"{data.header.id_extension}.PRC"),
                             ("47519-4", "History of Procedures"), "Interventions chirurgicales")
    if not data.procedures:
        el(text, "paragraph", {"ID": "prc-none"}, "Aucune intervention connue")
        proc = el(el(section, "entry", {"typeCode": "DRIV"}), "procedure",
                  {"classCode": "PROC", "moodCode": "EVN"})
        template(proc, f"{EHDSI}.3.26")
        ii(proc, item_root, f"{data.header.id_extension}.PRC.0")
        el(proc, "code", {"code": "no-known-procedures", "codeSystem": ABSENT_UNKNOWN,
                          "displayName": "No known procedures"})
        el(el(proc, "text"), "reference", {"value": "#prc-none"})
        el(proc, "statusCode", {"code": "completed"})
        el(proc, "effectiveTime", {XSI_TYPE: "IVL_TS", "nullFlavor": "NA"})
        return
    tbody = _table(text, ["Intervention", "Date"])
    for number, procedure in enumerate(data.procedures, start=1):
        ref = f"prc-{number}"
        _row(tbody, ref, [procedure.procedure.display, _date_fr(procedure.date)])
        proc = el(el(section, "entry", {"typeCode": "DRIV"}), "procedure",
                  {"classCode": "PROC", "moodCode": "EVN"})
        template(proc, f"{EHDSI}.3.26")
        ii(proc, item_root, procedure.item_id)
        coded(proc, "code", procedure.procedure)
        el(el(proc, "text"), "reference", {"value": f"#{ref}"})
        el(proc, "statusCode", {"code": "completed"})
        el(proc, "effectiveTime", {XSI_TYPE: "IVL_TS", "value": ts(procedure.date)})


def _device_section(body, data: PatientSummaryData, item_root: str) -> None:
    section, text = _section(body, (f"{EHDSI}.2.4", "2.16.840.1.113883.10.20.1.7"),
                             (item_root, f"{data.header.id_extension}.DEV"),
                             ("46264-8", "History of medical device use"),
                             "Dispositifs médicaux")
    items = data.devices
    if not items:
        el(text, "paragraph", {"ID": "dev-none"}, "Aucun dispositif connu")
    else:
        tbody = _table(text, ["Dispositif", "Implanté le"])
    for number, device in enumerate(items or [None], start=1):
        supply = el(el(section, "entry", {"typeCode": "DRIV"}), "supply",
                    {"classCode": "SPLY", "moodCode": "EVN"})
        template(supply, f"{EHDSI}.3.5")
        if device is None:
            ii(supply, item_root, f"{data.header.id_extension}.DEV.0")
            el(el(supply, "text"), "reference", {"value": "#dev-none"})
            el(el(supply, "effectiveTime", {XSI_TYPE: "IVL_TS"}), "low", {"nullFlavor": "NA"})
            code = {"code": "no-known-devices", "codeSystem": ABSENT_UNKNOWN,
                    "displayName": "No known devices in use"}
        else:
            ref = f"dev-{number}"
            _row(tbody, ref, [device.device.display, _date_fr(device.implanted)])
            ii(supply, item_root, device.item_id)
            el(el(supply, "text"), "reference", {"value": f"#{ref}"})
            span = el(supply, "effectiveTime", {XSI_TYPE: "IVL_TS"})
            el(span, "low", {"value": ts(device.implanted)})
        playing = el(el(el(supply, "participant", {"typeCode": "DEV"}), "participantRole",
                        {"classCode": "MANU"}), "playingDevice",
                     {"classCode": "DEV", "determinerCode": "INSTANCE"})
        if device is None:
            el(playing, "code", code)
        else:
            coded(playing, "code", device.device)


# --- ePrescription -----------------------------------------------------------------------------


def build_prescription(data: PrescriptionData) -> bytes:
    """The national ePrescription of ``data`` (UTF-8 XML bytes): exactly one prescribed item.

    As in eHDSI, one ePrescription document carries one medicinal product; a doctor's
    prescription of several products is several documents.
    """
    if len(data.items) != 1:
        raise ValueError("an ePrescription document holds exactly one prescribed item")
    h = data.header
    root = _header(DocumentKind.EPRESCRIPTION, h, ("57833-6", "Prescription for medication"),
                   "Ordonnance électronique")
    body = el(el(root, "component"), "structuredBody", {"classCode": "DOCBODY",
                                                        "moodCode": "EVN"})
    # eHDSI: an ePrescription holds one section with one prescribed item.
    item = data.items[0]
    med = item.medication
    ref = "ep-1"
    section, text = _section(body, (f"{EHDSI}.2.1",), (h.id_root, f"{h.id_extension}.1"),
                             ("57828-6", "Prescriptions"), "Prescriptions")
    tbody = _table(text, ["Médicament", "Principe actif", "Forme", "Voie", "Posologie",
                          "Boîtes", "Substitution", "Instructions"])
    _row(tbody, ref, [med.product.name, med.product.substance.display,
                      med.product.dose_form.display, med.route.display,
                      _posology_fr(med),
                      str(item.packages), item.substitution.display, med.instructions])
    sa = _substance_administration(el(section, "entry", {"typeCode": "COMP"}), med,
                                   h.id_root, prescription=True, ref=ref)
    supply = el(el(sa, "entryRelationship", {"typeCode": "COMP"}), "supply",
                {"classCode": "SPLY", "moodCode": "RQO"})
    el(supply, "independentInd", {"value": "false"})
    el(supply, "quantity", {"value": str(item.packages), "unit": "1"})
    subst = el(el(sa, "entryRelationship", {"typeCode": "SUBJ", "inversionInd": "true"}),
               "observation", {"classCode": "OBS", "moodCode": "EVN"})
    el(subst, "code", {"code": "SUBST", "codeSystem": "2.16.840.1.113883.5.6",
                       "displayName": "Substitution"})
    coded(subst, "value", item.substitution, xsi_type="CE")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
