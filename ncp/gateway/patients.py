"""The patient of an XCA or XDR request: ours, known, and consenting to the service.

One function so that the three document transactions refuse the same way: an identifier of
another domain or an unknown matricule is "no match" (ERROR_PI_NO_MATCH, with IHE's
XDSUnknownPatientId); no consent for the service is 4701. A closed DSP is refused by the
store's policy on the first read, which the handlers turn into the same 4701
(:func:`closed_or_no_consent`), so a foreign gateway cannot tell a closed record from a patient
who does not share.

The lookup itself is administrative (matricule -> internal id, no patient data, no log row):
every read that follows goes through the access policy and leaves its access-log row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ncp.errors import ErrorCode, NcpError
from ncp.ihe.codes import Service
from ncp.ihe.identifiers import PatientId
from ncp.store import matricule as matricule_rules
from ncp.store.errors import NotFound

if TYPE_CHECKING:
    from ncp.gateway.pipeline import Gateway


def resolve_patient(gw: Gateway, patient: PatientId, services: set[Service]) -> int:
    """The internal id of our patient ``patient``, after the consent check of ``services``."""
    if patient.root != gw.settings.patient_id_root:
        raise NcpError(ErrorCode.NO_MATCH, "not our identifier domain")
    # Foreign identifiers are read leniently (ncp.ihe.identifiers); ours are 13 checked digits.
    if not matricule_rules.is_valid(patient.extension):
        raise NcpError(ErrorCode.NO_MATCH, "unknown patient")
    try:
        patient_db_id = gw.records.patient_id(patient.extension)
    except NotFound:
        raise NcpError(ErrorCode.NO_MATCH, "unknown patient") from None
    for service in sorted(services):
        gw.consent.require(patient_db_id, service)
    return patient_db_id


def closed_or_no_consent() -> NcpError:
    """What the store's refusal of a whole record (closed DSP, no consent) is answered with."""
    return NcpError(ErrorCode.NO_CONSENT, "closed DSP or no cross-border consent")
