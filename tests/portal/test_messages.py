"""The message catalogues: the three languages say the same things, and every key a template
uses exists (a missing key would show its name to a patient)."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

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

PORTAL = Path(__file__).resolve().parents[2] / "ncp" / "portal"


def load(lang: str) -> dict[str, str]:
    return json.loads((PORTAL / "messages" / f"{lang}.json").read_text("utf-8"))


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_languages_have_the_same_keys_and_placeholders() -> None:
    en, fr, de = load("en"), load("fr"), load("de")
    assert set(en) == set(fr) == set(de)
    for key in en:
        assert fields(en[key]) == fields(fr[key]) == fields(de[key]), key
        assert fr[key].strip() and de[key].strip(), key


def test_every_key_used_by_a_template_or_page_exists() -> None:
    en = load("en")
    used = set()
    for path in list((PORTAL / "templates").rglob("*.html")) + list(PORTAL.glob("*.py")):
        used |= set(re.findall(r'(?<![\w.])t\("([a-z_.-]+[a-z])"', path.read_text("utf-8")))
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
