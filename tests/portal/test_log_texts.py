"""Every form the store writes in the access log's ``what`` is translated in the portal.

The forms are read from the store's own source (the calls that write a log row, and the
variables they pass), so a new log line with a new wording fails here until
:data:`ncp.portal.logtext.FORMS` lists it and the catalogue says it in fr, de and en; a form
listed but no longer written fails too (its translation would be stale).
"""

from __future__ import annotations

import ast
import itertools
import json
from pathlib import Path

import pytest

from ncp.portal.logtext import FORMS, SYSTEM_ACTORS, describe_actor, describe_detail, describe_what
from ncp.portal.web import translator

ROOT = Path(__file__).resolve().parents[2]
#: Where the access log is written from: the store, and the assistant changes of auth.
SOURCES = [*sorted((ROOT / "ncp" / "store").rglob("*.py")), ROOT / "ncp" / "auth" / "service.py"]
#: Which argument of which call is the ``what`` of a log row (method calls and plain calls
#: are told apart: ``population._log(patient_id, what, ...)`` is a function).
WHAT_ARGUMENT = {("method", "_log"): 4, ("method", "_log_row"): 3, ("function", "_log"): 1,
                 ("function", "_system"): 1, ("method", "note_policy_change"): 2,
                 ("method", "_refuse"): 3, ("method", "_change_document"): 2}
#: A ``{}`` alone is a value passed through: a document title, or a parameter whose callers
#: are read too (``_change_document(..., "mask")``).
PASSED_THROUGH = "{}"


def _skeletons(node: ast.AST, names: dict[str, list[ast.AST]], depth: int = 0) -> set[str]:
    """The texts an expression can be, each formatted value written ``{}``."""
    if depth > 6:
        return {PASSED_THROUGH}
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.JoinedStr):
        parts = [_skeletons(v, names, depth + 1) for v in node.values]
        return {"".join(p) for p in itertools.product(*parts)}
    if isinstance(node, ast.FormattedValue):
        inner = _skeletons(node.value, names, depth + 1)
        return inner
    if isinstance(node, ast.IfExp):
        return _skeletons(node.body, names, depth + 1) | _skeletons(node.orelse, names, depth + 1)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return {a + b for a in _skeletons(node.left, names, depth + 1)
                for b in _skeletons(node.right, names, depth + 1)}
    if isinstance(node, ast.Subscript):  # what[:300]
        return _skeletons(node.value, names, depth + 1)
    if isinstance(node, ast.Name) and names.get(node.id):
        return set().union(*(_skeletons(v, {**names, node.id: []}, depth + 1)
                             for v in names[node.id]))
    return {PASSED_THROUGH}


def _assignments(function: ast.AST) -> dict[str, list[ast.AST]]:
    """Name -> the expressions assigned to it in one function (tuple targets included)."""
    out: dict[str, list[ast.AST]] = {}
    for node in ast.walk(function):
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name):
                out.setdefault(target.id, []).append(node.value)
            elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                for name, value in zip(target.elts, node.value.elts, strict=False):
                    if isinstance(name, ast.Name):
                        out.setdefault(name.id, []).append(value)
    return out


def _returned_texts(tree: ast.AST) -> dict[str, set[str]]:
    """Function name -> the f-strings it returns as the last element of a tuple (the services
    feed returns ``(row, what)``)."""
    out: dict[str, set[str]] = {}
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and \
                    isinstance(node.value.elts[-1], ast.JoinedStr):
                out.setdefault(function.name, set()).update(
                    _skeletons(node.value.elts[-1], {}))
    return out


def written_forms() -> set[str]:
    """Every ``what`` skeleton the sources can write."""
    found: set[str] = set()
    for path in SOURCES:
        tree = ast.parse(path.read_text("utf-8"))
        returned = _returned_texts(tree)
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            names = _assignments(function)
            for node in ast.walk(function):
                if isinstance(node, ast.Call):
                    kind = "method" if isinstance(node.func, ast.Attribute) else "function"
                    name = node.func.attr if isinstance(node.func, ast.Attribute) else \
                        getattr(node.func, "id", "")
                    index = WHAT_ARGUMENT.get((kind, name))
                    if index is not None and len(node.args) > index:
                        found |= _skeletons(node.args[index], names)
                if isinstance(node, ast.Dict):  # rows built by hand: {"what": ...}
                    for key, value in zip(node.keys, node.values, strict=True):
                        if isinstance(key, ast.Constant) and key.value == "what":
                            found |= _skeletons(value, names)
            # (row, what) = self._version(...): the texts that function returns
            for node in ast.walk(function):
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
                    for target in node.targets:
                        if isinstance(target, ast.Tuple) and any(
                                isinstance(e, ast.Name) and e.id == "what" for e in target.elts):
                            for value in names.get(node.value.id, []):
                                if isinstance(value, ast.Call) and \
                                        isinstance(value.func, ast.Attribute):
                                    found |= returned.get(value.func.attr, set())
    return found


def test_the_source_reader_finds_the_known_forms() -> None:
    """The reader itself works: it finds forms of each kind (literal, f-string, variable,
    conditional, function argument, returned tuple)."""
    found = written_forms()
    for expected in ("patient identity", "consent given: {}", "documents of type {}",
                     "revoke {}: {}", "therapeutic relationship {} ended by the patient",
                     "mask", "identity updated: {}", "summary of services: {} new, {} corrected",
                     "assistant named ({}): {}", "merged into the DSP of matricule {}"):
        assert expected in found, expected


def test_every_written_form_is_translated_and_every_listed_form_is_written() -> None:
    written = written_forms() - {PASSED_THROUGH}

    def covers(form: object, text: str) -> bool:  # same skeleton, or a literal it matches
        return form.skeleton == text or form.pattern.fullmatch(text) is not None  # type: ignore[attr-defined]

    missing = sorted(w for w in written if not any(covers(f, w) for f in FORMS))
    stale = sorted(f.stored for f in FORMS if not any(covers(f, w) for w in written))
    assert not missing, f"written but not in logtext.FORMS: {missing}"
    assert not stale, f"in logtext.FORMS but never written: {stale}"


def test_every_form_key_exists_in_the_three_languages() -> None:
    folder = ROOT / "ncp" / "portal" / "messages"
    for lang in ("en", "fr", "de"):
        messages = json.loads((folder / f"{lang}.json").read_text("utf-8"))
        for form in (*FORMS, *SYSTEM_ACTORS):
            for key in form.message_keys():
                assert key in messages, (lang, key)


@pytest.mark.parametrize(("stored", "lang", "shown"), [
    ("patient identity", "fr", "votre identité (recherche de patient)"),
    ("consent given: eprescription", "de",
     "Einwilligung zur Weitergabe ins Ausland erteilt: ePrescription"),
    ("DSP closed", "fr", "DSP fermé"),
    ("DSP open", "de", "DSP wieder geöffnet"),
    ("emergency access declared", "de", "Notfallzugriff erklärt"),
    ("revoke block: Dr Luc Hoffmann", "fr", "Dr Luc Hoffmann débloqué(e)"),
    ("block: Dr Luc Hoffmann", "en", "Dr Luc Hoffmann blocked"),
    ("documents of type laboratory-report", "fr",
     "vos documents de type « Résultats de laboratoire »"),
    ("identity updated: city, death_date", "de", "Identität aktualisiert: Ort, Sterbedatum"),
    ("therapeutic relationship admission ended (discharge)", "fr",
     "relation thérapeutique terminée à la sortie (séjour hospitalier)"),
    ("Résumé patient — Jean Schmit", "de", "Résumé patient — Jean Schmit"),  # a title
])
def test_stored_forms_are_shown_in_the_reader_s_language(stored: str, lang: str,
                                                        shown: str) -> None:
    t = translator(lang)
    assert describe_what(stored, t) == shown.replace("ePrescription", t("service.eprescription"))


def test_system_actors_and_emergency_reasons_are_translated() -> None:
    t = translator("de")
    assert describe_actor("social-security register", t) == "Register der Sozialversicherung"
    assert describe_actor("operator ops-1", t) == "Betreiber ops-1"
    assert describe_actor("Julie Dubois", t) == "Julie Dubois"
    assert describe_detail("unconscious: found in the street", t) == \
        t("pro.btg_code.unconscious") + ": found in the street"
