"""eHDSI pivot eDispensation built from a foreign pivot ePrescription (country B pharmacy).

When a pharmacist in Luxembourg dispenses a visitor's ePrescription, our gateway sends the
visitor's country an eDispensation in the pivot form: the product dispensed (here the product
prescribed; substitution is recorded when the pharmacist substitutes), the quantity, the
pharmacist, and a REFR link to the prescription item it fulfils. The prescription's own coded
product is copied as is: it is already in the pivot code systems.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass

from lxml import etree

from ncp.cda.kinds import DocumentKind, detect_kind
from ncp.cda.model import Organisation, Professional
from ncp.cda.national import EHDSI
from ncp.cda.xml import HL7, addr, coded, el, ii, name, template, ts
from ncp.xmlutil import NS, parse_xml


@dataclass(frozen=True)
class Dispensation:
    """What the pharmacist handed over for one prescription item."""

    id_root: str
    id_extension: str
    when: dt.datetime
    pharmacist: Professional  # profession coded in ISCO (eHDSIHealthcareProfessionalRole)
    pharmacy: Organisation
    packages: int
    substituted: bool = False
    language: str = "fr-LU"


def _copy(node: etree._Element | None) -> etree._Element | None:
    return None if node is None else copy.deepcopy(node)


def _find(root: etree._Element, path: str) -> etree._Element | None:
    found = root.xpath(path, namespaces=NS)
    return found[0] if found else None


def build_dispensation(prescription: bytes, dispensation: Dispensation) -> bytes:
    """The pivot eDispensation of ``dispensation`` for a pivot ePrescription (bytes)."""
    ep = parse_xml(prescription)
    if detect_kind(ep) is not DocumentKind.EPRESCRIPTION:
        raise ValueError("an eDispensation is built from an eHDSI pivot ePrescription")
    item = _find(ep, "//hl7:substanceAdministration[hl7:templateId/@root="
                     f"'{EHDSI}.3.2']")
    if item is None:
        raise ValueError("the ePrescription has no prescription item")
    ep_id = _find(ep, "hl7:id")
    d = dispensation

    root = el(None, "ClinicalDocument", {"classCode": "DOCCLIN", "moodCode": "EVN"})
    el(root, "typeId", {"root": "2.16.840.1.113883.1.3", "extension": "POCD_HD000040"})
    template(root, DocumentKind.EDISPENSATION.template_id)
    ii(root, d.id_root, d.id_extension)
    el(root, "code", {"code": "60593-1", "codeSystem": "2.16.840.1.113883.6.1",
                      "codeSystemName": "LOINC",
                      "displayName": "Medication dispensed.extended Document"})
    el(root, "title", text="eDispensation")
    el(root, "effectiveTime", {"value": ts(d.when)})
    el(root, "confidentialityCode", {"code": "N", "codeSystem": "2.16.840.1.113883.5.25",
                                     "codeSystemName": "Confidentiality",
                                     "displayName": "normal"})
    el(root, "languageCode", {"code": d.language})
    root.append(_copy(_find(ep, "hl7:recordTarget")))

    author = el(root, "author", {"typeCode": "AUT", "contextControlCode": "OP"})
    coded(author, "functionCode", d.pharmacist.profession)
    el(author, "time", {"value": ts(d.when)})
    _assigned(el(author, "assignedAuthor", {"classCode": "ASSIGNED"}), d)
    custodian = el(el(el(root, "custodian", {"typeCode": "CST"}), "assignedCustodian",
                      {"classCode": "ASSIGNED"}), "representedCustodianOrganization",
                   {"classCode": "ORG", "determinerCode": "INSTANCE"})
    ii(custodian, d.pharmacy.id_root, d.pharmacy.id_extension)
    el(custodian, "name", text=d.pharmacy.name)
    el(custodian, "telecom", {"value": d.pharmacy.telecom, "use": "WP"})
    addr(custodian, d.pharmacy.address)
    legal = el(root, "legalAuthenticator", {"typeCode": "LA", "contextControlCode": "OP"})
    el(legal, "time", {"value": ts(d.when)})
    el(legal, "signatureCode", {"code": "S"})
    _assigned(el(legal, "assignedEntity", {"classCode": "ASSIGNED"}), d)
    order = el(el(root, "inFulfillmentOf", {"typeCode": "FLFS"}), "order",
               {"classCode": "ACT", "moodCode": "RQO"})
    order.append(_copy(ep_id))

    body = el(el(root, "component"), "structuredBody", {"classCode": "DOCBODY",
                                                        "moodCode": "EVN"})
    section = el(el(body, "component"), "section", {"classCode": "DOCSECT", "moodCode": "EVN"})
    template(section, f"{EHDSI}.2.2")
    ii(section, d.id_root, f"{d.id_extension}.1")
    el(section, "code", {"code": "60590-7", "codeSystem": "2.16.840.1.113883.6.1",
                         "codeSystemName": "LOINC", "displayName": "Medication dispensed"})
    el(section, "title", text="Dispensation")
    product_name = item.findtext(".//{*}manufacturedMaterial/{*}name") or ""
    text = el(section, "text")
    el(el(text, "paragraph"), "content", {"ID": "ed-1"},
       f"{product_name}: {d.packages} x" + (" (substituted)" if d.substituted else ""))

    supply = el(el(section, "entry", {"typeCode": "COMP"}), "supply",
                {"classCode": "SPLY", "moodCode": "EVN"})
    template(supply, f"{EHDSI}.3.3", "1.3.6.1.4.1.19376.1.5.3.1.4.7.3",
             "2.16.840.1.113883.10.20.1.34")
    ii(supply, d.id_root, f"{d.id_extension}.1.1")
    el(el(supply, "text"), "reference", {"value": "#ed-1"})
    el(supply, "quantity", {"value": str(d.packages), "unit": "1"})
    product = el(supply, "product")
    product.append(_copy(item.find(f"{{{HL7}}}consumable/{{{HL7}}}manufacturedProduct")))
    performer = el(supply, "performer", {"typeCode": "PRF"})
    el(performer, "time", {"value": ts(d.when)})
    _assigned(el(performer, "assignedEntity", {"classCode": "ASSIGNED"}), d)
    reference = el(el(supply, "entryRelationship", {"typeCode": "REFR"}),
                   "substanceAdministration", {"classCode": "SBADM", "moodCode": "INT"})
    reference.append(_copy(item.find(f"{{{HL7}}}id")))
    consumable = el(reference, "consumable")
    consumable.append(_copy(item.find(f"{{{HL7}}}consumable/{{{HL7}}}manufacturedProduct")))
    if d.substituted:
        act = el(el(supply, "entryRelationship", {"typeCode": "COMP"}), "act",
                 {"classCode": "ACT", "moodCode": "EVN"})
        el(act, "code", {"code": "SUBST", "codeSystem": "2.16.840.1.113883.5.6",
                         "codeSystemName": "ActClass", "displayName": "Substitution"})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _assigned(entity: etree._Element, d: Dispensation) -> None:
    p = d.pharmacist
    ii(entity, p.id_root, p.id_extension)
    addr(entity, d.pharmacy.address)
    el(entity, "telecom", {"value": p.telecom, "use": "WP"})
    name(el(entity, "assignedPerson", {"classCode": "PSN", "determinerCode": "INSTANCE"}),
         p.person)
    org = el(entity, "representedOrganization", {"classCode": "ORG",
                                                 "determinerCode": "INSTANCE"})
    ii(org, d.pharmacy.id_root, d.pharmacy.id_extension)
    el(org, "name", text=d.pharmacy.name)
    el(org, "telecom", {"value": d.pharmacy.telecom, "use": "WP"})
    addr(org, d.pharmacy.address)
