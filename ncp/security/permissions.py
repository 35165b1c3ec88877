"""Which eHDSI transactions need which XSPA permissions and assertions.

Kept here, apart from the IHE transaction registry, because it is a security rule: the HCP
assertion must carry *every* permission listed for the transaction (eHDSI SAML profile, HL7
permission catalogue; see ../shared/design/EHDSI.md).
"""

from __future__ import annotations

import enum
from types import MappingProxyType

__all__ = [
    "ALLOWED_ISCO_ROLES",
    "PERMISSION_PREFIX",
    "REQUIRED_PERMISSIONS",
    "Transaction",
    "normalise_permission",
    "requires_trc",
]

PERMISSION_PREFIX = "urn:oasis:names:tc:xspa:1.0:subject:hl7:permission:"


class Transaction(enum.StrEnum):
    """One eHDSI transaction as far as security is concerned (IHE transaction + service)."""

    XCPD_PATIENT_DISCOVERY = "ITI-55"
    XCA_QUERY_PS = "ITI-38:PS"
    XCA_RETRIEVE_PS = "ITI-39:PS"
    XCA_QUERY_EP = "ITI-38:eP"
    XCA_RETRIEVE_EP = "ITI-39:eP"
    XCA_QUERY_ORCD = "ITI-38:OrCD"
    XCA_RETRIEVE_ORCD = "ITI-39:OrCD"
    XDR_SUBMIT_ED = "ITI-41:eD"
    XDR_DISCARD_ED = "ITI-41:eD-discard"
    XDR_SUBMIT_CONSENT = "ITI-41:consent"


_PS = frozenset({"PRD-003", "PRD-005", "PRD-010", "PRD-016"})
_EP = frozenset({"PRD-004", "PRD-010"})

#: Permissions the HCP assertion must all carry, per transaction.
REQUIRED_PERMISSIONS = MappingProxyType({
    Transaction.XCPD_PATIENT_DISCOVERY: frozenset({"PRD-006"}),
    Transaction.XCA_QUERY_PS: _PS,
    Transaction.XCA_RETRIEVE_PS: _PS,
    Transaction.XCA_QUERY_ORCD: _PS,
    Transaction.XCA_RETRIEVE_ORCD: _PS,
    Transaction.XCA_QUERY_EP: _EP,
    Transaction.XCA_RETRIEVE_EP: _EP,
    Transaction.XDR_SUBMIT_ED: frozenset({"PPD-046"}),
    Transaction.XDR_DISCARD_ED: frozenset({"PPD-046"}),
    Transaction.XDR_SUBMIT_CONSENT: frozenset({"PPD-032"}),
})


def requires_trc(transaction: Transaction) -> bool:
    """Patient discovery carries the HCP assertion only; every other transaction needs a TRC."""
    return transaction is not Transaction.XCPD_PATIENT_DISCOVERY


def normalise_permission(value: str) -> str:
    """``urn:...:hl7:permission:PRD-003`` and ``PRD-003`` both give ``PRD-003``."""
    value = value.strip()
    if value.startswith(PERMISSION_PREFIX):
        return value[len(PERMISSION_PREFIX):]
    return value


#: eHDSIHealthcareProfessionalRole (MVC 8.1, OID 1.3.6.1.4.1.12559.11.10.1.3.1.42.1): ISCO-08
#: codes a professional may present in the XSPA role attribute.
ALLOWED_ISCO_ROLES = MappingProxyType({
    "22": "Health professionals",
    "221": "Medical doctors",
    "2211": "Generalist medical practitioners",
    "2212": "Specialist medical practitioners",
    "222": "Nursing and midwifery professionals",
    "2221": "Nursing professionals",
    "2222": "Midwifery professionals",
    "223": "Traditional and complementary medicine professionals",
    "224": "Paramedical practitioners",
    "225": "Veterinarians",
    "226": "Other health professionals",
    "2261": "Dentists",
    "2262": "Pharmacists",
    "2263": "Environmental and occupational health and hygiene professionals",
    "2264": "Physiotherapists",
    "2265": "Dieticians and nutritionists",
    "2266": "Audiologists and speech therapists",
    "2267": "Optometrists and ophthalmic opticians",
    "2269": "Health professionals not elsewhere classified",
    "32": "Health associate professionals",
    "321": "Medical and pharmaceutical technicians",
    "3211": "Medical imaging and therapeutic equipment technicians",
    "3212": "Medical and pathology laboratory technicians",
    "3213": "Pharmaceutical technicians and assistants",
    "3214": "Medical and dental prosthetic technicians",
    "322": "Nursing and midwifery associate professionals",
    "3221": "Nursing associate professionals",
    "3222": "Midwifery associate professionals",
    "323": "Traditional and complementary medicine associate professionals",
    "325": "Other health associate professionals",
    "3251": "Dental assistants and therapists",
    "3252": "Medical records and health information technicians",
    "3253": "Community health workers",
    "3254": "Dispensing opticians",
    "3255": "Physiotherapy technicians and assistants",
    "3256": "Medical assistants",
    "3257": "Environmental and occupational health inspectors and associates",
    "3258": "Ambulance workers",
    "3259": "Health associate professionals not elsewhere classified",
})
ISCO_CODE_SYSTEM = "2.16.840.1.113883.2.9.6.2.7"
