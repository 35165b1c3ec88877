"""The message catalogues: the three languages say the same things, and every key a template
or the code uses exists (a missing key would show its name to a patient).

The catalogue is one (``ncp.portal.web.catalogue``) made of the files of the packages in
``MESSAGE_PACKAGES``; a key lives in one file only, so no page can get another's wording.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

from ncp.portal import web
from ncp.store.vocabulary import (
    AccessAction,
    AccessContext,
    AccessRuleKind,
    ActorKind,
    Confidentiality,
    CrossBorderService,
    DocumentType,
    Outcome,
    Profession,
    RelationshipSource,
)

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "ncp" / "portal"
FOLDERS = [ROOT / Path(*package.split(".")) / "messages" for package in web.MESSAGE_PACKAGES]
#: Where keys are used: the portal's and the cross-border pages' templates and code, and the
#: services that name a page's message when they refuse (``key="..."``).
USERS = [ROOT / "ncp" / "portal", ROOT / "ncp" / "crossborder", ROOT / "ncp" / "store",
         ROOT / "ncp" / "auth"]
USES = [
    (r'(?<![\w.])t\("([a-z_.-]+[a-z])"', "{}"),   # t("nav.log") in templates and code
    (r"(?<![\w.])t\('([a-z_.-]+[a-z])'", "{}"),
    # form errors and a service's refusal for a page: whatever the literal, it must be a key
    # (an English sentence there would be shown as such in every language)
    (r'BadForm\("([^"]+)"', "{}"),
    (r'\bkey="([^"{]+)"', "{}"),                     # InvalidInput(..., key="xb.form.packages")
    (r'UploadRejected\("([a-z-]+)"', "error.upload.{}"),
    (r'AuthError\("([a-z-]+)"', "error.auth.{}"),
    (r'redirect\([^)]*done="([a-z_]+)"', "done.{}"),
]


def load(lang: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for folder in FOLDERS:
        merged.update(json.loads((folder / f"{lang}.json").read_text("utf-8")))
    return merged


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def used_keys() -> set[str]:
    used: set[str] = set()
    for folder in USERS:
        for path in [*folder.rglob("*.html"), *folder.rglob("*.py")]:
            text = path.read_text("utf-8")
            for pattern, form in USES:
                used |= {form.format(k) for k in re.findall(pattern, text)}
            # a conditional key: key="a" if ... else "b"
            used |= set(re.findall(r'\bkey="[a-z_.-]+" if .*? else "([a-z_.-]+[a-z])"', text))
    return used


def test_a_key_is_defined_in_one_catalogue_file_only() -> None:
    seen: dict[str, Path] = {}
    for folder in FOLDERS:
        for key in json.loads((folder / "en.json").read_text("utf-8")):
            assert key not in seen, (key, seen.get(key), folder)
            seen[key] = folder


def test_the_reader_of_the_code_finds_keys_of_each_kind() -> None:
    used = used_keys()
    for expected in ("nav.log", "form.matricule", "xb.form.packages", "xb.form.one_package",
                     "error.upload.too-large", "error.auth.locked", "done.saved"):
        assert expected in used, expected


def test_languages_have_the_same_keys_and_placeholders() -> None:
    en, fr, de = load("en"), load("fr"), load("de")
    assert set(en) == set(fr) == set(de), sorted(set(en) ^ set(fr) | set(en) ^ set(de))
    for key in en:
        assert fields(en[key]) == fields(fr[key]) == fields(de[key]), key
        assert fr[key].strip() and de[key].strip(), key


def test_every_key_used_by_a_template_or_page_exists() -> None:
    en = load("en")
    used = used_keys()
    assert used and not used - set(en), sorted(used - set(en))
    prefixed = {
        "type.": DocumentType, "conf.": Confidentiality, "service.": CrossBorderService,
        "rule.": AccessRuleKind, "profession.": Profession, "source.": RelationshipSource,
        "actor.": ActorKind, "context.": AccessContext, "action.": AccessAction,
        "outcome.": Outcome,
    }
    for prefix, vocabulary in prefixed.items():
        for member in vocabulary:  # type: ignore[attr-defined]
            assert prefix + member.value in en, prefix + member.value
