"""The optional FindDocuments parameters, applied to the entries a service found.

The class code chose the service and the patient was checked against the TRC; the other
parameters of the stored query narrow the answer (IHE ITI TF-2 3.18.4.1.2.3.7.1): status,
format, type, confidentiality, practice setting, facility type and event codes (for an
ePrescription these include its ATC code, dose form and substitution, so a pharmacist abroad
can ask for one medicine), the creation and service time ranges, the author and the entry type.
A code list matches when the entry carries one of its codes (code and coding scheme); time
ranges are ``From`` inclusive and ``To`` exclusive, compared at the precision given.
"""

from __future__ import annotations

import fnmatch

from ncp.ihe import oids
from ncp.ihe.rim import Association, Coded, DocumentEntry
from ncp.ihe.xca.query import FindDocumentsQuery

__all__ = ["apply", "matches"]

_SUBSTITUTION = "2.16.840.1.113883.5.1070"


def _key(c: Coded) -> tuple[str, str]:
    return c.code, c.scheme


def _any(wanted: tuple[Coded, ...], have: list[Coded]) -> bool:
    return not wanted or bool({_key(w) for w in wanted} & {_key(h) for h in have})


def _event_codes(entry: DocumentEntry) -> list[Coded]:
    codes = list(entry.event_codes)
    ep = entry.eprescription
    if ep is not None:
        codes += [c for c in (ep.atc, ep.dose_form, ep.substitution) if c is not None]
        if ep.strength:
            codes.append(Coded(code=ep.strength, scheme=oids.EHDSI_STRENGTH_SCHEME))
    return codes


def _pad(dtm: str) -> str:
    return dtm.ljust(14, "0")


def _in_range(value: str | None, start: str | None, end: str | None) -> bool:
    if start is None and end is None:
        return True
    if value is None:
        return False
    v = _pad(value)
    return (start is None or v >= _pad(start)) and (end is None or v < _pad(end))


def _author(entry: DocumentEntry, patterns: tuple[str, ...]) -> bool:
    if not patterns:
        return True
    people = [a.person for a in entry.authors if a.person]
    globs = [p.replace("%", "*").replace("_", "?") for p in patterns]
    return any(fnmatch.fnmatchcase(person, g) for person in people for g in globs)


def matches(entry: DocumentEntry, q: FindDocumentsQuery) -> bool:
    """Whether ``entry`` satisfies every optional parameter of ``q``."""
    return (
        (not q.statuses or entry.status in {s.value for s in q.statuses})
        and _any(q.format_codes, [entry.format_code])
        and _any(q.type_codes, [entry.type_code] if entry.type_code else [])
        and _any(q.confidentiality_codes, list(entry.confidentiality_codes))
        and _any(q.practice_setting_codes,
                 [entry.practice_setting_code] if entry.practice_setting_code else [])
        and _any(q.healthcare_facility_type_codes,
                 [entry.healthcare_facility_type_code]
                 if entry.healthcare_facility_type_code else [])
        and _any(q.event_codes, _event_codes(entry))
        and _in_range(entry.creation_time, q.creation_time_from, q.creation_time_to)
        and _in_range(entry.service_start_time, q.service_start_time_from,
                      q.service_start_time_to)
        and _in_range(entry.service_stop_time, q.service_stop_time_from,
                      q.service_stop_time_to)
        and _author(entry, q.author_persons)
        and (not q.entry_types or entry.object_type in q.entry_types)
    )


def apply(q: FindDocumentsQuery, entries: list[DocumentEntry],
          associations: list[Association]) -> tuple[list[DocumentEntry], list[Association]]:
    """The entries ``q`` selects, and the associations between selected entries only."""
    kept = [e for e in entries if matches(e, q)]
    ids = {e.entry_uuid for e in kept}
    return kept, [a for a in associations if a.source in ids and a.target in ids]
