"""The access log's rows in the reader's language: what was accessed, by which system actor.

The record service writes *what* an access concerned as a stable English form ("patient
identity", "consent given: eprescription", "DSP closed"): it is evidence, sealed in the
log's hash chain and returned as written by the API, so it is never rewritten. The portal
translates it when it shows it: every form the store writes is listed here once, as the form
itself with named placeholders, beside the message key that says it in fr, de and en
(``what.*`` in the catalogue). A row that matches no form is a document's title (the author's
words, shown as written).

Why forms and not keys in the database: old rows keep their meaning without a migration, the
store (being split by aggregate) keeps its own wording, and a test
(``tests/portal/test_log_texts.py``) reads the store's source and fails when it writes a form
that is not listed here, or when a form listed here is no longer written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

from ncp.store.policy import DELEGATIONS
from ncp.store.vocabulary import (
    AccessRuleKind,
    Confidentiality,
    CrossBorderService,
    DocumentType,
    DspState,
    EmergencyReason,
    RelationshipSource,
)

__all__ = ["FORMS", "Form", "describe_actor", "describe_detail", "describe_what"]

Translate = Callable[..., str]

#: Identity fields the population feed names in "identity updated: ..." (``field.*`` keys).
IDENTITY_FIELDS = ("given_name", "family_name", "gender", "street", "postal_code", "city",
                   "country", "death_date")

#: Placeholders whose value comes from a vocabulary: (allowed values, how a value is shown).
#: ``None`` as the key prefix: the value picks the message key itself (``what.rule.{rule}``).
_VOCABULARIES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "type": (tuple(d.value for d in DocumentType), "type."),
    "service": (tuple(s.value for s in CrossBorderService), "service."),
    "source": (tuple(s.value for s in RelationshipSource), "source."),
    "conf": (tuple(c.value for c in Confidentiality), "conf."),
    "delegation": (DELEGATIONS, "delegation."),
    "state": (tuple(s.value for s in DspState), None),
    "rule": (tuple(r.value for r in AccessRuleKind), None),
}


@dataclass(frozen=True)
class Form:
    """One stored form (as the store writes it, placeholders named) and its message key."""

    stored: str
    key: str

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(re.findall(r"\{(\w+)\}", self.stored))

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        out, last = [], 0
        for match in re.finditer(r"\{(\w+)\}", self.stored):
            out.append(re.escape(self.stored[last:match.start()]))
            name = match.group(1)
            values = _VOCABULARIES.get(name, ((), None))[0]
            choice = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
            out.append(f"(?P<{name}>{choice})" if values else f"(?P<{name}>.+?)")
            last = match.end()
        out.append(re.escape(self.stored[last:]))
        return re.compile("".join(out), re.DOTALL)

    @property
    def skeleton(self) -> str:
        """The form with every placeholder as ``{}`` (what the source test compares)."""
        return re.sub(r"\{\w+\}", "{}", self.stored)

    def message_keys(self) -> Iterable[str]:
        """Every message key this form can use (one per value of a key-picking vocabulary)."""
        pickers = [n for n in self.names if n in _VOCABULARIES and _VOCABULARIES[n][1] is None]
        if not pickers:
            yield self.key
            return
        [name] = pickers
        for value in _VOCABULARIES[name][0]:
            yield self.key.format(**{name: value})


#: Every form the record service writes in ``what``, most specific first.
FORMS: tuple[Form, ...] = (
    # searches and reads
    Form("patient identity", "what.identity"),
    Form("patient {matricule}", "what.patient"),
    Form("documents", "what.documents"),
    Form("documents of type {type}", "what.documents_of_type"),
    Form("document versions", "what.versions"),
    Form("document {uid}", "what.document"),
    Form("access rules", "what.rules"),
    Form("my patients", "what.my_patients"),
    Form("therapeutic relationships", "what.relationships"),
    # the patient's choices
    Form("mask", "what.mask"),
    Form("unmask", "what.unmask"),
    Form("confidentiality {conf}", "what.confidentiality"),
    Form("revoke {rule}: {name}", "what.rule.revoke-{rule}"),
    Form("{rule}: {name}", "what.rule.{rule}"),
    Form("consent given: {service}", "what.consent_given"),
    Form("consent withdrawn: {service}", "what.consent_withdrawn"),
    Form("DSP {state}", "what.dsp.{state}"),
    Form("assistant named ({delegation}): {name}", "what.assistant_named"),
    Form("assistant revoked: {name}", "what.assistant_revoked"),
    Form("removed: {title}", "what.removed"),
    # professionals
    Form("emergency access declared", "what.emergency"),
    Form("therapeutic relationship declared: {source}", "what.relationship_declared"),
    Form("therapeutic relationship ended", "what.relationship_ended"),
    Form("therapeutic relationship {source} ended (discharge)", "what.relationship_discharge"),
    Form("therapeutic relationship {source} ended by the patient",
         "what.relationship_ended_by_patient"),
    Form("DSP opened at a visit (provisional identifier {number})", "what.visit_opened"),
    Form("eDispensation discard", "what.discard"),
    Form("eDispensation discarded", "what.discarded"),
    # national systems
    Form("DSP opened (register)", "what.register_opened"),
    Form("identity updated: {fields}", "what.identity_updated"),
    Form("summary of services: {new} new, {corrected} corrected", "what.services"),
    Form("referring doctor declared: {doctor} from {start} to {end}",
         "what.referring_declared_until"),
    Form("referring doctor declared: {doctor} from {start}", "what.referring_declared"),
    Form("referring-doctor declaration changed: {doctor} from {start} to {end}",
         "what.referring_changed_until"),
    Form("referring-doctor declaration changed: {doctor} from {start}", "what.referring_changed"),
    Form("provisional record {number} merged into this DSP", "what.merged_in"),
    Form("merged into the DSP of matricule {matricule}", "what.merged_out"),
    Form("identified by matricule {matricule} (was provisional {number})", "what.identified"),
    Form("activation letter issued (valid until {until})", "what.letter_issued"),
    Form("DSP activated with the activation letter", "what.activated_by_letter"),
    Form("DSP activated ({how})", "what.activated_other"),
)

#: System actors the store names (``actor_name`` of a ``system`` row), by message key.
SYSTEM_ACTORS: tuple[Form, ...] = (
    Form("social-security register", "actor.register"),
    Form("health insurer (CNS)", "actor.insurer"),
    Form("operator {login}", "actor.operator"),
    Form("activation letters", "actor.letters"),
)


def _shown(name: str, value: str, t: Translate) -> str:
    if name == "fields":
        return ", ".join(t(f"field.{f}") if f in IDENTITY_FIELDS else f
                         for f in value.split(", "))
    prefix = _VOCABULARIES.get(name, ((), None))[1]
    return t(prefix + value) if prefix else value


def _match(forms: Iterable[Form], text: str, t: Translate) -> str | None:
    for form in forms:
        found = form.pattern.fullmatch(text)
        if found is None:
            continue
        raw = found.groupdict()
        key = form.key.format(**{n: v for n, v in raw.items() if n in _VOCABULARIES})
        return t(key, **{n: _shown(n, v, t) for n, v in raw.items()
                         if not (n in _VOCABULARIES and _VOCABULARIES[n][1] is None)})
    return None


def describe_what(what: str, t: Translate) -> str:
    """What an access concerned, in the reader's language (a document title as written)."""
    text = (what or "").strip()
    return _match(FORMS, text, t) or text


def describe_actor(name: str | None, t: Translate) -> str | None:
    """A system actor's name in the reader's language; a person's name as written."""
    if not name:
        return name
    return _match(SYSTEM_ACTORS, name.strip(), t) or name


def describe_detail(detail: str | None, t: Translate) -> str:
    """An emergency declaration's reason (``code: free text``) with the code in words."""
    text = detail or ""
    code, sep, rest = text.partition(": ")
    if sep and code in {r.value for r in EmergencyReason}:
        return f"{t('pro.btg_code.' + code)}: {rest}" if rest else t("pro.btg_code." + code)
    return text
