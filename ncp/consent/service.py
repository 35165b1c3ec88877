"""Consent per service: who may receive a Luxembourg patient's data abroad, and for what.

In Luxembourg a patient gives explicit consent to cross-border sharing, separately for the
Patient Summary (which also carries the original clinical documents) and for ePrescription
(which also covers receiving the eDispensations of those prescriptions). The reference gateway's
consent hook always says yes; here, without a current consent for the service the answer is
error 4701 and nothing is released. The check is the same at discovery, query, retrieve and
submit. Consents themselves are given and withdrawn by the patient through the record store
(:meth:`ncp.store.consent.ConsentRecords.give_consent`); this service only reads them.

The record store's access policy enforces the same rule again for every document it hands to a
foreign professional (defence in depth): this service exists so that the gateway can refuse
*before* touching the record, with the eHDSI code, and so that discovery (which reads no
document) is covered too.
"""

from __future__ import annotations

from ncp.errors import ErrorCode, NcpError
from ncp.ihe.codes import Service
from ncp.store.dsp import Records
from ncp.store.vocabulary import CrossBorderService

#: Which consent each eHDSI service needs.
_CONSENT_FOR: dict[Service, CrossBorderService] = {
    Service.PATIENT_SUMMARY: CrossBorderService.PATIENT_SUMMARY,
    Service.ORCD: CrossBorderService.PATIENT_SUMMARY,
    Service.EPRESCRIPTION: CrossBorderService.EPRESCRIPTION,
    Service.EDISPENSATION: CrossBorderService.EPRESCRIPTION,
    Service.EDISPENSATION_DISCARD: CrossBorderService.EPRESCRIPTION,
}


class ConsentRequired(NcpError):
    """The patient has not consented to the service (eHDSI 4701, ERROR_NO_CONSENT)."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(ErrorCode.NO_CONSENT, detail)


def consent_service_for(service: Service) -> CrossBorderService | None:
    """The consent ``service`` needs; None for patient identification (any consent will do)."""
    return _CONSENT_FOR.get(service)


class ConsentService:
    """Reads the patient's current cross-border consents and refuses what is not covered."""

    def __init__(self, records: Records) -> None:
        self.records = records

    def current(self, patient_id: int) -> frozenset[CrossBorderService]:
        return self.records.consents(patient_id)

    def require(self, patient_id: int, service: Service) -> None:
        """Raise :class:`ConsentRequired` unless the patient consents to ``service``.

        Patient identification (XCPD) needs a consent to at least one service: a patient who
        shares nothing across borders is not discoverable either.
        """
        given = self.current(patient_id)
        needed = consent_service_for(service)
        if needed is None:
            if not given:
                raise ConsentRequired("no cross-border consent at all")
            return
        if needed not in given:
            raise ConsentRequired(f"no consent for {needed.value}")
