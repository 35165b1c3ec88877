"""The patient of an XCA or XDR request: ours, known, with an open DSP and the consent needed.

One function so that the three document transactions refuse the same way: an identifier of
another domain or an unknown matricule is "no match" (4105); a closed DSP or no consent at all
is "no consent" (4701), the same answer for both so a foreign gateway cannot tell a closed
record from a patient who simply does not share; then the service's own consent (4701).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ncp.errors import ErrorCode, NcpError
from ncp.ihe.codes import Service
from ncp.ihe.identifiers import PatientId
from ncp.store.errors import AccessDenied, NotFound
from ncp.store.policy import Actor
from ncp.store.records import PatientInfo

if TYPE_CHECKING:
    from ncp.gateway.pipeline import Gateway


def resolve_patient(gw: Gateway, actor: Actor, patient: PatientId,
                    services: set[Service]) -> PatientInfo:
    """Our patient ``patient``, checked for the record and for each of ``services``."""
    if patient.root != gw.settings.patient_id_root:
        raise NcpError(ErrorCode.NO_MATCH, "not our identifier domain")
    try:
        info = gw.records.find_patient(actor, patient.extension)
    except NotFound:
        raise NcpError(ErrorCode.NO_MATCH, "unknown patient") from None
    except AccessDenied:
        raise NcpError(ErrorCode.NO_CONSENT, "closed DSP or no cross-border consent") from None
    for service in sorted(services):
        gw.consent.require(info.id, service)
    return info
