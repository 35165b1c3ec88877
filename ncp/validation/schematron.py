"""Our own ISO Schematron to XSLT compiler (query binding ``xslt2``), written for the eHDSI schemas.

Why our own: the eHDSI ART-DECOR schematrons spread one schema over hundreds of files with
``sch:include`` inside patterns, abstract rules extended across files (``sch:extends``), rule
variables between assertions, and ``doc()`` look-ups of value sets; SchXslt refuses them and lxml's
isoschematron is XSLT 1 only. The legacy epSOS schematrons add XInclude (with fallbacks) and phases.

The compiler works in two steps, both pure lxml and without network access:

1. :func:`load_schema` builds one in-memory schema: every ``sch:include`` and ``xi:include`` is
   replaced by the element it points at (recursively, relative to the including file), abstract
   patterns are instantiated with their parameters (textual ``$name`` substitution, as ISO
   Schematron defines it), and the phase selects the active patterns.
2. :func:`generate_xslt` writes an XSLT 3.0 stylesheet (XSLT 2 compatible expressions) producing
   SVRL. The semantics are those of the ISO skeleton: one mode per pattern, a node is fired by at
   most the first matching rule of each pattern, the traversal visits elements and attributes, and
   rule variables are bound before the rule's assertions. Unlike the skeleton, an abstract rule is
   compiled once into a named template that each extending rule calls: the context node is kept by
   ``xsl:call-template``, so the result is the same and the stylesheet is many times smaller (the
   eHDSI Patient Summary drops from about 15 MB to well under 2 MB, and loads that much faster).

Caching the compiled form on disk is :mod:`ncp.validation.cache`'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

SCH = "http://purl.oclc.org/dsdl/schematron"
SCH_OLD = "http://www.ascc.net/xml/schematron"
XI = "http://www.w3.org/2001/XInclude"
XI_2003 = "http://www.w3.org/2003/XInclude"
XSL = "http://www.w3.org/1999/XSL/Transform"
SVRL = "http://purl.oclc.org/dsdl/svrl"
XS = "http://www.w3.org/2001/XMLSchema"
#: Namespace of the helper function the generated stylesheet defines for locations.
FN_NS = "urn:ncp:schematron:functions"

#: Bumped whenever the generated XSLT changes shape, so cached stylesheets are rebuilt.
COMPILER_VERSION = "8"

_DOC_LITERAL = re.compile(r"""(?<![\w:.-])(doc|document)\(\s*'([^']+)'\s*\)""")
_CONCEPT_MEMBER = re.compile(
    r"concat\(@code, @codeSystem\) = doc\('([^']+)'\)//valueSet\[1\]/conceptList/concept/"
    r"concat\(@code, @codeSystem\)")
_CODE_MEMBER = re.compile(r"@code = doc\('([^']+)'\)//valueSet\[1\]/conceptList/\*/@code")
_DOC_CALL = re.compile(
    r"""\b(?:doc|document|doc-available|unparsed-text)\(\s*['"]([^'"]+)['"]\s*\)""")


class SchematronCompileError(ValueError):
    """The schema cannot be compiled (missing include, unknown abstract rule or pattern...)."""


def _s(local: str) -> str:
    return f"{{{SCH}}}{local}"


def _x(local: str) -> str:
    return f"{{{XSL}}}{local}"


def _trusted_parser() -> etree.XMLParser:
    # Schematron files are local, trusted artefacts, but no network access and no entities anyway.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           remove_comments=True, huge_tree=True)


@dataclass
class LoadedSchema:
    """A schematron with every include resolved, ready to be turned into XSLT."""

    root: etree._Element
    path: Path
    phase: str
    source_files: list[Path] = field(default_factory=list)


def load_schema(path: Path, *, phase: str | None = None) -> LoadedSchema:
    """Read ``path`` and resolve includes, abstract patterns and the phase (see module doc)."""
    path = Path(path).resolve()
    sources: list[Path] = []
    root = _load_resolved(path, sources, stack=())
    if root.tag != _s("schema"):
        raise SchematronCompileError(f"{path}: root element is not sch:schema")
    _instantiate_abstract_patterns(root)
    chosen = phase or root.get("defaultPhase") or "#ALL"
    _apply_phase(root, chosen)
    return LoadedSchema(root=root, path=path, phase=chosen, source_files=sources)


def _load_resolved(path: Path, sources: list[Path], stack: tuple[Path, ...]) -> etree._Element:
    if path in stack:
        raise SchematronCompileError(f"include cycle through {path}")
    if not path.is_file():
        raise SchematronCompileError(f"included file not found: {path}")
    sources.append(path)
    root = etree.parse(str(path), _trusted_parser()).getroot()
    _normalise_namespace(root)
    _resolve_includes(root, path.parent, sources, (*stack, path))
    return root


def _normalise_namespace(root: etree._Element) -> None:
    """Accept the pre-ISO (ASCC 1.5) namespace for schematron elements by renaming them."""
    for el in root.iter(f"{{{SCH_OLD}}}*"):
        el.tag = _s(etree.QName(el).localname)


def _resolve_includes(root: etree._Element, base: Path, sources: list[Path],
                      stack: tuple[Path, ...]) -> None:
    includes = [el for el in root.iter(_s("include"), f"{{{XI}}}include", f"{{{XI_2003}}}include")]
    for inc in includes:
        href = inc.get("href", "")
        target = (base / href.split("#", 1)[0]).resolve()
        parent = inc.getparent()
        is_xinclude = inc.tag != _s("include")
        if is_xinclude and not target.is_file():
            fallback = inc.find(f"{{{XI}}}fallback")
            if fallback is None:
                fallback = inc.find(f"{{{XI_2003}}}fallback")
            replacement = list(fallback) if fallback is not None else []
            _replace(inc, replacement)
            continue
        included = _load_resolved(target, sources, stack)
        if is_xinclude and inc.get("xpointer"):
            # The legacy epSOS files select the patterns of the included schema.
            replacement = included.findall(f".//{_s('pattern')}")
        elif included.tag == _s("schema") and parent is not None:
            replacement = [el for el in included if el.tag in (_s("pattern"), _s("rule"),
                                                               _s("let"), _s("phase"))]
        else:
            replacement = [included]
        if parent is None:
            raise SchematronCompileError("an include cannot be the root element")
        _replace(inc, replacement)


def _replace(old: etree._Element, new: list[etree._Element]) -> None:
    parent = old.getparent()
    index = parent.index(old)
    tail = old.tail
    parent.remove(old)
    for offset, el in enumerate(new):
        parent.insert(index + offset, el)
    if new:
        new[-1].tail = tail


def _instantiate_abstract_patterns(root: etree._Element) -> None:
    abstract = {p.get("id"): p for p in root.iter(_s("pattern")) if p.get("abstract") == "true"}
    for pattern in list(root.iter(_s("pattern"))):
        base_id = pattern.get("is-a")
        if not base_id:
            continue
        template = abstract.get(base_id)
        if template is None:
            raise SchematronCompileError(f"pattern {pattern.get('id')} is-a unknown {base_id}")
        params = {p.get("name"): p.get("value", "") for p in pattern.findall(_s("param"))}
        copy = etree.fromstring(etree.tostring(template))
        copy.attrib.pop("abstract", None)
        if pattern.get("id"):
            copy.set("id", pattern.get("id"))
        else:
            copy.attrib.pop("id", None)
        names = sorted(params, key=len, reverse=True)
        for el in copy.iter():
            for attr in ("context", "test", "select", "value", "path", "subject"):
                value = el.get(attr)
                if value is not None and "$" in value:
                    for name in names:
                        value = value.replace(f"${name}", params[name])
                    el.set(attr, value)
        _replace(pattern, [copy])
    for p in abstract.values():
        if p.getparent() is not None:
            p.getparent().remove(p)


def _apply_phase(root: etree._Element, phase: str) -> None:
    if phase == "#ALL":
        return
    chosen = next((ph for ph in root.findall(_s("phase")) if ph.get("id") == phase), None)
    if chosen is None:
        raise SchematronCompileError(f"unknown phase {phase!r}")
    active = {a.get("pattern") for a in chosen.findall(_s("active"))}
    for pattern in root.findall(_s("pattern")):
        if pattern.get("id") not in active:
            root.remove(pattern)


def referenced_documents(schema: LoadedSchema) -> set[str]:
    """Relative URIs of every ``doc('...')`` literal in the schema (value sets, mostly)."""
    found: set[str] = set()
    for el in schema.root.iter():
        for value in el.attrib.values():
            found.update(_DOC_CALL.findall(value))
    return found


# --- XSLT generation ---------------------------------------------------------------------------


class _Generator:
    def __init__(self, schema: LoadedSchema) -> None:
        self.schema = schema
        self.root = schema.root
        self.ns = {n.get("prefix"): n.get("uri") for n in self.root.findall(_s("ns"))}
        self.abstract_rules = {
            r.get("id"): r for r in self.root.iter(_s("rule")) if r.get("abstract") == "true"
        }
        self.used_abstract: dict[str, str] = {}
        self.diagnostics = {d.get("id"): d for d in self.root.iter(_s("diagnostic"))}
        #: Relative URI of each document opened with a literal ``doc()``/``document()`` -> name
        #: of the global parameter standing for it (see :meth:`_xp`).
        self.doc_params: dict[str, str] = {}

    def _doc_param(self, rel: str) -> str:
        return self.doc_params.setdefault(rel, f"ncpdoc{len(self.doc_params)}")

    def _xp(self, expr: str) -> str:
        """Rewrite ``doc('x')``/``document('x')`` literals to a global parameter reference.

        The parameter defaults to the very same ``doc('x')``, so the meaning is unchanged; but a
        caller running many documents can pass the parsed value sets once instead of having Saxon
        re-read megabytes of XML on every run (Saxon's document pool lives per transformation).
        """
        # Value-set membership as a key look-up instead of a scan of the whole value set:
        # ``x = doc(v)//valueSet[1]/conceptList/concept/concat(...)`` compares x with every
        # concept (thousands for ICD-10) on every candidate node; ``exists(key(...))`` answers
        # the same question from an index Saxon builds once per document.
        expr = _CONCEPT_MEMBER.sub(
            lambda m: f"exists(key('ncp-vs-concept', concat(@code, @codeSystem), "
                      f"${self._doc_param(m.group(1))}))", expr)
        expr = _CODE_MEMBER.sub(
            lambda m: f"exists(key('ncp-vs-code', @code, ${self._doc_param(m.group(1))}))",
            expr)
        return _DOC_LITERAL.sub(lambda m: f"${self._doc_param(m.group(2))}", expr)

    def stylesheet(self) -> etree._Element:
        nsmap = {"xsl": XSL, "svrl": SVRL, "xs": XS, "ncpf": FN_NS}
        for prefix, uri in self.ns.items():
            if prefix and prefix not in nsmap and prefix != "xml":
                nsmap[prefix] = uri
        sheet = etree.Element(_x("stylesheet"), nsmap=nsmap)
        sheet.set("version", "3.0")
        excluded = [p for p in nsmap if p not in ("xsl", "svrl")]
        sheet.set("exclude-result-prefixes", " ".join(excluded))
        etree.SubElement(sheet, _x("output"), method="xml", indent="no", encoding="UTF-8")
        self._location_function(sheet)
        for let in self.root.findall(_s("let")):
            self._global_variable(sheet, let)
        for phase in self.root.findall(_s("phase")):
            if phase.get("id") == self.schema.phase:
                for let in phase.findall(_s("let")):
                    self._global_variable(sheet, let)
        patterns = [p for p in self.root.findall(_s("pattern"))
                    if any(r.get("abstract") != "true" for r in p.findall(_s("rule")))]
        for pattern in self.root.findall(_s("pattern")):
            for let in pattern.findall(_s("let")):
                self._global_variable(sheet, let)
        main = etree.SubElement(sheet, _x("template"), match="/")
        out = etree.SubElement(main, f"{{{SVRL}}}schematron-output")
        title = self.root.findtext(_s("title"))
        if title:
            out.set("title", _avt_literal(" ".join(title.split())))
        out.set("phase", self.schema.phase)
        for index, pattern in enumerate(patterns):
            active = etree.SubElement(out, f"{{{SVRL}}}active-pattern")
            if pattern.get("id"):
                active.set("id", pattern.get("id"))
            name = pattern.findtext(_s("title"))
            if name:
                active.set("name", _avt_literal(" ".join(name.split())))
            etree.SubElement(out, _x("apply-templates"), select="/", mode=f"M{index}")
        for index, pattern in enumerate(patterns):
            self._pattern(sheet, pattern, f"M{index}")
        # Named templates for the abstract rules actually used (added while compiling rules).
        emitted: set[str] = set()
        while len(emitted) < len(self.used_abstract):
            for rule_id, name in list(self.used_abstract.items()):
                if rule_id not in emitted:
                    emitted.add(rule_id)
                    self._abstract_rule(sheet, self.abstract_rules[rule_id], name)
        # The keys of the value-set look-ups (see _xp) and the document parameters.
        for name, match, use in (("ncp-vs-concept", "valueSet[1]/conceptList/concept",
                                  "concat(@code, @codeSystem)"),
                                 ("ncp-vs-code", "valueSet[1]/conceptList/*", "@code")):
            key = etree.Element(_x("key"), name=name, match=match, use=use)
            sheet.insert(1, key)
        for position, (rel, name) in enumerate(self.doc_params.items()):
            param = etree.Element(_x("param"), name=name, select=f"doc('{rel}')")
            param.set("as", "document-node()")
            sheet.insert(3 + position, param)
        return sheet

    def _location_function(self, sheet: etree._Element) -> None:
        """``ncpf:location($node)``: an XPath with the schema's prefixes, for messages."""
        fn = etree.SubElement(sheet, _x("function"), name="ncpf:location", **{"as": "xs:string"})
        etree.SubElement(fn, _x("param"), name="node", **{"as": "node()"})
        prefix_of = {}
        for prefix, uri in self.ns.items():
            prefix_of.setdefault(uri, prefix)
        cases = " else ".join(
            f"if (namespace-uri($e) = '{uri}') then '{prefix}:'"
            for uri, prefix in prefix_of.items()
        )
        prefix_expr = f"({cases} else if (namespace-uri($e) = '') then '' else '*:')" if cases \
            else "(if (namespace-uri($e) = '') then '' else '*:')"
        steps = (
            "string-join(for $e in $node/ancestor-or-self::* return concat('/', "
            f"{prefix_expr}, local-name($e), '[', "
            "count($e/preceding-sibling::*[node-name(.) = node-name($e)]) + 1, ']'), '')"
        )
        parent_steps = steps.replace("$node", "$node/..")
        etree.SubElement(
            fn, _x("sequence"),
            select=(f"if ($node instance of attribute()) then concat({parent_steps}"
                    ", '/@', name($node)) else if ($node instance of document-node()) then '/' "
                    f"else {steps}"),
        )

    def _global_variable(self, sheet: etree._Element, let: etree._Element) -> None:
        var = etree.SubElement(sheet, _x("variable"), name=let.get("name"))
        if let.get("value") is not None:
            var.set("select", self._xp(let.get("value")))
        else:
            for child in let:
                var.append(etree.fromstring(etree.tostring(child)))

    def _pattern(self, sheet: etree._Element, pattern: etree._Element, mode: str) -> None:
        rules = [r for r in pattern.findall(_s("rule")) if r.get("abstract") != "true"]
        # The skeleton visits attributes too; doing so only when a rule of the pattern can match
        # an attribute gives the same result and saves most of the traversal.
        visit = "@*|*" if any(_may_match_attribute(r.get("context", "")) for r in rules) else "*"
        for position, rule in enumerate(rules):
            context = rule.get("context")
            if not context:
                raise SchematronCompileError(f"rule without context in pattern {pattern.get('id')}")
            template = etree.SubElement(
                sheet, _x("template"), match=self._xp(context), mode=mode,
                priority=str(len(rules) - position + 1000),
            )
            self._rule_body(template, rule)
            etree.SubElement(template, _x("apply-templates"), select=visit, mode=mode)
        etree.SubElement(sheet, _x("template"), match="text()", priority="-1", mode=mode)
        fallback = etree.SubElement(sheet, _x("template"), match="@*|node()", priority="-2",
                                    mode=mode)
        etree.SubElement(fallback, _x("apply-templates"), select=visit, mode=mode)

    def _rule_body(self, target: etree._Element, rule: etree._Element) -> None:
        # ISO skeleton order: the rule's variables first, then assertions and extensions in
        # document order.
        for let in rule.findall(_s("let")):
            var = etree.SubElement(target, _x("variable"), name=let.get("name"))
            if let.get("value") is not None:
                var.set("select", self._xp(let.get("value")))
        for child in rule:
            if child.tag == _s("assert"):
                self._assertion(target, child, rule, failed=True)
            elif child.tag == _s("report"):
                self._assertion(target, child, rule, failed=False)
            elif child.tag == _s("extends"):
                rule_id = child.get("rule")
                if rule_id is None:
                    raise SchematronCompileError("sch:extends without @rule is not supported")
                if rule_id not in self.abstract_rules:
                    raise SchematronCompileError(f"extends unknown abstract rule {rule_id!r}")
                name = self.used_abstract.setdefault(
                    rule_id, f"ncpf:abstract-{len(self.used_abstract)}")
                etree.SubElement(target, _x("call-template"), name=name)

    def _abstract_rule(self, sheet: etree._Element, rule: etree._Element, name: str) -> None:
        template = etree.SubElement(sheet, _x("template"), name=name)
        self._rule_body(template, rule)

    def _assertion(self, target: etree._Element, node: etree._Element, rule: etree._Element,
                   *, failed: bool) -> None:
        test = node.get("test")
        if failed:
            choose = etree.SubElement(target, _x("choose"))
            etree.SubElement(choose, _x("when"), test=self._xp(test))
            holder = etree.SubElement(choose, _x("otherwise"))
            result = etree.SubElement(holder, f"{{{SVRL}}}failed-assert")
        else:
            holder = etree.SubElement(target, _x("if"), test=self._xp(test))
            result = etree.SubElement(holder, f"{{{SVRL}}}successful-report")
        result.set("test", _avt_literal(test))
        for attr in ("id", "role", "flag", "see"):
            if node.get(attr) is not None:
                result.set(attr, _avt_literal(node.get(attr)))
        if rule.get("context"):
            result.set("context", _avt_literal(rule.get("context")))
        location = etree.SubElement(result, _x("attribute"), name="location")
        etree.SubElement(location, _x("value-of"), select="ncpf:location(.)")
        text = etree.SubElement(result, f"{{{SVRL}}}text")
        self._message(text, node)
        for ref in (node.get("diagnostics") or "").split():
            diagnostic = self.diagnostics.get(ref)
            if diagnostic is None:
                raise SchematronCompileError(f"assertion refers to unknown diagnostic {ref!r}")
            holder = etree.SubElement(result, f"{{{SVRL}}}diagnostic-reference", diagnostic=ref)
            self._message(etree.SubElement(holder, f"{{{SVRL}}}text"), diagnostic)

    def _message(self, target: etree._Element, node: etree._Element) -> None:
        if node.text:
            _append_text(target, node.text)
        for child in node:
            if child.tag == _s("value-of"):
                etree.SubElement(target, _x("value-of"), select=self._xp(child.get("select")))
            elif child.tag == _s("name"):
                etree.SubElement(target, _x("value-of"),
                                 select=f"name({child.get('path') or '.'})")
            elif isinstance(child.tag, str):
                self._message(target, child)
            if child.tail:
                _append_text(target, child.tail)


def _strip_predicates(expr: str) -> str:
    """``expr`` without string literals and bracketed predicates (nesting-aware)."""
    out = []
    depth = 0
    quote = ""
    for ch in expr:
        if quote:
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _may_match_attribute(context: str) -> bool:
    """Could the rule context (an XSLT pattern) match an attribute node? Errs towards yes."""
    bare = _strip_predicates(context)
    return "@" in bare or "attribute" in bare or bare.strip() in ("", "node()")


def _append_text(target: etree._Element, text: str) -> None:
    el = etree.SubElement(target, _x("text"))
    el.text = text


def _avt_literal(value: str) -> str:
    """Escape braces so a literal string survives as an attribute value template."""
    return value.replace("{", "{{").replace("}", "}}")


@dataclass(frozen=True)
class GeneratedStylesheet:
    """The XSLT text and the document parameters it declares (name -> relative URI)."""

    xslt: bytes
    document_parameters: dict[str, str]


def generate_xslt(schema: LoadedSchema) -> GeneratedStylesheet:
    """The XSLT 3.0 stylesheet (SVRL output) for a loaded schema."""
    generator = _Generator(schema)
    sheet = generator.stylesheet()
    return GeneratedStylesheet(
        xslt=etree.tostring(sheet, xml_declaration=True, encoding="UTF-8"),
        document_parameters={name: rel for rel, name in generator.doc_params.items()},
    )
