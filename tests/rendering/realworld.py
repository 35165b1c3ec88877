"""A real-world-shaped Patient Summary: the OpenNCP wave 7 sample (every eHDSI PS section with
entries in the eHDSI pivot templates) plus what real countries add — the older W5/IHE allergy
template (as in the epSOS pivot sample), combination products (AUGMENTIN 625: amoxicillin and
clavulanic acid), a substance whose code has a nullFlavor (name only), a kit whose substances are
in its parts, a coded device, plan of care, advance directives, and one entry no reader knows."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from ncp.xmlutil import NS

HL7 = NS["hl7"]

_COMBINATION = """
<entry xmlns="urn:hl7-org:v3" xmlns:pharm="urn:hl7-org:pharm"
       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <substanceAdministration classCode="SBADM" moodCode="INT">
  <templateId root="1.3.6.1.4.1.12559.11.10.1.3.1.3.4"/>
  <text><reference value="#rw-dose-1"/></text>
  <effectiveTime xsi:type="IVL_TS"><low value="20261120"/><high value="20261127"/></effectiveTime>
  <effectiveTime xsi:type="PIVL_TS" operator="A"><period value="8" unit="h"/></effectiveTime>
  <routeCode code="20053000" codeSystem="0.4.0.127.0.16.1.1.2.1" displayName="Oral use"/>
  <doseQuantity value="1" unit="{tablet}"/>
  <consumable><manufacturedProduct><manufacturedMaterial>
   <pharm:name>AUGMENTIN 625 mg</pharm:name>
   <pharm:formCode code="10221000" codeSystem="0.4.0.127.0.16.1.1.2.1"
                   displayName="Film-coated tablet"/>
   <pharm:ingredient classCode="ACTI">
    <pharm:quantity><numerator xsi:type="PQ" value="500" unit="mg"/>
     <denominator xsi:type="PQ" value="1" unit="1"/></pharm:quantity>
    <pharm:ingredientSubstance>
     <pharm:code code="J01CA04" codeSystem="2.16.840.1.113883.6.73" displayName="amoxicillin"/>
    </pharm:ingredientSubstance>
   </pharm:ingredient>
   <pharm:ingredient classCode="ACTI">
    <pharm:quantity><numerator xsi:type="PQ" value="125" unit="mg"/>
     <denominator xsi:type="PQ" value="1" unit="1"/></pharm:quantity>
    <pharm:ingredientSubstance>
     <pharm:code nullFlavor="NI"/><pharm:name>acidum clavulanicum</pharm:name>
    </pharm:ingredientSubstance>
   </pharm:ingredient>
   <pharm:asSpecializedKind classCode="GRIC"><pharm:generalizedMaterialKind>
    <pharm:code code="J01CR02" codeSystem="2.16.840.1.113883.6.73"
                displayName="amoxicillin and beta-lactamase inhibitor"/>
   </pharm:generalizedMaterialKind></pharm:asSpecializedKind>
  </manufacturedMaterial></manufacturedProduct></consumable>
 </substanceAdministration>
</entry>"""

_VITAMIN_D = """
<entry xmlns="urn:hl7-org:v3" xmlns:pharm="urn:hl7-org:pharm"
       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <substanceAdministration classCode="SBADM" moodCode="INT">
  <templateId root="1.3.6.1.4.1.12559.11.10.1.3.1.3.4"/>
  <effectiveTime xsi:type="PIVL_TS" operator="A"><period value="720" unit="h"/></effectiveTime>
  <doseQuantity value="1" unit="mL"/>
  <consumable><manufacturedProduct><manufacturedMaterial>
   <pharm:name>D-Cure 25 000 UI</pharm:name>
   <pharm:ingredient classCode="ACTI">
    <pharm:quantity><numerator xsi:type="PQ" value="25000" unit="[IU]"/>
     <denominator xsi:type="PQ" value="1" unit="mL"/></pharm:quantity>
    <pharm:ingredientSubstance>
     <pharm:code code="A11CC05" codeSystem="2.16.840.1.113883.6.73" displayName="colecalciferol"/>
    </pharm:ingredientSubstance>
   </pharm:ingredient>
  </manufacturedMaterial></manufacturedProduct></consumable>
  <entryRelationship typeCode="SUBJ" inversionInd="true">
   <act classCode="ACT" moodCode="INT">
    <templateId root="1.3.6.1.4.1.19376.1.5.3.1.4.3"/>
    <code code="PINSTRUCT" codeSystem="1.3.6.1.4.1.19376.1.5.3.2"/>
    <text>Une ampoule par mois, le soir</text>
   </act>
  </entryRelationship>
 </substanceAdministration>
</entry>"""

_KIT = """
<entry xmlns="urn:hl7-org:v3" xmlns:pharm="urn:hl7-org:pharm"
       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <substanceAdministration classCode="SBADM" moodCode="INT">
  <templateId root="1.3.6.1.4.1.12559.11.10.1.3.1.3.4"/>
  <consumable><manufacturedProduct><manufacturedMaterial>
   <pharm:name>Canesten Kombi</pharm:name>
   <pharm:part classCode="PART"><pharm:partProduct classCode="MMAT" determinerCode="KIND">
    <pharm:name>Vaginaltablette</pharm:name>
    <pharm:ingredient classCode="ACTI">
     <pharm:quantity><numerator xsi:type="PQ" value="500" unit="mg"/>
      <denominator xsi:type="PQ" value="1" unit="{tablet}"/></pharm:quantity>
     <pharm:ingredientSubstance><pharm:code nullFlavor="NA"/>
      <pharm:name>Clotrimazol</pharm:name></pharm:ingredientSubstance>
    </pharm:ingredient>
   </pharm:partProduct></pharm:part>
   <pharm:part classCode="PART"><pharm:partProduct classCode="MMAT" determinerCode="KIND">
    <pharm:name>Creme</pharm:name>
    <pharm:ingredient classCode="ACTI">
     <pharm:quantity><numerator xsi:type="PQ" value="10" unit="mg"/>
      <denominator xsi:type="PQ" value="1" unit="g"/></pharm:quantity>
     <pharm:ingredientSubstance><pharm:code nullFlavor="NA"/>
      <pharm:name>Clotrimazol (Creme)</pharm:name></pharm:ingredientSubstance>
    </pharm:ingredient>
   </pharm:partProduct></pharm:part>
  </manufacturedMaterial></manufacturedProduct></consumable>
 </substanceAdministration>
</entry>"""

_W5_ALLERGY = """
<entry xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <act classCode="ACT" moodCode="EVN">
  <templateId root="1.3.6.1.4.1.19376.1.5.3.1.4.5.1"/>
  <templateId root="1.3.6.1.4.1.19376.1.5.3.1.4.5.3"/>
  <code nullFlavor="NA"/><statusCode code="active"/>
  <entryRelationship typeCode="SUBJ" inversionInd="false">
   <observation classCode="OBS" moodCode="EVN">
    <templateId root="1.3.6.1.4.1.19376.1.5.3.1.4.5"/>
    <templateId root="1.3.6.1.4.1.19376.1.5.3.1.4.6"/>
    <code code="419511003" codeSystem="2.16.840.1.113883.6.96"
          displayName="Propensity to adverse reactions to drug"/>
    <effectiveTime><low value="2001"/></effectiveTime>
    <value xsi:type="CD" code="294505008" codeSystem="2.16.840.1.113883.6.96"
           displayName="Allergy to amoxicillin"/>
    <participant typeCode="CSM"><participantRole classCode="MANU">
     <playingEntity classCode="MMAT">
      <code code="372687004" codeSystem="2.16.840.1.113883.6.96" displayName="Amoxicillin"/>
     </playingEntity></participantRole></participant>
   </observation>
  </entryRelationship>
 </act>
</entry>"""

_DEVICE = """
<entry xmlns="urn:hl7-org:v3">
 <supply classCode="SPLY" moodCode="EVN">
  <templateId root="1.3.6.1.4.1.12559.11.10.1.3.1.3.5"/>
  <effectiveTime><low value="20190304"/></effectiveTime>
  <participant typeCode="DEV"><participantRole classCode="MANU">
   <id root="1.2.3.4" extension="UDI-0042"/>
   <playingDevice><code code="14106009" codeSystem="2.16.840.1.113883.6.96"
                        displayName="Cardiac pacemaker"/></playingDevice>
  </participantRole></participant>
 </supply>
</entry>"""

_PLAN = """
<entry xmlns="urn:hl7-org:v3">
 <procedure classCode="PROC" moodCode="INT">
  <code code="80146002" codeSystem="2.16.840.1.113883.6.96" displayName="Appendectomy"/>
  <targetSiteCode code="66754008" codeSystem="2.16.840.1.113883.6.96" displayName="Appendix"/>
  <effectiveTime value="20270115"/>
 </procedure>
</entry>"""

_DIRECTIVE = """
<entry xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <observation classCode="OBS" moodCode="EVN">
  <code code="304253006" codeSystem="2.16.840.1.113883.6.96"
        displayName="Not for resuscitation"/>
  <effectiveTime><low value="20240101"/></effectiveTime>
  <value xsi:type="BL" value="true"/>
 </observation>
</entry>"""

_UNKNOWN = """
<entry xmlns="urn:hl7-org:v3">
 <act classCode="ACT" moodCode="EVN">
  <code nullFlavor="OTH"/>
  <entryRelationship typeCode="COMP"><encounter classCode="ENC" moodCode="EVN">
   <text><reference value="#rw-unknown"/></text>
  </encounter></entryRelationship>
 </act>
</entry>"""


def _section(root: etree._Element, code: str, title: str) -> etree._Element:
    found = root.xpath(f"//hl7:section[hl7:code/@code='{code}']", namespaces=NS)
    if found:
        return found[0]
    body = root.find("hl7:component/hl7:structuredBody", NS)
    component = etree.SubElement(body, f"{{{HL7}}}component")
    section = etree.SubElement(component, f"{{{HL7}}}section")
    etree.SubElement(section, f"{{{HL7}}}code", code=code, codeSystem="2.16.840.1.113883.6.1")
    etree.SubElement(section, f"{{{HL7}}}title").text = title
    etree.SubElement(section, f"{{{HL7}}}text")
    return section


def _add(section: etree._Element, entry_xml: str, narrative: dict[str, str] | None = None) -> None:
    text = section.find("hl7:text", NS)
    for ident, words in (narrative or {}).items():
        paragraph = etree.SubElement(text, f"{{{HL7}}}paragraph", ID=ident)
        paragraph.text = words
    section.append(etree.fromstring(entry_xml))


def realworld_ps(specs_dir: Path) -> bytes:
    root = etree.parse(str(specs_dir / "samples/cda/ps/openncp-mock_2-1234-W7.xml")).getroot()
    medication = _section(root, "10160-0", "History of Medication use")
    _add(medication, _COMBINATION, {"rw-dose-1": "1 comprimé matin, midi et soir pendant 7 jours"})
    _add(medication, _VITAMIN_D)
    _add(medication, _KIT)
    _add(_section(root, "48765-2", "Allergies"), _W5_ALLERGY)
    _add(_section(root, "46264-8", "Medical devices"), _DEVICE)
    _add(_section(root, "18776-5", "Plan of care"), _PLAN)
    _add(_section(root, "42348-3", "Advance directives"), _DIRECTIVE)
    _add(_section(root, "29762-2", "Social history"), _UNKNOWN,
         {"rw-unknown": "Lives alone, daughter visits daily"})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
