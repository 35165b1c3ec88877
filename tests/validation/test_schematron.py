"""The schematron compiler on small hand-written schemas, one ISO feature per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from ncp.validation.cache import compiled_schema
from ncp.validation.engine import run_schematron
from ncp.validation.schematron import SchematronCompileError, load_schema

HEAD = ('<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">'
        '<ns prefix="h" uri="urn:hl7-org:v3"/>')
DOC = (b'<ClinicalDocument xmlns="urn:hl7-org:v3"><id root="1.2"/><id root="x"/>'
       b'<code code="A" codeSystem="1.2.3"/><title>T</title></ClinicalDocument>')


def _run(tmp_path: Path, schema: str, *, files: dict[str, str] | None = None,
         phase: str | None = None, doc: bytes = DOC):
    for name, text in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    path = tmp_path / "main.sch"
    path.write_text(schema)
    compiled = compiled_schema(path, tmp_path / "var", phase=phase)
    return run_schematron(compiled.stylesheet, doc)


def test_assert_report_and_message_parts(tmp_path):
    findings = _run(tmp_path, HEAD + """
      <pattern id="p"><rule context="h:id">
        <assert test="matches(@root, '^[0-9.]+$')" role="error">bad root <value-of select="@root"/>
          on <name/></assert>
        <report test="@root = '1.2'" role="info">short root</report>
      </rule></pattern></schema>""")
    failed = [f for f in findings if f.kind == "assert"]
    reports = [f for f in findings if f.kind == "report"]
    assert [f.message for f in failed] == ["bad root x on id"]
    assert failed[0].location == "/h:ClinicalDocument[1]/h:id[2]"
    assert failed[0].is_error
    assert [r.role for r in reports] == ["info"] and not reports[0].is_error


def test_first_matching_rule_of_a_pattern_wins(tmp_path):
    findings = _run(tmp_path, HEAD + """
      <pattern><rule context="h:id[@root='x']"><assert test="false()">first</assert></rule>
        <rule context="h:id"><assert test="false()">second</assert></rule></pattern>
      <pattern><rule context="h:id"><assert test="false()">other pattern</assert></rule>
      </pattern></schema>""")
    assert sorted(f.message for f in findings) == ["first", "other pattern", "other pattern",
                                                   "second"]


def test_lets_at_every_level(tmp_path):
    findings = _run(tmp_path, HEAD + """
      <let name="expected" value="'1.2.3'"/>
      <pattern><let name="codes" value="('A', 'B')"/>
        <rule context="h:code"><let name="mine" value="@codeSystem"/>
          <assert test="$mine = $expected and @code = $codes">let</assert>
          <assert test="$mine != $expected">fails <value-of select="$mine"/></assert>
        </rule></pattern></schema>""")
    assert [f.message for f in findings] == ["fails 1.2.3"]


def test_includes_and_abstract_rules_across_files(tmp_path):
    files = {
        "inc/any.sch": '<rule xmlns="http://purl.oclc.org/dsdl/schematron" abstract="true" '
                       'id="ANY"><assert test="not(@nullFlavor)">any-null</assert></rule>',
        "inc/ii.sch": '<rule xmlns="http://purl.oclc.org/dsdl/schematron" abstract="true" '
                      'id="II"><extends rule="ANY"/><let name="r" value="@root"/>'
                      '<assert test="contains($r, \'.\')">ii-root <value-of select="$r"/>'
                      '</assert></rule>',
        "inc/pattern.sch": '<pattern xmlns="http://purl.oclc.org/dsdl/schematron" id="ids">'
                           '<rule context="h:id"><extends rule="II"/>'
                           '<let name="r" value="1"/><assert test="$r = 1">own</assert>'
                           '</rule></pattern>',
    }
    doc = DOC.replace(b'<id root="x"/>', b'<id root="x" nullFlavor="NI"/>')
    findings = _run(tmp_path, HEAD + """
      <pattern><include href="inc/any.sch"/><include href="inc/ii.sch"/></pattern>
      <include href="inc/pattern.sch"/></schema>""", files=files, doc=doc)
    assert sorted(f.message for f in findings) == ["any-null", "ii-root x"]


def test_abstract_pattern_instantiated_with_parameters(tmp_path):
    findings = _run(tmp_path, HEAD + """
      <pattern abstract="true" id="required">
        <rule context="$parent"><assert test="$child">missing <value-of select="'$child'"/>
        </assert></rule></pattern>
      <pattern is-a="required" id="need-title">
        <param name="parent" value="h:ClinicalDocument"/><param name="child" value="h:title"/>
      </pattern>
      <pattern is-a="required" id="need-effective">
        <param name="parent" value="h:ClinicalDocument"/>
        <param name="child" value="h:effectiveTime"/></pattern></schema>""")
    assert [f.message for f in findings] == ["missing h:effectiveTime"]


def test_phases_select_patterns(tmp_path):
    schema = HEAD + """
      <phase id="ids"><active pattern="p-ids"/></phase>
      <phase id="codes"><active pattern="p-codes"/></phase>
      <pattern id="p-ids"><rule context="h:id"><assert test="false()">id</assert></rule></pattern>
      <pattern id="p-codes"><rule context="h:code"><assert test="false()">code</assert></rule>
      </pattern></schema>"""
    assert {f.message for f in _run(tmp_path, schema, phase="codes")} == {"code"}
    assert {f.message for f in _run(tmp_path, schema, phase="ids")} == {"id"}
    assert {f.message for f in _run(tmp_path, schema)} == {"id", "code"}
    with pytest.raises(SchematronCompileError):
        load_schema(tmp_path / "main.sch", phase="nope")


def test_xinclude_fallback_and_value_set_documents(tmp_path):
    files = {"include/voc-1.xml": '<valueSets><valueSet><conceptList>'
                                  '<concept code="A" codeSystem="1.2.3"/></conceptList>'
                                  '</valueSet></valueSets>'}
    schema = HEAD.replace('queryBinding', 'xmlns:xi="http://www.w3.org/2001/XInclude" '
                                          'queryBinding') + """
      <xi:include href="missing.sch"><xi:fallback><pattern><rule context="h:title">
        <assert test="false()">from fallback</assert></rule></pattern></xi:fallback></xi:include>
      <pattern><rule context="h:code[concat(@code, @codeSystem) =
          doc('include/voc-1.xml')//concept/concat(@code, @codeSystem)]">
        <assert test="exists(doc('include/voc-2.xml')//concept[@code = current()/@code])"
          >not in the missing set</assert></rule></pattern></schema>"""
    findings = _run(tmp_path, schema, files=files)
    assert sorted(f.message for f in findings) == ["from fallback", "not in the missing set"]
    compiled = compiled_schema(tmp_path / "main.sch", tmp_path / "var")
    assert compiled.missing_documents == ("include/voc-2.xml",)


def test_unknown_abstract_rule_and_include_cycle_fail_to_compile(tmp_path):
    (tmp_path / "a.sch").write_text(HEAD + '<pattern><rule context="*"><extends rule="nope"/>'
                                    '</rule></pattern></schema>')
    with pytest.raises(SchematronCompileError, match="nope"):
        compiled_schema(tmp_path / "a.sch", tmp_path / "var")
    (tmp_path / "b.sch").write_text('<pattern xmlns="http://purl.oclc.org/dsdl/schematron">'
                                    '<include href="b.sch"/></pattern>')
    (tmp_path / "c.sch").write_text(HEAD + '<include href="b.sch"/></schema>')
    with pytest.raises(SchematronCompileError, match="cycle"):
        load_schema(tmp_path / "c.sch")


def test_cache_is_reused_and_refreshed_on_change(tmp_path):
    schema = HEAD + '<pattern><rule context="h:id"><assert test="true()">x</assert></rule>' \
                    '</pattern></schema>'
    _run(tmp_path, schema)
    first = compiled_schema(tmp_path / "main.sch", tmp_path / "var")
    assert compiled_schema(tmp_path / "main.sch", tmp_path / "var") == first
    (tmp_path / "main.sch").write_text(schema.replace("true()", "false()"))
    from ncp.validation import cache

    cache._memo.clear()
    second = compiled_schema(tmp_path / "main.sch", tmp_path / "var")
    assert second.stylesheet != first.stylesheet
    assert len(run_schematron(second.stylesheet, DOC)) == 2


def test_legacy_epsos_schematrons_with_xinclude_and_phases(specs_dir, validation_var):
    """The older epSOS pivot schematrons (ASCC namespace, XInclude with fallbacks, phases)."""
    folder = specs_dir / "schematron/epsos-friendly-pivot-legacy"
    summary = compiled_schema(folder / "epSOS-PatientSummary-Pivot.sch", validation_var,
                              phase="no-codes")
    findings = run_schematron(summary.stylesheet,
                              (folder / "samples-schPassed/PatientSummary-pivot.xml").read_bytes())
    assert [f for f in findings if f.is_error] == []
    assert len([f for f in findings if f.kind == "report"]) > 300
    prescription = compiled_schema(folder / "epSOS-ePrescription-Pivot.sch", validation_var,
                                   phase="no-codes")
    findings = run_schematron(prescription.stylesheet,
                              (folder / "samples-schPassed/ePrescription-pivot.xml").read_bytes())
    errors = [f for f in findings if f.is_error]
    # The schematron expects the IHE code system as "1.3.5.1.4..." (a typo of 1.3.6...): the
    # sample's correct codes for the two instruction acts fail it, as they should.
    assert len(errors) == 2
    assert all("1.3.5.1.4.1.19376.1.5.3.2" in f.test for f in errors)


def test_diagnostics_are_reported(tmp_path):
    findings = _run(tmp_path, HEAD + """
      <pattern><rule context="h:id">
        <assert test="@root = '1.2'" diagnostics="d1">bad root</assert></rule></pattern>
      <diagnostics><diagnostic id="d1">found <value-of select="@root"/></diagnostic>
      </diagnostics></schema>""")
    (finding,) = findings
    assert finding.message == "bad root"
    assert finding.diagnostics == ("found x",)
    with pytest.raises(SchematronCompileError, match="d2"):
        _run(tmp_path, HEAD + '<pattern><rule context="h:id"><assert test="true()" '
                              'diagnostics="d2">x</assert></rule></pattern></schema>')
