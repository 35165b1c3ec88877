"""Which ISCO-08 role code our professional carries abroad, per receiving peer.

Our registry keeps the precise ISCO-08 unit group of each professional (2211 generalist,
2212 specialist...), and so do our own records and audit trail. The receiving gateway,
however, judges the XSPA role attribute against *its* list: the reference gateway (OpenNCP,
``XSPARole``) accepts the code together with its display name, and its list holds the
minor group 221 "Medical doctors" but neither 2211 nor 2212. Both codes are in the eHDSI value
set (eHDSIHealthcareProfessionalRole), so sending the parent group is lawful and loses only
what the receiver would not use.

Two policies, chosen per peer (``PeerInfo.options["role_codes"]``):

``group`` (default)
    the code the reference gateway's list holds: the professional's own code when it is on the
    list (2262 pharmacists, 2221 nurses...), else the nearest parent group on it (2211, 2212
    -> 221); a code with no listed parent is sent as it is.
``precise``
    the registry's code as it is, for peers known to accept every code of the value set.
"""

from __future__ import annotations

from types import MappingProxyType

from ncp.security.permissions import ALLOWED_ISCO_ROLES

__all__ = ["GROUP", "POLICIES", "PRECISE", "REFERENCE_ROLES", "wire_role"]

GROUP = "group"
PRECISE = "precise"
POLICIES = (GROUP, PRECISE)

#: Role codes (with the display names it compares, case-insensitively) of the reference
#: gateway's XSPA role list, OpenNCP 7.x. All are codes of the eHDSI value set.
REFERENCE_ROLES = MappingProxyType({
    "221": "Medical Doctors",
    "2221": "Nursing professionals",
    "2222": "Midwifery professionals",
    "2261": "Dentists",
    "2262": "Pharmacists",
    "2264": "Physiotherapists",
    "2265": "Dieticians and nutritionists",
    "2266": "Audiologists and speech therapists",
    "2267": "Optometrists and ophthalmic opticians",
    "2269": "Health professionals not elsewhere classified",
    "3211": "Medical imaging and therapeutic equipment technicians",
    "3213": "Pharmaceutical technicians and assistants",
    "44": "Other Clerical Support Workers",
})


def wire_role(isco_code: str, policy: str = GROUP) -> tuple[str, str]:
    """(code, display name) to put in the XSPA role attribute for ``policy``."""
    code = isco_code.strip()
    if policy == PRECISE:
        return code, ALLOWED_ISCO_ROLES.get(code, code)
    if policy != GROUP:
        raise ValueError(f"unknown role policy {policy!r} (one of {', '.join(POLICIES)})")
    for n in range(len(code), 1, -1):
        candidate = code[:n]
        if candidate in REFERENCE_ROLES:
            return candidate, ALLOWED_ISCO_ROLES.get(candidate, REFERENCE_ROLES[candidate])
    return code, ALLOWED_ISCO_ROLES.get(code, code)
