from __future__ import annotations

import pytest

from ncp.cda.demo import demo_dispensation


def test_dispensation_needs_a_pivot_prescription(specs_dir):
    sample_ps = (specs_dir / "samples/cda/ps/openncp-mock_2-5678-W7.xml").read_bytes()
    with pytest.raises(ValueError, match="ePrescription"):
        demo_dispensation(sample_ps)


def test_dispensation_of_a_foreign_prescription_references_it(specs_dir):
    from lxml import etree

    from ncp.xmlutil import NS

    sample = (specs_dir / "samples/cda/ep/openncp-mock_1-5678-W7.xml").read_bytes()
    ed = etree.fromstring(demo_dispensation(sample))
    order = ed.find("hl7:inFulfillmentOf/hl7:order/hl7:id", NS)
    assert order.get("extension") == "3000"
    ref = ed.find(".//hl7:entryRelationship[@typeCode='REFR']/hl7:substanceAdministration/"
                  "hl7:id", NS)
    assert ref.get("extension") == "3000.1.1"
