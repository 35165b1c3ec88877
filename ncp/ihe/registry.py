"""The IHE transactions of eHDSI, each declared once.

Every other module (SOAP dispatch, schema validation, audit, the gateway faces) looks a
transaction up here by its ITI number, its ``wsa:Action`` or its body element, instead of
repeating actions, element names or schema paths. Records are frozen and keyword-only so a new
transaction cannot be declared with arguments in the wrong order.

Facts: ``../shared/design/EHDSI.md`` (Transactions, Audit), IHE ITI TF-2 (ITI-38, 39, 41, 55).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ncp.ihe.codes import Service
from ncp.xmlutil import qname


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditSpec:
    """What an RFC 3881 / DICOM audit record of the transaction carries in EventIdentification."""

    #: DICOM EventID code (DCM): 110112 Query, 110106 Export, 110107 Import.
    event_id: str
    event_id_display: str
    #: RFC 3881 EventActionCode: E execute, R read, C create.
    action_code: str
    #: EventTypeCode of the IHE transaction, e.g. ``ITI-38``.
    event_type_code: str
    event_type_display: str
    #: The eHDSI event code by service, e.g. PS list ``EHDSI-21``.
    ehdsi_events: Mapping[Service, str]

    def ehdsi_event(self, service: Service) -> str:
        """The eHDSI event code of this transaction for ``service`` (KeyError if none)."""
        return self.ehdsi_events[service]


@dataclass(frozen=True, kw_only=True, slots=True)
class Transaction:
    """One IHE transaction as eHDSI profiles it."""

    iti: str
    profile: str
    name: str
    description: str
    request_root: str
    response_root: str
    request_action: str
    response_action: str
    #: Schema files, relative to ``specs/xsd``, that validate the request and response bodies.
    request_schema: str
    response_schema: str
    #: Whether binary content travels as MTOM/XOP by default in the request or the response.
    mtom_request: bool
    mtom_response: bool
    audit: AuditSpec


_EBXML_XSD = "ebrs30-xdsb-openncp/IHEXDS.xsd"


def _events(**by_service: str) -> Mapping[Service, str]:
    return MappingProxyType({Service[k.upper()]: v for k, v in by_service.items()})


ITI_55 = Transaction(
    iti="ITI-55",
    profile="XCPD",
    name="Cross Gateway Patient Discovery",
    description="Country B asks country A whether it knows a patient, by national identifier "
                "and optionally demographics; the answer carries the matched patient.",
    request_root=qname("hl7", "PRPA_IN201305UV02"),
    response_root=qname("hl7", "PRPA_IN201306UV02"),
    request_action="urn:hl7-org:v3:PRPA_IN201305UV02:CrossGatewayPatientDiscovery",
    response_action="urn:hl7-org:v3:PRPA_IN201306UV02:CrossGatewayPatientDiscovery",
    request_schema="hl7v3-xcpd-openncp/PRPA_IN201305UV02.xsd",
    response_schema="hl7v3-xcpd-openncp/PRPA_IN201306UV02.xsd",
    mtom_request=False,
    mtom_response=False,
    audit=AuditSpec(
        event_id="110112", event_id_display="Query", action_code="E",
        event_type_code="ITI-55", event_type_display="XCPD::CrossGatewayPatientDiscovery",
        ehdsi_events=_events(patient_identification="EHDSI-11"),
    ),
)

ITI_38 = Transaction(
    iti="ITI-38",
    profile="XCA",
    name="Cross Gateway Query",
    description="Country B lists a patient's documents of one class (PS, eP, OrCD) with the "
                "FindDocuments stored query; the answer is document metadata.",
    request_root=qname("query", "AdhocQueryRequest"),
    response_root=qname("query", "AdhocQueryResponse"),
    request_action="urn:ihe:iti:2007:CrossGatewayQuery",
    response_action="urn:ihe:iti:2007:CrossGatewayQueryResponse",
    request_schema=_EBXML_XSD,
    response_schema=_EBXML_XSD,
    mtom_request=False,
    mtom_response=False,
    audit=AuditSpec(
        event_id="110112", event_id_display="Query", action_code="E",
        event_type_code="ITI-38", event_type_display="XCA::CrossGatewayQuery",
        ehdsi_events=_events(patient_summary="EHDSI-21", eprescription="EHDSI-31",
                             orcd="EHDSI-61"),
    ),
)

ITI_39 = Transaction(
    iti="ITI-39",
    profile="XCA",
    name="Cross Gateway Retrieve",
    description="Country B fetches documents listed by ITI-38; country A answers with the "
                "pivot (transcoded) document, as MTOM attachments.",
    request_root=qname("xds", "RetrieveDocumentSetRequest"),
    response_root=qname("xds", "RetrieveDocumentSetResponse"),
    request_action="urn:ihe:iti:2007:CrossGatewayRetrieve",
    response_action="urn:ihe:iti:2007:CrossGatewayRetrieveResponse",
    request_schema=_EBXML_XSD,
    response_schema=_EBXML_XSD,
    mtom_request=False,
    mtom_response=True,
    audit=AuditSpec(
        event_id="110106", event_id_display="Export", action_code="R",
        event_type_code="ITI-39", event_type_display="XCA::CrossGatewayRetrieve",
        ehdsi_events=_events(patient_summary="EHDSI-22", eprescription="EHDSI-32",
                             orcd="EHDSI-62"),
    ),
)

ITI_41 = Transaction(
    iti="ITI-41",
    profile="XDR",
    name="Provide and Register Document Set-b",
    description="Country B sends an eDispensation (or its discard) for one of country A's "
                "ePrescriptions; the answer is a registry response.",
    request_root=qname("xds", "ProvideAndRegisterDocumentSetRequest"),
    response_root=qname("rs", "RegistryResponse"),
    request_action="urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b",
    response_action="urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse",
    request_schema=_EBXML_XSD,
    response_schema=_EBXML_XSD,
    mtom_request=True,
    mtom_response=False,
    audit=AuditSpec(
        event_id="110107", event_id_display="Import", action_code="C",
        event_type_code="ITI-41", event_type_display="XDR::ProvideandRegisterDocumentSet-b",
        ehdsi_events=_events(edispensation="EHDSI-41", edispensation_discard="EHDSI-42"),
    ),
)

#: Every transaction by ITI number.
TRANSACTIONS: Mapping[str, Transaction] = MappingProxyType(
    {t.iti: t for t in (ITI_55, ITI_38, ITI_39, ITI_41)})

_BY_REQUEST_ACTION = {t.request_action: t for t in TRANSACTIONS.values()}
_BY_RESPONSE_ACTION = {t.response_action: t for t in TRANSACTIONS.values()}
_BY_REQUEST_ROOT = {t.request_root: t for t in TRANSACTIONS.values()}


def get(iti: str) -> Transaction:
    """The transaction ``ITI-nn`` (KeyError if unknown)."""
    return TRANSACTIONS[iti]


def by_request_action(action: str) -> Transaction | None:
    """The transaction whose request carries ``wsa:Action`` = ``action``, if any."""
    return _BY_REQUEST_ACTION.get(action)


def by_response_action(action: str) -> Transaction | None:
    """The transaction whose response carries ``wsa:Action`` = ``action``, if any."""
    return _BY_RESPONSE_ACTION.get(action)


def by_request_root(clark: str) -> Transaction | None:
    """The transaction whose request body element is ``{ns}local``, if any."""
    return _BY_REQUEST_ROOT.get(clark)
