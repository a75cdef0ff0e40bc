"""Key discovery and the JWKS cache (RFC 8414 §3, RFC 7517 §5, rate-limited refetch)."""

from __future__ import annotations

import threading

import pytest
from tests.verify.fake_issuer import (
    AUDIENCE,
    FakeClock,
    FakeIssuer,
    MakeVerifier,
    make_key,
    sign_token,
)

from gatehouse.verify import InvalidToken, KeySetUnavailable, TokenVerifier
from gatehouse.verify.jws import load_jwks
from gatehouse.verify.keyset import metadata_urls


def test_metadata_urls_put_the_well_known_suffix_before_the_issuer_path() -> None:
    assert metadata_urls("https://a.test/customers/c1") == [
        "https://a.test/.well-known/oauth-authorization-server/customers/c1",
        "https://a.test/customers/c1/.well-known/oauth-authorization-server",
        "https://a.test/customers/c1/.well-known/openid-configuration",
    ]


def test_jwks_is_discovered_from_metadata_and_cached(
    issuer: FakeIssuer, verifier: TokenVerifier
) -> None:
    for _ in range(3):
        verifier.verify(issuer.token())
    assert (issuer.metadata_hits, issuer.jwks_hits) == (1, 1)
    assert verifier.keyset.jwks_uri == f"{issuer.issuer}/.well-known/jwks.json"


def test_metadata_with_another_issuer_is_refused(
    issuer: FakeIssuer, verifier: TokenVerifier
) -> None:
    issuer.metadata_issuer = issuer.issuer + "/evil"
    with pytest.raises(KeySetUnavailable) as info:
        verifier.verify(issuer.token())
    assert (info.value.status_code, info.value.error) == (503, "temporarily_unavailable")
    assert issuer.jwks_hits == 0


def test_unreachable_issuer_is_unavailable_not_invalid(
    issuer: FakeIssuer, verifier: TokenVerifier
) -> None:
    issuer.down = True
    with pytest.raises(KeySetUnavailable):
        verifier.verify(issuer.token())


def test_unknown_kid_triggers_one_refetch_then_is_rate_limited(
    issuer: FakeIssuer, make_verifier: MakeVerifier
) -> None:
    clock = FakeClock(1000.0)
    verifier = make_verifier(jwks_refresh_min_interval=10, monotonic=clock)
    verifier.verify(issuer.token())
    assert issuer.jwks_hits == 1
    clock.advance(11)
    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(sign_token(make_key(), issuer.claims()))
    assert issuer.jwks_hits == 2
    # A second unknown kid within the interval does not refetch.
    clock.advance(5)
    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(sign_token(make_key(), issuer.claims()))
    assert issuer.jwks_hits == 2


def test_key_rotation_is_picked_up(issuer: FakeIssuer, make_verifier: MakeVerifier) -> None:
    clock = FakeClock(1000.0)
    verifier = make_verifier(monotonic=clock)
    verifier.verify(issuer.token())
    new_key = make_key("ES256")
    issuer.keys.append(new_key)
    clock.advance(10)
    assert verifier.verify(issuer.token(new_key))["sub"] == "client-abc"
    assert issuer.jwks_hits == 2


def test_removed_key_evicts_cached_tokens(issuer: FakeIssuer, make_verifier: MakeVerifier) -> None:
    clock = FakeClock(1000.0)
    verifier = make_verifier(monotonic=clock, jwks_max_age=60)
    old = issuer.token()
    verifier.verify(old)
    issuer.keys = [make_key("ES256")]
    clock.advance(61)  # stale: the next verify refreshes the key set
    verifier.verify(issuer.token())
    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(old)


def test_stale_key_set_is_refreshed_and_failures_keep_old_keys(
    issuer: FakeIssuer, make_verifier: MakeVerifier
) -> None:
    clock = FakeClock(1000.0)
    verifier = make_verifier(monotonic=clock, jwks_max_age=60, cache_size=0)
    verifier.verify(issuer.token())
    issuer.down = True
    clock.advance(61)
    assert verifier.verify(issuer.token())  # refresh failed, cached keys still verify
    assert verifier.keyset.fetch_count == 1


def test_concurrent_threads_fetch_the_key_set_once(issuer: FakeIssuer) -> None:
    issuer.jwks_delay = 0.2
    verifier = TokenVerifier(issuer.issuer, AUDIENCE)
    tokens = [issuer.token() for _ in range(8)]
    results: list[str] = []
    barrier = threading.Barrier(8)

    def work(token: str) -> None:
        barrier.wait()
        results.append(verifier.verify(token)["jti"])

    threads = [threading.Thread(target=work, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert (issuer.metadata_hits, issuer.jwks_hits) == (1, 1)


def test_jwks_loader_skips_unusable_keys() -> None:
    es, rs = make_key("ES256"), make_key("RS256")
    keys = [
        es.jwk,
        rs.jwk | {"kid": "mismatch", "alg": "ES256"},
        es.jwk | {"kid": "enc", "use": "enc"},
        es.jwk | {"kid": "no-verify", "key_ops": ["encrypt"]},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0", "alg": "HS256"},
        {"kty": "RSA", "kid": "small", "n": "AQAB", "e": "AQAB", "alg": "RS256"},
        {"kty": "EC", "kid": "off-curve", "crv": "P-256", "x": "AQ", "y": "AQ"},
        "not a key",
        rs.jwk | {"kid": "no-alg", "alg": None},
    ]
    loaded = load_jwks({"keys": keys}, ["ES256", "RS256"])
    assert sorted(loaded) == sorted([es.kid, "no-alg"])
    assert loaded["no-alg"].alg == "RS256"
    with pytest.raises(ValueError, match="JWK Set"):
        load_jwks({"nokeys": []}, ["ES256"])
