"""The Patient Information Notice: what a patient is told before consenting to the
cross-border exchange of their data (issue 17 item 8), in French, German and English.

The notices are text files of the package, one folder per version
(``ncp/consent/notices/v<N>/<lang>.txt``): a ``#`` title line, ``##`` section headings and
paragraphs. A new version is a new folder (never an edit of an old one: the version a patient
acknowledged must still say what they read); the highest number is the current notice. Every
version exists in the three languages (a test checks it).

What a new version means for a consent already given (decided here, documented in
docs/portal.md): the consent stays in force, so nobody loses cross-border care overnight, but
the portal shows the new notice and asks for its acknowledgement before that consent can be
given again, renewed or changed; withdrawing never waits for anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

LANGUAGES = ("fr", "de", "en")


@dataclass(frozen=True, slots=True)
class Section:
    heading: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Notice:
    version: str
    language: str
    title: str
    sections: tuple[Section, ...]


def _folder():  # type: ignore[no-untyped-def]
    return resources.files("ncp.consent").joinpath("notices")


@lru_cache(maxsize=1)
def versions() -> tuple[str, ...]:
    """Every version, oldest first (``v1``, ``v2``, ... ordered by number)."""
    names = [p.name for p in _folder().iterdir() if p.is_dir() and p.name[1:].isdigit()
             and p.name.startswith("v")]
    return tuple(sorted(names, key=lambda n: int(n[1:])))


def current_version() -> str:
    return versions()[-1]


@lru_cache(maxsize=32)
def notice(version: str, language: str) -> Notice:
    """One version in one language (an unknown language falls back to French, the
    portal's default); raises KeyError for a version that does not exist."""
    if version not in versions():
        raise KeyError(version)
    lang = language if language in LANGUAGES else "fr"
    text = _folder().joinpath(version, f"{lang}.txt").read_text("utf-8")
    return parse(text, version, lang)


def parse(text: str, version: str, language: str) -> Notice:
    title = ""
    sections: list[Section] = []
    heading, paragraphs = "", []  # type: ignore[var-annotated]
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("## "):
            if heading or paragraphs:
                sections.append(Section(heading, tuple(paragraphs)))
            heading, paragraphs = line[3:], []
        elif line.startswith("# "):
            title = line[2:]
        elif line:
            paragraphs.append(line)
    if heading or paragraphs:
        sections.append(Section(heading, tuple(paragraphs)))
    if not title or not sections:
        raise ValueError(f"notice {version}/{language} has no title or no section")
    return Notice(version, language, title, tuple(sections))
