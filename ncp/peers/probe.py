"""``ncp probe COUNTRY``: our conformance cases against a foreign gateway, before go-live.

The test session between two contact points, as a command. Each case is a real exchange with the
peer's endpoints from the peers directory, with assertions freshly issued from our PKI for a
named test professional, exactly as the portal makes it; each gets a verdict (pass, fail, skip),
what came back, and why it is judged so:

1. ``directory``: the peer's entry is complete (home community id, the four endpoints, TLS and
   signing anchors, search mask): what is missing is named, since a call without them fails
   later with a less telling error;
2. ``xcpd-known``: discovery of the test patient the peer names: exactly one match;
3. ``xcpd-unknown``: discovery of a patient the peer does not know: no match, and no error
   (XCPD NF is an answer, not a refusal);
4. ``ps-query`` and ``ps-retrieve``: the known patient's Patient Summary is listed, and retrieved
   as a CDA document about that patient;
5. ``ep-query``: the known patient's ePrescriptions are listed (none is a warning, not a fault);
6. ``ed-submit`` and ``ed-discard`` (only with ``--dispense``: they write in the peer's record):
   one package of the first ePrescription dispensed, then the eDispensation discarded.

A case that cannot run because an earlier one failed is skipped with the reason. Nothing here
weakens a check: the client is the production client.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from ncp.crossborder.service import CrossBorder
from ncp.ihe.xca.query import DocumentEntry
from ncp.peers.assertions import Professional
from ncp.peers.errors import CrossBorderError
from ncp.peers.ism import IsmError
from ncp.store.errors import StoreError
from ncp.store.peers import ContextInfo, PeerInfo

__all__ = ["CaseResult", "Probe", "ProbeReport"]

_TRANSACTIONS = ("ITI-55", "ITI-38", "ITI-39", "ITI-41")


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: str
    verdict: str  # pass | fail | skip | warn
    came_back: str
    why: str


@dataclass(slots=True)
class ProbeReport:
    country: str
    results: list[CaseResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.verdict in ("pass", "warn", "skip") for r in self.results) and \
            any(r.verdict == "pass" for r in self.results)

    def text(self) -> str:
        lines = [f"probe of {self.country}"]
        for r in self.results:
            lines.append(f"  {r.verdict.upper():4}  {r.case:13} {r.came_back}")
            lines.append(f"        {'':13} {r.why}")
        failed = sum(r.verdict == "fail" for r in self.results)
        lines.append(f"{self.country}: " + ("conformant on every case run" if self.passed
                                             else f"{failed} case(s) failed"))
        return "\n".join(lines)

    def json(self) -> str:
        return json.dumps({"country": self.country, "passed": self.passed,
                           "results": [dataclasses.asdict(r) for r in self.results]},
                          indent=2, ensure_ascii=False)


def _error(exc: Exception) -> str:
    if isinstance(exc, CrossBorderError):
        code = f" code {exc.code}" if exc.code else ""
        peer_id = f", peer error id {exc.peer_error_id}" if exc.peer_error_id else ""
        return f"refused: {exc.key}{code}{peer_id} ({exc.detail or 'no detail'})"
    return f"{type(exc).__name__}: {exc}"


class Probe:
    """One probe run: the production cross-border service, as ``doctor`` (and ``pharmacist``).

    ``account_id`` is the doctor's portal account: the contexts (confirmed treatment
    relationships) the probe opens are stored under it, as the portal's are, and expire alike.
    """

    def __init__(self, service: CrossBorder, *, doctor: Professional, account_id: int,
                 pharmacist: Professional | None = None,
                 pharmacist_account_id: int | None = None) -> None:
        self.service = service
        self.doctor = doctor
        self.account_id = account_id
        self.pharmacist = pharmacist
        self.pharmacist_account_id = pharmacist_account_id

    def run(self, country: str, *, known: dict[str, str], unknown: dict[str, str] | None,
            dispense: bool = False) -> ProbeReport:
        report = ProbeReport(country.upper())
        add = report.results.append

        def case(name: str, fn: Callable[[], CaseResult]) -> CaseResult:
            try:
                result = fn()
            except (CrossBorderError, StoreError, IsmError, ValueError) as exc:
                result = CaseResult(name, "fail", _error(exc), "the exchange did not complete")
            add(result)
            return result

        def skip(name: str, why: str) -> None:
            add(CaseResult(name, "skip", "-", why))

        try:
            peer = self.service.peer(report.country)
        except StoreError:
            add(CaseResult("directory", "fail", "no entry",
                           f"{report.country} is not in the peers directory (ncp peers list)"))
            return report
        directory = case("directory", lambda: self._directory(peer))
        if directory.verdict == "fail":
            for name in ("xcpd-known", "xcpd-unknown", "ps-query", "ps-retrieve", "ep-query"):
                skip(name, "the directory entry is incomplete")
            return report
        contexts: list[ContextInfo] = []
        known_result = case("xcpd-known", lambda: self._discover_known(peer, known, contexts))
        if unknown:
            case("xcpd-unknown", lambda: self._discover_unknown(peer, unknown))
        else:
            skip("xcpd-unknown", "no unknown patient given (--unknown)")
        if known_result.verdict != "pass":
            for name in ("ps-query", "ps-retrieve", "ep-query"):
                skip(name, "the known patient was not found")
            return report
        ctx = self.service.confirm(self.doctor, self.account_id, contexts[0].token, "TREATMENT")
        entries: list[DocumentEntry] = []
        ps = case("ps-query", lambda: self._query(ctx, "ps", entries))
        if ps.verdict == "pass":
            case("ps-retrieve", lambda: self._retrieve(ctx, entries[0], ctx.patient_cx))
        else:
            skip("ps-retrieve", "no Patient Summary was listed")
        prescriptions: list[DocumentEntry] = []
        case("ep-query", lambda: self._query(ctx, "ep", prescriptions, empty_ok=True))
        if dispense:
            self._dispense(report, peer, known, prescriptions, case, skip)
        return report

    # ------------------------------------------------------------------ cases

    def _directory(self, peer: PeerInfo) -> CaseResult:
        missing = [f"endpoint {tx}" for tx in _TRANSACTIONS if not peer.endpoints.get(tx)]
        if not peer.home_community_id:
            missing.insert(0, "home community id")
        for label, pem in (("TLS anchor", peer.tls_anchor_pem),
                           ("signing anchor", peer.signing_anchor_pem)):
            if not pem:
                missing.append(label)
        if not peer.search_mask:
            missing.append("search mask")
        if missing:
            return CaseResult("directory", "fail", "missing: " + ", ".join(missing),
                              "a gateway needs all of these before a real exchange "
                              "(ncp peers import-smp / add / import-ism)")
        return CaseResult("directory", "pass", f"home community {peer.home_community_id}, "
                          f"{len(peer.endpoints)} endpoints",
                          "the entry names everything a call needs")

    def _matches(self, peer: PeerInfo, values: dict[str, str]) -> list[ContextInfo]:
        """The patients XCPD finds; a "no match" answer is an empty list, not an error."""
        try:
            return self.service.identify(self.doctor, self.account_id, peer.country, values)
        except CrossBorderError as exc:
            if exc.key != "no_match":
                raise
            return []

    def _discover_known(self, peer: PeerInfo, values: dict[str, str],
                        contexts: list[ContextInfo]) -> CaseResult:
        found = self._matches(peer, values)
        contexts.extend(found)
        if len(found) != 1:
            return CaseResult("xcpd-known", "fail", f"{len(found)} matches",
                              "the peer's test patient must be found exactly once (XCPD OK "
                              "with one subject)")
        who = found[0]
        return CaseResult("xcpd-known", "pass",
                          f"1 match: {who.patient_cx} ({who.birth_date or 'no birth date'})",
                          "XCPD OK with the patient's identifier in the peer's domain")

    def _discover_unknown(self, peer: PeerInfo, values: dict[str, str]) -> CaseResult:
        found = self._matches(peer, values)
        if found:
            return CaseResult("xcpd-unknown", "fail", f"{len(found)} matches",
                              "a patient the peer does not know must not be matched")
        return CaseResult("xcpd-unknown", "pass", "no match",
                          "XCPD NF answered as an answer, not a fault")

    def _query(self, ctx: ContextInfo, service: str, out: list, *,
               empty_ok: bool = False) -> CaseResult:
        name = f"{service}-query"
        try:
            found = self.service.documents(self.doctor, ctx, service)
        except CrossBorderError as exc:
            if empty_ok and exc.key in ("no_prescription",):
                return CaseResult(name, "warn", _error(exc),
                                  "the patient has no ePrescription: dispensing not probed")
            raise
        structured = found.structured()
        out.extend(structured)
        notes = [w.key for w in (*found.warnings, *found.errors)]
        came = f"{len(structured)} document(s)" + (f", with {', '.join(notes)}" if notes
                                                   else "")
        if not structured:
            return CaseResult(name, "warn" if empty_ok else "fail", came,
                              "nothing listed for the known patient")
        if found.errors:
            return CaseResult(name, "fail", came, "documents and errors in one answer: the "
                              "peer answered Success while reporting an error")
        return CaseResult(name, "pass", came, "XCA FindDocuments answered with entries")

    def _retrieve(self, ctx: ContextInfo, entry: DocumentEntry, patient_cx: str) -> CaseResult:
        doc = self.service.retrieve(self.doctor, ctx, unique_id=entry.unique_id,
                                    repository=entry.repository_unique_id or "",
                                    home=entry.home_community_id, service="ps")
        root = etree.fromstring(doc.document, etree.XMLParser(resolve_entities=False,
                                                              no_network=True))
        if etree.QName(root).localname != "ClinicalDocument":
            return CaseResult("ps-retrieve", "fail", f"a {etree.QName(root).localname}",
                              "the Patient Summary must be a CDA ClinicalDocument")
        ids = [(i.get("extension"), i.get("root")) for i in root.iterfind(
            "{urn:hl7-org:v3}recordTarget/{urn:hl7-org:v3}patientRole/{urn:hl7-org:v3}id")]
        extension = patient_cx.split("^", 1)[0]
        if not any(ext == extension for ext, _ in ids):
            return CaseResult("ps-retrieve", "fail", f"recordTarget ids {ids}",
                              "the summary is about another patient than the one discovered")
        return CaseResult("ps-retrieve", "pass", f"CDA of {len(doc.document):,} bytes",
                          "retrieved, a ClinicalDocument about the discovered patient")

    def _dispense(self, report: ProbeReport, peer: PeerInfo, known: dict[str, str],
                  prescriptions: list, case: Callable, skip: Callable) -> None:
        if self.pharmacist is None or self.pharmacist_account_id is None:
            skip("ed-submit", "no pharmacist given (--pharmacist)")
            return
        if not prescriptions:
            skip("ed-submit", "no ePrescription to dispense")
            return
        found = self.service.identify(self.pharmacist, self.pharmacist_account_id,
                                      peer.country, known)
        ctx = self.service.confirm(self.pharmacist, self.pharmacist_account_id,
                                   found[0].token, "TREATMENT")
        entry = prescriptions[0]
        sent: list = []

        def submit() -> CaseResult:
            d = self.service.dispense(self.pharmacist, self.pharmacist_account_id, ctx,
                                      unique_id=entry.unique_id,
                                      repository=entry.repository_unique_id or "",
                                      home=entry.home_community_id, packages=1,
                                      substitute=False)
            sent.append(d)
            return CaseResult("ed-submit", "pass", f"accepted ({d.document_id})",
                              "XDR ProvideAndRegister answered Success")

        if case("ed-submit", submit).verdict != "pass":
            skip("ed-discard", "nothing was dispensed")
            return

        def discard() -> CaseResult:
            d = self.service.discard(self.pharmacist, self.pharmacist_account_id, ctx,
                                     sent[0].id)
            return CaseResult("ed-discard", "pass", f"{d.status}",
                              "the eDispensation was discarded within the window")

        case("ed-discard", discard)
