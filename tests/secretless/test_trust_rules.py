"""Subject and claim patterns of federated credentials: ``*`` stops at ':' and '/', ``**``
matches anything, dotted claim names reach nested claims, numbers compare as decimals."""

from __future__ import annotations

from typing import Any

import pytest

from gatehouse.oauth.assertions import AssertionRejected
from gatehouse.oauth.trust_rules import TrustRules, check_rules, pattern_matches, pins_nothing


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("repo:acme/api:ref:refs/heads/main", "repo:acme/api:ref:refs/heads/main", True),
        ("repo:acme/*:ref:refs/heads/main", "repo:acme/api:ref:refs/heads/main", True),
        ("repo:acme/*:ref:refs/heads/main", "repo:acme/api/x:ref:refs/heads/main", False),
        ("repo:acme/*:*", "repo:acme/api:ref:refs/heads/main", False),
        ("repo:acme/*:**", "repo:acme/api:ref:refs/heads/main", True),
        ("repo:acme/**", "repo:acme/api:environment:prod", True),
        ("repo:acme/*", "repo:acme-evil/api", False),
        ("system:serviceaccount:payments:*", "system:serviceaccount:payments:worker", True),
        ("a.b", "aXb", False),  # no regular-expression meaning leaks in
        ("(x)+", "(x)+", True),
        ("**", "", True),
    ],
)
def test_patterns(pattern: str, value: str, expected: bool) -> None:
    assert pattern_matches(pattern, value) is expected


def test_nested_and_dotted_claims_numbers_and_booleans() -> None:
    claims: dict[str, Any] = {
        "sub": "system:serviceaccount:payments:worker",
        "kubernetes.io": {"namespace": "payments", "serviceaccount": {"name": "worker"}},
        "repository_owner_id": 4242,
        "runner_environment.os": "linux",
        "ephemeral": True,
    }
    rules = TrustRules(
        "system:serviceaccount:*:worker",
        {
            "kubernetes.io.namespace": "payments",
            "kubernetes.io.serviceaccount.name": "work*",
            "repository_owner_id": "4242",
            "runner_environment.os": "linux",
            "ephemeral": "true",
        },
    )
    check_rules(claims, rules)
    with pytest.raises(AssertionRejected) as missing:
        check_rules(claims, TrustRules("**", {"kubernetes.io.pod.name": "*"}))
    assert (missing.value.check, missing.value.claim) == ("claim", "kubernetes.io.pod.name")
    with pytest.raises(AssertionRejected) as nested:
        check_rules(claims, TrustRules("**", {"kubernetes.io": "*"}))  # an object is no text
    assert nested.value.check == "claim"
    with pytest.raises(AssertionRejected) as subject:
        check_rules(claims, TrustRules("system:serviceaccount:billing:*", {}))
    assert subject.value.check == "subject"


def test_what_pins_nothing() -> None:
    assert pins_nothing("**", {})
    assert pins_nothing("***", {})
    assert not pins_nothing("*", {})  # one segment: still narrows
    assert not pins_nothing("**", {"repository_owner_id": "4242"})
    assert not pins_nothing("repo:acme/**", {})


def test_a_hostile_pattern_runs_in_linear_time() -> None:
    # RE2: no catastrophic backtracking, whatever the pattern and the value.
    assert not pattern_matches("**a**a**a**a**a**a**a**a**b", "a" * 5000)
