"""Schema loading is cached and validation failures are typed."""

from __future__ import annotations

import pytest
from lxml import etree

from ncp.ihe import registry, schemas
from ncp.ihe.errors import MessageError


def test_each_schema_file_is_compiled_once() -> None:
    a = schemas.load_schema("ebrs30-xdsb-openncp/IHEXDS.xsd")
    assert schemas.load_schema("ebrs30-xdsb-openncp/IHEXDS.xsd") is a
    assert schemas.schema_for(registry.ITI_38, "request") is a
    assert schemas.schema_for(registry.ITI_41, "response") is a


def test_specs_dir_can_be_moved_by_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("NCP_SPECS_DIR", str(tmp_path))
    assert schemas.specs_dir() == tmp_path


def test_schema_paths_follow_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """The resolved schema paths are cached per $NCP_SPECS_DIR value, never across values."""
    before = schemas._path("ebrs30-xdsb-openncp/IHEXDS.xsd")
    monkeypatch.setenv("NCP_SPECS_DIR", str(tmp_path))
    assert schemas._path("ebrs30-xdsb-openncp/IHEXDS.xsd") == \
        (tmp_path / "xsd" / "ebrs30-xdsb-openncp" / "IHEXDS.xsd").resolve()
    monkeypatch.undo()
    assert schemas._path("ebrs30-xdsb-openncp/IHEXDS.xsd") == before


def test_invalid_body_raises_schema_violation() -> None:
    el = etree.fromstring(
        b'<rs:RegistryResponse xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"/>')
    with pytest.raises(schemas.SchemaViolation) as info:
        schemas.validate_body(el, registry.ITI_41, "response")
    assert isinstance(info.value, MessageError)
    assert "status" in info.value.detail


def test_concurrent_validations_each_report_their_own_result() -> None:
    from concurrent.futures import ThreadPoolExecutor

    ok = etree.fromstring(b'<rs:RegistryResponse xmlns:rs="urn:oasis:names:tc:ebxml-regrep:'
                          b'xsd:rs:3.0" status="urn:x"/>')
    bad = etree.fromstring(b'<rs:RegistryResponse xmlns:rs="urn:oasis:names:tc:ebxml-regrep:'
                           b'xsd:rs:3.0" status="urn:x"><rs:Nope/></rs:RegistryResponse>')

    def check(i: int) -> bool:
        el = ok if i % 2 else bad
        try:
            schemas.validate_body(el, registry.ITI_41, "response")
        except schemas.SchemaViolation as exc:
            assert "Nope" in exc.detail
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(check, range(200)))
    assert results == [bool(i % 2) for i in range(200)]
