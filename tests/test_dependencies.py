"""The dependency check that runs without network (issue 14, "Also"): every declared dependency
is pinned in constraints.txt, and what is installed is exactly what is pinned.

Why not pip-audit here: it needs its vulnerability database (PyPI's JSON API or OSV), which
these machines cannot reach. This check makes the real audit meaningful instead: a deployer
runs ``pip-audit -r constraints.txt`` (docs/security.md) against the very versions the tests
ran on, because nothing outside the pins can be installed unnoticed.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin"
            pins[_name(name)] = version
    return pins


def _declared() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["dev"]]


def test_every_declared_dependency_is_pinned() -> None:
    pins = _pins()
    missing = [r for r in _declared() if _name(r) not in pins]
    assert not missing, f"pin these in constraints.txt: {missing}"


def test_installed_versions_are_the_pinned_ones() -> None:
    wrong = {}
    for name, version in _pins().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # a pin of a platform-specific extra (e.g. uvloop on Windows)
        if installed != version:
            wrong[name] = (installed, version)
    assert not wrong, f"installed != pinned: {wrong}"


def test_lxml_and_xmlsec_keep_their_pins() -> None:
    pins = _pins()
    assert pins["lxml"] == "6.1.3" and pins["xmlsec"] == "1.3.17"
