"""The kinds of eHDSI CDA documents we handle, with their identifying codes.

Values from the eHDSI CDA display guidelines and the XDS metadata table (EHDSI.md): the document
template id, the LOINC class code and the XDS format code of each kind.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from lxml import etree

from ncp.xmlutil import NS

LOINC = "2.16.840.1.113883.6.1"


@dataclass(frozen=True)
class _Kind:
    slug: str
    template_id: str
    loinc: str
    format_code: str
    level: int
    title: str


class DocumentKind(enum.Enum):
    """One eHDSI document kind; ``slug`` is what the CLI and the API call it."""

    PATIENT_SUMMARY = _Kind("ps", "1.3.6.1.4.1.12559.11.10.1.3.1.1.3", "60591-5",
                            "urn:epSOS:ps:ps:2010", 3, "Patient Summary")
    EPRESCRIPTION = _Kind("ep", "1.3.6.1.4.1.12559.11.10.1.3.1.1.1", "57833-6",
                          "urn:epsos:ep:pre:2010", 3, "ePrescription")
    EDISPENSATION = _Kind("ed", "1.3.6.1.4.1.12559.11.10.1.3.1.1.2", "60593-1",
                          "urn:epSOS:ep:dis:2010", 3, "eDispensation")
    PATIENT_SUMMARY_L1 = _Kind("ps-l1", "1.3.6.1.4.1.12559.11.10.1.3.1.1.7", "60591-5",
                               "urn:ihe:iti:xds-sd:pdf:2008", 1, "Patient Summary (PDF)")
    EPRESCRIPTION_L1 = _Kind("ep-l1", "1.3.6.1.4.1.12559.11.10.1.3.1.1.6", "57833-6",
                             "urn:ihe:iti:xds-sd:pdf:2008", 1, "ePrescription (PDF)")

    @property
    def slug(self) -> str:
        return self.value.slug

    @property
    def template_id(self) -> str:
        return self.value.template_id

    @property
    def loinc(self) -> str:
        return self.value.loinc

    @property
    def format_code(self) -> str:
        return self.value.format_code

    @property
    def level(self) -> int:
        return self.value.level

    @property
    def title(self) -> str:
        return self.value.title

    @classmethod
    def from_slug(cls, slug: str) -> DocumentKind:
        for kind in cls:
            if kind.slug == slug:
                return kind
        raise ValueError(f"unknown document kind {slug!r}")


def detect_kind(root: etree._Element) -> DocumentKind | None:
    """The kind of a pivot CDA document by its template id (by its LOINC code and body only
    when it has no template id at all).

    Returns None for a document that is not an eHDSI CDA document at all.
    """
    if root.tag != f"{{{NS['hl7']}}}ClinicalDocument":
        return None
    template_ids = set(root.xpath("hl7:templateId/@root", namespaces=NS))
    for kind in DocumentKind:
        if kind.template_id in template_ids:
            return kind
    if template_ids:
        return None  # another profile (e.g. our national one): not an eHDSI document
    code = root.xpath("string(hl7:code/@code)", namespaces=NS)
    non_xml = bool(root.xpath("hl7:component/hl7:nonXMLBody", namespaces=NS))
    for kind in DocumentKind:
        if kind.loinc == code and (kind.level == 1) == non_xml:
            return kind
    return None
