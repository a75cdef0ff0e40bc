"""Verified-token cache, revocation hook, roles and the async path."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from tests.verify.fake_issuer import AUDIENCE, FakeClock, FakeIssuer, IssuerRegistry, MakeVerifier

from gatehouse.verify import (
    InsufficientScope,
    InvalidToken,
    RevocationFeed,
    TokenVerifier,
)


def test_cache_hit_returns_equal_claims_without_reverifying(
    issuer: FakeIssuer, verifier: TokenVerifier
) -> None:
    token = issuer.token()
    first = verifier.verify(token)
    first["scope"] = "owner"  # callers get their own copy
    issuer.down = True
    verifier.keyset.keys = {}  # a cache hit needs no key at all
    assert verifier.verify(token) == issuer.claims() | {
        "jti": first["jti"],
        "iat": first["iat"],
        "nbf": first["nbf"],
        "exp": first["exp"],
    }


def test_cached_token_expires_at_exp(issuer: FakeIssuer, make_verifier: MakeVerifier) -> None:
    clock = FakeClock()
    verifier = make_verifier(clock=clock, leeway=0)
    token = issuer.token(exp=int(clock.now) + 60)
    verifier.verify(token)
    clock.advance(59)
    assert verifier.verify(token)
    clock.advance(1)
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(token)


def test_cache_is_bounded(issuer: FakeIssuer, make_verifier: MakeVerifier) -> None:
    verifier = make_verifier(cache_size=3)
    tokens = [issuer.token() for _ in range(5)]
    for token in tokens:
        verifier.verify(token)
    assert list(verifier._cache.entries) == tokens[2:]


def test_cache_is_bounded_in_bytes(issuer: FakeIssuer, make_verifier: MakeVerifier) -> None:
    tokens = [issuer.token(pad="x" * 2000) for _ in range(10)]
    budget = 3 * (2 * len(tokens[0]) + 512)
    verifier = make_verifier(cache_bytes=budget)
    for token in tokens:
        verifier.verify(token)
    assert list(verifier._cache.entries) == tokens[-3:]
    assert verifier._cache.bytes <= budget


def test_invalid_tokens_are_never_remembered(
    issuer: FakeIssuer, make_verifier: MakeVerifier
) -> None:
    verifier = make_verifier()
    good = issuer.token()
    head, payload, signature = good.split(".")
    flood = [
        f"{head}{'A' * (i % 4 * 4)}.{payload}.{signature[:-2]}{i:02d}"[:8000] for i in range(100)
    ]
    flood += [f"{'B' * 7000}{i}.{payload}.{signature}" for i in range(100)]
    flood += ["x" * 60_000 + str(i) for i in range(100)]
    for token in flood:
        with pytest.raises(InvalidToken):
            verifier.verify(token)
    assert len(verifier._cache) == 0
    assert len(verifier._headers) == 0
    verifier.verify(good)
    assert list(verifier._cache.entries) == [good]
    assert list(verifier._headers.entries) == [head]


def test_revocation_hook_is_consulted_on_cache_hits(
    issuer: FakeIssuer, make_verifier: MakeVerifier
) -> None:
    seen: list[str] = []
    revoked: set[str] = set()

    def is_revoked(claims: dict[str, Any]) -> bool:
        seen.append(claims["jti"])
        return claims["jti"] in revoked

    verifier = make_verifier(is_revoked=is_revoked)
    token = issuer.token()
    jti = verifier.verify(token)["jti"]
    verifier.verify(token)
    assert seen == [jti, jti]
    revoked.add(jti)
    with pytest.raises(InvalidToken) as info:
        verifier.verify(token)
    assert info.value.description == "the token has been revoked"


def test_revocation_feed_object_is_accepted(
    issuer: FakeIssuer, make_verifier: MakeVerifier
) -> None:
    class RevokeClient:
        def is_revoked(self, claims: Mapping[str, Any]) -> bool:
            return bool(claims["client_id"] == "client-abc")

    feed = RevokeClient()
    assert isinstance(feed, RevocationFeed)
    verifier = make_verifier(is_revoked=feed)
    with pytest.raises(InvalidToken, match="revoked"):
        verifier.verify(issuer.token())


def test_required_roles_raise_insufficient_scope(
    issuer: FakeIssuer, make_verifier: MakeVerifier
) -> None:
    assert make_verifier(required_roles=["viewer"]).verify(issuer.token())
    with pytest.raises(InsufficientScope) as info:
        make_verifier(required_roles=["viewer", "owner"]).verify(issuer.token())
    error = info.value
    assert (error.error, error.status_code, error.scope) == (
        "insufficient_scope",
        403,
        "viewer owner",
    )
    assert error.description == "the token lacks the role(s): owner"


def test_empty_scope_has_no_roles(issuer: FakeIssuer, verifier: TokenVerifier) -> None:
    claims = verifier.verify(issuer.token(scope=""))
    with pytest.raises(InsufficientScope):
        verifier.check_roles(claims, ["viewer"])


def test_async_verify_accepts_and_rejects(registry: IssuerRegistry) -> None:
    issuer = registry.new("EdDSA")

    async def main() -> None:
        verifier = TokenVerifier(issuer.issuer, AUDIENCE)
        claims = issuer.claims()
        token = issuer.token(**claims)
        assert await verifier.averify(token) == claims
        assert await verifier.averify(token) == claims
        with pytest.raises(InvalidToken, match="audience"):
            await verifier.averify(issuer.token(aud="https://other.test"))

    asyncio.run(main())
    assert (issuer.metadata_hits, issuer.jwks_hits) == (1, 1)


def test_async_concurrent_tasks_fetch_the_key_set_once(issuer: FakeIssuer) -> None:
    issuer.jwks_delay = 0.2

    async def main() -> list[dict[str, Any]]:
        verifier = TokenVerifier(issuer.issuer, AUDIENCE)
        return await asyncio.gather(*(verifier.averify(issuer.token()) for _ in range(20)))

    assert len(asyncio.run(main())) == 20
    assert (issuer.metadata_hits, issuer.jwks_hits) == (1, 1)


def test_async_unknown_kid_refetches(issuer: FakeIssuer, make_verifier: MakeVerifier) -> None:
    clock = FakeClock(0.0)
    verifier = make_verifier(monotonic=clock)

    async def main() -> None:
        await verifier.averify(issuer.token())
        from tests.verify.fake_issuer import make_key

        issuer.keys.append(make_key("ES256"))
        clock.advance(10)
        assert await verifier.averify(issuer.token(issuer.keys[1]))

    asyncio.run(main())
    assert issuer.jwks_hits == 2
