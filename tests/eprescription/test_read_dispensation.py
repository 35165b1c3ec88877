"""Reading a received eDispensation: the published Danish eD and refusals (ERROR_ED_GENERIC)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ncp.eprescription import InvalidDispensation, read_dispensation


def test_the_danish_sample(specs_dir: Path) -> None:
    ed = read_dispensation((specs_dir / "samples/cda/ed/DK-received_dispensation1.xml")
                           .read_bytes())
    assert ed.prescription_root == "1.2.208.176.7.2.2"
    assert ed.prescription_extension == "462617619087101"
    assert ed.prescription_id("1.3.182.11.5") is None  # not one of ours
    assert ed.prescription_id("1.2.208.176.7.2.2") == "462617619087101"
    assert ed.patient_extension("1.2.208.176.1.2") == "0201909309"
    assert ed.packages == 1 and ed.substituted is True


def test_our_pivot_id_suffix_is_understood(specs_dir: Path) -> None:
    raw = (specs_dir / "samples/cda/ed/DK-received_dispensation1.xml").read_bytes()
    ours = raw.replace(b'extension="462617619087101" root="1.2.208.176.7.2.2"',
                       b'extension="12345626110701-P" root="1.3.182.11.5"')
    assert read_dispensation(ours).prescription_id("1.3.182.11.5") == "12345626110701"


@pytest.mark.parametrize("mutation", [
    (b'<hl7:quantity value="1"', b'<hl7:quantity value="0"'),
    (b'<hl7:quantity value="1"', b'<hl7:quantity value="x"'),
    (b"hl7:inFulfillmentOf>", b"hl7:inFulfillmentOfX>"),
    (b"1.3.6.1.4.1.12559.11.10.1.3.1.1.2", b"1.3.6.1.4.1.12559.11.10.1.3.1.1.3"),
])
def test_malformed_dispensations_are_ed_generic(specs_dir: Path,
                                                mutation: tuple[bytes, bytes]) -> None:
    raw = (specs_dir / "samples/cda/ed/DK-received_dispensation1.xml").read_bytes()
    broken = raw.replace(*mutation)
    assert broken != raw
    with pytest.raises(InvalidDispensation) as refused:
        read_dispensation(broken)
    assert refused.value.error.code == "ERROR_ED_GENERIC"
    with pytest.raises(InvalidDispensation):
        read_dispensation(b"<not-xml")
