"""Patient identifiers in CX form: strict both ways."""

from __future__ import annotations

import pytest

from ncp.errors import ErrorCode
from ncp.ihe.errors import PatientIdError
from ncp.ihe.identifiers import PatientId


def test_cx_round_trip() -> None:
    pid = PatientId.from_cx("1980010112345^^^&1.3.182.4.4&ISO")
    assert (pid.extension, pid.root) == ("1980010112345", "1.3.182.4.4")
    assert pid.cx == "1980010112345^^^&1.3.182.4.4&ISO"
    assert PatientId.from_query_value(f"'{pid.cx}'") == pid
    assert pid.ii.root == "1.3.182.4.4" and pid.ii.extension == "1980010112345"


def test_namespace_of_the_assigning_authority_is_tolerated() -> None:
    assert PatientId.from_cx("42^^^LU&1.3.182.4.4&ISO").root == "1.3.182.4.4"


@pytest.mark.parametrize("value", [
    "1980010112345",                           # no assigning authority
    "1980010112345^^^&1.3.182.4.4",             # no type
    "1980010112345^^^&1.3.182.4.4&DNS",         # not ISO
    "1980010112345^^^&lu-national&ISO",          # not an OID
    "^^^&1.3.182.4.4&ISO",                      # empty extension
    "19800101\t12345^^^&1.3.182.4.4&ISO",       # a control character inside
    "19800101\x0012345^^^&1.3.182.4.4&ISO",     # NUL
    "1980\x7f^^^&1.3.182.4.4&ISO",               # DEL
    "1980\x85^^^&1.3.182.4.4&ISO",               # C1 control (NEL)
    "a~b^^^&1.3.182.4.4&ISO",                    # CX repetition separator
    "a\\b^^^&1.3.182.4.4&ISO",                   # CX escape character
    " ^^^&1.3.182.4.4&ISO",                      # blank
    "1980010112345^1^^&1.3.182.4.4&ISO",        # check digit component filled
    "1980010112345^^^&1.3.182.4.4&ISO^extra",   # too many components
    "1980010112345^^^&1.03.182&ISO",            # leading zero in an arc
])
def test_malformed_cx_is_refused(value: str) -> None:
    with pytest.raises(PatientIdError) as info:
        PatientId.from_cx(value)
    assert info.value.error is ErrorCode.PATIENT_ID_INVALID


@pytest.mark.parametrize("value", ["1980010112345^^^&1.3.182.4.4&ISO",
                                   "'1980010112345^^^&1.3.182.4.4&ISO",
                                   "\"1980010112345^^^&1.3.182.4.4&ISO\""])
def test_query_value_must_be_single_quoted(value: str) -> None:
    with pytest.raises(PatientIdError):
        PatientId.from_query_value(value)


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(PatientIdError):
        PatientId(extension="a^b", root="1.3.182.4.4")
    with pytest.raises(PatientIdError):
        PatientId(extension="ab", root="not-an-oid")


@pytest.mark.parametrize(("cx", "extension"), [
    # German KVNR with the access code (eHDSI DE test material), and other foreign forms.
    ("X110571344|ABC123^^^&1.2.276.0.76.4.8&ISO", "X110571344|ABC123"),
    ("AB 123456 C^^^&2.16.840.1.113883.2.1.4.1&ISO", "AB 123456 C"),
    ("190101-1234/ü^^^&1.2.208.176.1.2&ISO", "190101-1234/ü"),
])
def test_foreign_identifier_components_are_accepted(cx: str, extension: str) -> None:
    pid = PatientId.from_cx(cx)
    assert pid.extension == extension
    assert PatientId.from_query_value(f"'{cx}'") == pid
    assert pid.cx == cx
