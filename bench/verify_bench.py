"""Micro benchmark of gatehouse.verify on ES256 tokens.

Compares raw pyca ``cryptography`` ES256 verification (DER signatures prepared in advance) with
``TokenVerifier.verify`` on the same distinct tokens (fresh cache, so every call verifies a
signature) and with one token repeated (cache hits).

Run: ``.venv/bin/python bench/verify_bench.py``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import platform
import secrets
import time
from collections.abc import Callable

import cryptography
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from gatehouse.verify import TokenVerifier

ISSUER = "https://auth.example.test/customers/bench"
AUDIENCE = "https://api.example.test"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64json(value: object) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def make_tokens(
    key: ec.EllipticCurvePrivateKey, kid: str, count: int
) -> tuple[list[str], list[tuple[bytes, bytes]]]:
    """``count`` distinct tokens, plus (DER signature, signing input) pairs for the raw test."""
    header = b64json({"alg": "ES256", "typ": "at+jwt", "kid": kid})
    now = int(time.time())
    tokens: list[str] = []
    raw: list[tuple[bytes, bytes]] = []
    for _ in range(count):
        claims = {
            "iss": ISSUER,
            "sub": "client-abc",
            "client_id": "client-abc",
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + 1800,
            "jti": secrets.token_hex(16),
            "scope": "viewer corpus_developer",
            "customer_id": "bench",
            "token_use": "access",
        }
        signing_input = f"{header}.{b64json(claims)}".encode()
        der = key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        tokens.append(
            f"{signing_input.decode()}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
        )
        raw.append((der, signing_input))
    return tokens, raw


def jwks_of(key: ec.EllipticCurvePrivateKey) -> tuple[str, dict[str, object]]:
    nums = key.public_key().public_numbers()
    jwk = {
        "crv": "P-256",
        "kty": "EC",
        "x": b64url(nums.x.to_bytes(32, "big")),
        "y": b64url(nums.y.to_bytes(32, "big")),
    }
    kid = b64url(hashlib.sha256(json.dumps(jwk, separators=(",", ":")).encode()).digest())
    return kid, {"keys": [jwk | {"kid": kid, "alg": "ES256", "use": "sig"}]}


def best_rates(cases: list[Callable[[], int]], rounds: int) -> list[float]:
    """Best ops/s of each case; rounds interleave the cases so load spikes hit them alike."""
    best = [0.0] * len(cases)
    for _ in range(rounds):
        for index, run in enumerate(cases):
            started = time.perf_counter()
            ops = run()
            best[index] = max(best[index], ops / (time.perf_counter() - started))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=2000, help="distinct tokens")
    parser.add_argument("--repeat", type=int, default=200_000, help="cached verifications")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    repeat: int = args.repeat

    key = ec.generate_private_key(ec.SECP256R1())
    kid, jwks = jwks_of(key)
    tokens, raw = make_tokens(key, kid, args.tokens)
    public = key.public_key()
    scheme = ec.ECDSA(hashes.SHA256())

    def raw_verify() -> int:
        for der, data in raw:
            public.verify(der, data, scheme)
        return len(raw)

    def fresh_verifier() -> TokenVerifier:
        verifier = TokenVerifier(ISSUER, AUDIENCE, cache_size=args.tokens + 1)
        verifier.keyset.load(jwks)
        return verifier

    def uncached() -> int:
        verifier = fresh_verifier()
        verify = verifier.verify
        for token in tokens:
            verify(token)
        return len(tokens)

    cached_verifier = fresh_verifier()
    one = tokens[0]
    cached_verifier.verify(one)

    def cached() -> int:
        verify = cached_verifier.verify
        for _ in range(repeat):
            verify(one)
        return repeat

    raw_rate, uncached_rate, cached_rate = best_rates([raw_verify, uncached, cached], args.rounds)

    print(
        f"gatehouse.verify ES256 benchmark - Python {platform.python_version()}, "
        f"cryptography {cryptography.__version__}, {platform.machine()}"
    )
    print(f"{args.tokens} distinct tokens, {args.repeat} cached calls, best of {args.rounds}\n")
    print(f"| {'case':<42} | {'ops/s':>10} | {'µs/op':>7} | {'vs raw':>6} |")
    print(f"|{'-' * 44}|{'-' * 12}|{'-' * 9}|{'-' * 8}|")
    for name, rate in (
        ("raw pyca ES256 verify (DER, no parsing)", raw_rate),
        ("TokenVerifier.verify, uncached", uncached_rate),
        ("TokenVerifier.verify, cached (one token)", cached_rate),
    ):
        print(f"| {name:<42} | {rate:>10,.0f} | {1e6 / rate:>7.2f} | {rate / raw_rate:>5.0%} |")
    print(
        f"\nuncached/raw = {uncached_rate / raw_rate:.0%} (goal >= 80%); "
        f"cached = {cached_rate:,.0f}/s (goal > 200,000/s)"
    )


if __name__ == "__main__":
    main()
