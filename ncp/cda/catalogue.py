"""The national catalogues as the document generators see them: code -> French label.

Read from the same versioned mapping files that ``ncp terminology load`` loads, so a national
document can only carry codes the transcoder knows about; no database is needed to *generate*.
"""

from __future__ import annotations

import functools

from ncp.cda.model import Coded
from ncp.terminology.codesystems import BY_OID, national
from ncp.terminology.sources import mapping_files

WHO_ICD10 = "2.16.840.1.113883.6.3"


@functools.lru_cache(maxsize=1)
def _labels() -> dict[tuple[str, str], str]:
    labels: dict[tuple[str, str], str] = {}
    for mf in mapping_files():
        for row in mf.rows:
            labels.setdefault((row.source_system, row.source_code), row.source_display)
    return labels


def national_code(system_name: str, code: str) -> Coded:
    """A national code with its French label, e.g. ``national_code("LU-VOIE", "ORAL")``."""
    oid = WHO_ICD10 if system_name == "ICD-10 WHO" else national(system_name)
    label = _labels().get((oid, code))
    if label is None:
        raise KeyError(f"{code} is not in the national catalogue {system_name}")
    return Coded(code, oid, label, BY_OID[oid].name)


def catalogue_codes(system_name: str) -> list[str]:
    """Every code of one national catalogue, in file order."""
    oid = WHO_ICD10 if system_name == "ICD-10 WHO" else national(system_name)
    return [code for (system, code) in _labels() if system == oid]
