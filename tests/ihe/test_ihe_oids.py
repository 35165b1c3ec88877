"""The OID registry: well-formed, unique, each with its source."""

from __future__ import annotations

import re

from ncp.ihe import oids
from ncp.settings import Settings

_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
_UUID = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _all(kind: type) -> dict[str, object]:
    return {k: v for k, v in vars(oids).items() if isinstance(v, kind)}


def test_oids_are_dotted_decimal_unique_and_sourced() -> None:
    entries = _all(oids.Oid)
    assert len(entries) >= 20
    for name, oid in entries.items():
        assert _OID.match(oid.value), name
        assert oid.source and oid.name, name
    values = [o.value for o in entries.values()]
    assert len(values) == len(set(values))


def test_xds_uuids_are_uuid_urns_and_unique() -> None:
    entries = _all(oids.XdsUuid)
    for name, u in entries.items():
        assert _UUID.match(u.value), name
    values = [u.value for u in entries.values()]
    assert len(values) == len(set(values))
    assert oids.FIND_DOCUMENTS_QUERY.value == "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"


def test_luxembourg_identifiers_agree_with_settings_defaults() -> None:
    s = Settings()
    assert oids.LU_PATIENT_ID.value == s.patient_id_root == "1.3.182.4.4"
    assert oids.LU_EPRESCRIPTION_ID.value == s.eprescription_id_root == "1.3.182.11.5"
    assert oids.LU_PATIENT_ID.urn == "urn:oid:1.3.182.4.4"


def test_lu_patient_domain_is_the_one_in_the_international_search_mask(specs_dir) -> None:
    ism = (specs_dir / "smp" / "ism-forms" / "InternationalSearch_LU.xml").read_text("utf-8")
    assert f'domain="{oids.LU_PATIENT_ID.value}"' in ism
    assert f'domain="{oids.LU_EPRESCRIPTION_ID.value}"' in ism
