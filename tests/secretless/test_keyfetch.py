"""Fetching outside keys: https only unless allowed, the 64 KiB cap, discovery, caching, an
unknown kid refetched at most once a minute, and cached keys kept while the issuer fails."""

from __future__ import annotations

import asyncio

import pytest

from gatehouse.secretless import keyfetch
from gatehouse.secretless.keyfetch import FetchFailed, KeyFetcher
from tests.secretless.issuer import Issuer


def test_http_is_refused_without_the_setting(issuer: Issuer) -> None:
    fetcher = KeyFetcher(allow_insecure=False)
    with pytest.raises(FetchFailed, match="only https"):
        asyncio.run(fetcher.issuer_jwks(issuer.url))
    assert issuer.requests == []


def test_a_key_set_over_64_kib_is_refused(issuer: Issuer) -> None:
    issuer.pad = keyfetch.MAX_BYTES
    fetcher = KeyFetcher(allow_insecure=True)
    with pytest.raises(FetchFailed, match="larger than 65536 bytes"):
        asyncio.run(fetcher.jwks(f"{issuer.url}/.well-known/jwks"))


def test_discovery_caching_and_refetch_limits(issuer: Issuer) -> None:
    now = [1000.0]
    fetcher = KeyFetcher(allow_insecure=True, clock=lambda: now[0])

    async def keys(kid: str | None = None) -> set[str]:
        return set(await fetcher.issuer_jwks(issuer.url, kid=kid))

    assert asyncio.run(keys()) == {"gh-1"}
    assert issuer.requests == ["/.well-known/openid-configuration", "/.well-known/jwks"]
    issuer.rotate()
    # An unknown kid within a minute of the last fetch: no new fetch.
    now[0] += 30
    assert asyncio.run(keys("gh-2")) == {"gh-1"}
    assert len(issuer.requests) == 2
    # A minute later: fetched again, the new key is there.
    now[0] += 31
    assert asyncio.run(keys("gh-2")) == {"gh-1", "gh-2"}
    assert issuer.requests[-1] == "/.well-known/jwks"
    # Stale after 10 minutes; while the issuer fails, the cached keys keep serving.
    issuer.failing = True
    now[0] += keyfetch.MAX_AGE + 1
    assert asyncio.run(keys()) == {"gh-1", "gh-2"}
