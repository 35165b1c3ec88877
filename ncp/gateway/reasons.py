"""The rules behind the gateway's refusal checks, in words, for ``ncp explain ERROR-ID``; and
which check a refusal is stored under.

The rules are data (``reasons.toml``, one table per check: family, where the rule is written,
a sentence in French, German and English), so that adding a check is adding an entry and a
translator edits text, not code. The same entries say which refusals they explain: a security
check by its token (:attr:`ncp.security.errors.SecurityError.reason`), any other refusal by
its exception class or, for a plain :class:`~ncp.errors.NcpError`, by its eHDSI code; the
record store's access-policy refusals are refined by the policy's reason (a closed DSP and a
masked document are answered to the peer as "no consent" and "unknown document" on purpose,
but the operator must see which it was).

Why the table is also the registry: a refusal stored under a check that has no rule could not
be explained, so :func:`check_of` only ever returns a check of :data:`RULES`, and the tests
enumerate every check the code can raise (tests/gateway/test_explain_refusals.py).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from ncp.errors import ErrorCode, NcpError
from ncp.security.errors import SecurityError

__all__ = ["RULES", "Rule", "check_of", "rule_for"]

#: Faces that only re-word a refusal found deeper (the XCPD "cannot be echoed" fault, the SOAP
#: envelope fault of hostile XML, a plain NcpError carrying a policy refusal's code): when
#: raised while handling that refusal, the refusal is stored under the deeper check.
_FACES = frozenset({"NcpError", "MalformedRequestFault", "EnvelopeError"})
#: Checks whose detail names an access-policy reason (``not shared: <reason>``).
_POLICY_BEARING = frozenset({"access-policy", "unknown-document"})


@dataclass(frozen=True, slots=True)
class Rule:
    check: str
    family: str
    #: Where the rule is written: specification and section.
    spec: str
    fr: str
    de: str
    en: str

    def text(self, lang: str) -> str:
        return {"fr": self.fr, "de": self.de}.get(lang, self.en)


def _load() -> tuple[dict[str, Rule], dict[str, str], dict[str, str], tuple[tuple[str, str], ...]]:
    data = tomllib.loads((Path(__file__).with_name("reasons.toml")).read_text("utf-8"))
    rules: dict[str, Rule] = {}
    by_class: dict[str, str] = {}
    by_code: dict[str, str] = {}
    policy: list[tuple[str, str]] = []
    for check, entry in data.items():
        rules[check] = Rule(check, entry["family"], entry["source"], entry["fr"], entry["de"],
                            entry["en"])
        for name, into in (("errors", by_class), ("codes", by_code)):
            for key in entry.get(name, ()):
                if key in into:
                    raise ValueError(f"reasons.toml: {key} is claimed by {into[key]} and {check}")
                into[key] = check
        policy.extend((prefix, check) for prefix in entry.get("policy", ()))
    unknown = set(by_code) - set(ErrorCode.__members__)
    if unknown:
        raise ValueError(f"reasons.toml names codes ErrorCode lacks: {sorted(unknown)}")
    # The longest prefix first: "very restricted" before "restricted".
    return rules, by_class, by_code, tuple(sorted(policy, key=lambda p: -len(p[0])))


RULES, ERROR_CHECKS, CODE_CHECKS, POLICY_CHECKS = _load()


def rule_for(check: str) -> Rule | None:
    return RULES.get(check)


def _policy_check(detail: str) -> str | None:
    reason = detail.removeprefix("not shared: ")
    return next((check for prefix, check in POLICY_CHECKS if reason.startswith(prefix)), None)


def _own_check(error: BaseException) -> str | None:
    """The check ``error`` itself names, without looking at what it was raised from."""
    if isinstance(error, SecurityError):
        return error.reason
    explicit = getattr(error, "check", "")
    if explicit:
        return str(explicit)
    for cls in type(error).__mro__:
        if cls.__name__ in ERROR_CHECKS:
            return ERROR_CHECKS[cls.__name__]
    if isinstance(error, NcpError):
        return CODE_CHECKS.get(error.error.name)
    return None


def check_of(error: NcpError) -> tuple[str, BaseException]:
    """The check a refusal is stored under, and the error whose detail and location explain
    it (``error`` itself, or the refusal it re-words). Never a check without a rule: an error
    the table does not know is stored as ``internal-error`` with its class in the detail
    (and the test suite fails on it)."""
    source: BaseException = error
    cause = error.__context__
    if type(error).__name__ in _FACES and cause is not None and _own_check(cause) is not None:
        source = cause
    check = _own_check(source)
    detail = str(getattr(source, "detail", "") or "")
    if check in _POLICY_BEARING:
        check = _policy_check(detail) or check
    if check is None or check not in RULES:
        return "internal-error", source
    return check, source
