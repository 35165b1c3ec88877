"""Reading a received eDispensation (eHDSI pivot CDA) for what dispensing needs.

What the responding gateway must know before it changes a prescription: which document this is
(its id, the idempotency key), whose it is (the patient in our identifier domain), which of our
prescriptions it fulfils (``inFulfillmentOf/order/id`` in our ePrescription id domain), how many
packages were handed out (the ``supply`` quantities) and whether the pharmacist substituted the
product (an ``act`` with code ``SUBST``). Anything missing or malformed refuses the submission
with 4106 before anything is written, and so does a document that does not validate against
the eHDSI CDA schema (``CDA_Pharma.xsd``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from ncp.cda.kinds import DocumentKind, detect_kind
from ncp.errors import ErrorCode, NcpError
from ncp.xmlutil import NS, XmlInputError, parse_xml

__all__ = ["InvalidDispensation", "ReceivedDispensation", "read_dispensation"]

H = NS["hl7"]
_NS = {"h": H}
#: Suffix the transformation gives the pivot of a national document's id extension
#: (:func:`ncp.transform.to_pivot`): an eD fulfilling our pivot eP names ``<national id>-P``.
PIVOT_ID_SUFFIX = "-P"


class InvalidDispensation(NcpError):
    def __init__(self, detail: str, *, location: str = "") -> None:
        super().__init__(ErrorCode.INVALID_DISPENSATION, detail, location=location)


@dataclass(frozen=True, slots=True)
class ReceivedDispensation:
    document_id: str  # "root^extension" of ClinicalDocument/id
    patient_ids: tuple[tuple[str, str], ...]  # (root, extension) of recordTarget ids
    prescription_root: str
    prescription_extension: str
    packages: int
    substituted: bool

    def prescription_id(self, eprescription_root: str) -> str | None:
        """Our prescription id (the national eP id) if the eD fulfils one of ours."""
        if self.prescription_root != eprescription_root:
            return None
        ext = self.prescription_extension
        return ext[: -len(PIVOT_ID_SUFFIX)] if ext.endswith(PIVOT_ID_SUFFIX) else ext

    def patient_extension(self, root: str) -> str | None:
        found = [ext for r, ext in self.patient_ids if r == root]
        return found[0] if len(found) == 1 else None


def _ii(el: etree._Element | None, where: str) -> tuple[str, str]:
    if el is None:
        raise InvalidDispensation(f"{where} is missing", location=where)
    root, ext = (el.get("root") or "").strip(), (el.get("extension") or "").strip()
    if not root:
        raise InvalidDispensation(f"{where} has no root", location=where)
    return root, ext


def read_dispensation(content: bytes, *,
                      schema_errors: Callable[[etree._Element], list[str]] | None = None,
                      ) -> ReceivedDispensation:
    """The facts of a received pivot eDispensation (raises :class:`InvalidDispensation`).

    ``schema_errors`` validates the document (the gateway passes the CDA_Pharma XSD check);
    any error refuses it."""
    try:
        root = parse_xml(content)
    except XmlInputError:
        raise InvalidDispensation("the eDispensation is not well-formed XML") from None
    if root.tag != f"{{{H}}}ClinicalDocument" or detect_kind(root) is not \
            DocumentKind.EDISPENSATION:
        raise InvalidDispensation("not an eHDSI eDispensation", location="ClinicalDocument")
    if schema_errors is not None:
        errors = schema_errors(root)
        if errors:
            raise InvalidDispensation(f"CDA schema: {errors[0]}", location="ClinicalDocument")
    doc_root, doc_ext = _ii(root.find("h:id", _NS), "ClinicalDocument/id")
    patients = tuple(_ii(i, "recordTarget/patientRole/id") for i in
                     root.findall("h:recordTarget/h:patientRole/h:id", _NS))
    if not patients:
        raise InvalidDispensation("no patient", location="recordTarget")
    orders = root.findall("h:inFulfillmentOf/h:order/h:id", _NS)
    if len(orders) != 1:
        raise InvalidDispensation("exactly one inFulfillmentOf/order/id expected",
                                  location="inFulfillmentOf")
    ep_root, ep_ext = _ii(orders[0], "inFulfillmentOf/order/id")
    if not ep_ext:
        raise InvalidDispensation("the prescription id has no extension",
                                  location="inFulfillmentOf/order/id")
    supplies = root.findall(".//h:supply[@moodCode='EVN']", _NS)
    if not supplies:
        raise InvalidDispensation("no dispensed supply", location="supply")
    packages = 0
    substituted = False
    for supply in supplies:
        quantity = supply.find("h:quantity", _NS)
        try:
            value = int((quantity.get("value") if quantity is not None else "") or "")
        except ValueError:
            raise InvalidDispensation("supply quantity is not a whole number",
                                      location="supply/quantity") from None
        if value < 1:
            raise InvalidDispensation("supply quantity must be positive",
                                      location="supply/quantity")
        packages += value
        if supply.find("h:entryRelationship/h:act/h:code[@code='SUBST']", _NS) is not None:
            substituted = True
    return ReceivedDispensation(
        document_id=f"{doc_root}^{doc_ext}" if doc_ext else doc_root, patient_ids=patients,
        prescription_root=ep_root, prescription_extension=ep_ext, packages=packages,
        substituted=substituted)
