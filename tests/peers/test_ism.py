"""International Search Masks of every country, both layouts, drive the search form."""

from __future__ import annotations

from pathlib import Path

import pytest

from ncp.peers.ism import IsmError, parse_search_mask


def _mask(specs_dir: Path, cc: str):  # type: ignore[no-untyped-def]
    return parse_search_mask((specs_dir / "smp" / "ism-forms" /
                              f"InternationalSearch_{cc}.xml").read_bytes(), cc)


def test_luxembourg_asks_for_the_matricule(specs_dir: Path) -> None:
    mask = _mask(specs_dir, "LU")
    (f,) = mask.fields
    assert (f.kind, f.domain, f.pattern, f.mandatory) == ("id", "1.3.182.4.4", r"\d{13}", True)
    assert mask.prescription_id_domain == "1.3.182.11.5"
    assert mask.check({"id": "1956 0312 12359"}) == {"id": "1956031212359"}
    with pytest.raises(IsmError) as exc:
        mask.check({"id": "12345"})
    assert exc.value.key == "xb.error.format"
    with pytest.raises(IsmError) as exc:
        mask.check({"id": ""})
    assert exc.value.key == "xb.error.required"


def test_legacy_layout_with_alternative_groups(specs_dir: Path) -> None:
    mask = _mask(specs_dir, "AT")
    assert [f.kind for f in mask.fields] == ["family", "given", "birth_date", "id"]
    assert mask.check({"family": "Gruber"}) == {"family": "Gruber"}
    with pytest.raises(IsmError) as exc:
        mask.check({"birth_date": "1970-01-01"})
    assert exc.value.key == "xb.error.group"
    with pytest.raises(IsmError):
        mask.check({"family": "Gr"})  # min 3


def test_every_published_country_mask_reads(specs_dir: Path) -> None:
    read = 0
    for path in sorted((specs_dir / "smp" / "ism-forms").glob("InternationalSearch_*.xml")):
        cc = path.stem.split("_")[1]
        if cc in ("IHE",):
            continue
        mask = parse_search_mask(path.read_bytes(), cc)
        assert mask.country == cc[:2] and mask.fields
        read += 1
    assert read >= 25


def test_letter_number_templates_become_patterns(specs_dir: Path) -> None:
    mask = _mask(specs_dir, "CY_old") if (specs_dir / "smp" / "ism-forms" /
                                          "InternationalSearch_CY_old.xml").exists() else None
    if mask is None:
        pytest.skip("no legacy Cyprus mask in the specs")
    second = mask.fields[1]
    assert second.pattern == "[0-9][0-9][0-9][0-9]\\-[0-9][0-9]\\-[0-9][0-9]"
    second.check("1234-56-78")
    with pytest.raises(IsmError):
        second.check("12345678")
