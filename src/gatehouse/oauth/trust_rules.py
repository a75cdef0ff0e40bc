"""The rules of a federated credential (workload identity federation, docs/secretless.md): the
subject pattern and the claim patterns an outside token's verified claims must match.

A pattern is exact text, where ``*`` matches any run of characters other than ``:`` and ``/``
and ``**`` matches anything. Patterns run on RE2 (linear time, whatever the pattern). A claim
name is looked up whole first, then split at dots taking the longest existing key first, so
``kubernetes.io.namespace`` reaches ``claims["kubernetes.io"]["namespace"]``; numbers compare by
their decimal form.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import re2  # type: ignore[import-untyped]

from gatehouse.oauth.assertions import AssertionRejected

_MISSING = object()
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.max_mem = 1 << 20


@dataclass(frozen=True, slots=True)
class TrustRules:
    """What an outside token must carry beyond a valid signature, issuer and audience."""

    subject: str
    claims: Mapping[str, str]


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str) -> Any:
    parts: list[str] = []
    for index, piece in enumerate(pattern.split("**")):
        if index:
            parts.append(".*")
        parts.append("[^:/]*".join(re.escape(chunk) for chunk in piece.split("*")))
    return re2.compile("".join(parts), _RE2_OPTIONS)


def pattern_matches(pattern: str, value: str) -> bool:
    """Whether ``value`` matches ``pattern`` whole."""
    if "*" not in pattern:
        return pattern == value
    return _compiled(pattern).fullmatch(value) is not None


def pins_nothing(subject: str, claims: Mapping[str, str]) -> bool:
    """A subject that matches anything and no claims: it trusts every token of the issuer."""
    return not claims and subject.replace("*", "") == "" and "**" in subject


def lookup_claim(claims: Mapping[str, Any], name: str) -> Any:
    """The claim ``name``: whole first, then split at dots, the longest existing key first."""
    if name in claims:
        return claims[name]
    for cut in range(len(name) - 1, 0, -1):
        if name[cut] != ".":
            continue
        head = name[:cut]
        inner = claims.get(head, _MISSING)
        if isinstance(inner, Mapping):
            found = lookup_claim(inner, name[cut + 1 :])
            if found is not _MISSING:
                return found
    return _MISSING


def claim_text(value: Any) -> str | None:
    """A claim value as the text patterns compare with; None when it is not a scalar."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def check_rules(claims: Mapping[str, Any], rules: TrustRules) -> None:
    """Raise :class:`AssertionRejected` (``subject`` or ``claim``) unless every rule holds."""
    subject = claims.get("sub")
    if not isinstance(subject, str):
        raise AssertionRejected("subject", "the token has no sub")
    if not pattern_matches(rules.subject, subject):
        raise AssertionRejected("subject", f"sub {subject!r} does not match {rules.subject!r}")
    for name, pattern in rules.claims.items():
        value = lookup_claim(claims, name)
        if value is _MISSING:
            raise AssertionRejected("claim", f"the token has no claim {name}", claim=name)
        text = claim_text(value)
        if text is None or not pattern_matches(pattern, text):
            raise AssertionRejected(
                "claim", f"claim {name} = {value!r} does not match {pattern!r}", claim=name
            )
