"""JWT assertions: RFC 7523 (JWT profile for client authentication, §2.2 and §3, and the JWT
bearer grant, §2.1) and RFC 7521 §4.2, as used by ``private_key_jwt`` clients and by federated
credentials (outside tokens of GitHub Actions, Kubernetes, any OpenID Connect issuer).

Pure functions over already-fetched keys: no network, no store, no web framework. Every failure
raises :class:`AssertionRejected` naming the check that failed (the ``failed_check`` values of
the federated-credential ``test`` endpoint) and why, for the log; the caller turns it into one
``invalid_client`` or ``invalid_grant`` for the client.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from gatehouse.verify.jws import PinnedKey, b64url_decode

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Asymmetric algorithms only: never "none", never HMAC (a public key is no HMAC secret).
SIGNING_ALGS = ("ES256", "ES384", "PS256", "RS256", "EdDSA")
LEEWAY = 60
MAX_CLIENT_ASSERTION_LIFETIME = 3600
MAX_OUTSIDE_TOKEN_AGE = 24 * 3600
MAX_ASSERTION_SIZE = 8 * 1024


class AssertionRejected(Exception):
    """An assertion failed ``check`` (signature, issuer, audience, expiry, age, subject, claim,
    format or replay); ``reason`` is for the log and the ``test`` endpoint, never the client."""

    def __init__(self, check: str, reason: str, *, claim: str | None = None) -> None:
        super().__init__(f"{check}: {reason}")
        self.check = check
        self.reason = reason
        self.claim = claim


@dataclass(frozen=True, slots=True)
class Jwt:
    """A compact JWS split and decoded, signature not yet checked."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def parse_jwt(token: str) -> Jwt:
    """Split and decode a compact JWS (RFC 7515 §7.1); nothing is trusted yet."""
    if len(token) > MAX_ASSERTION_SIZE:
        raise AssertionRejected("format", f"longer than {MAX_ASSERTION_SIZE} characters")
    parts = token.split(".")
    # RFC 7515 §7.1: a compact JWS has three base64url parts (a JWE's five are refused).
    if len(parts) != 3:
        raise AssertionRejected("format", "not a compact JWS of three parts")
    try:
        header = orjson.loads(b64url_decode(parts[0]))
        claims = orjson.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except (ValueError, orjson.JSONDecodeError):
        raise AssertionRejected("format", "a part is not base64url JSON") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise AssertionRejected("format", "header or claims are not JSON objects")
    return Jwt(header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)


def unverified_claims(token: str) -> dict[str, Any] | None:
    """The claims of a token for routing only (which client, which issuer), or None."""
    try:
        return parse_jwt(token).claims
    except AssertionRejected:
        return None


def wanted_kid(jwt: Jwt) -> str | None:
    kid = jwt.header.get("kid")
    return kid if isinstance(kid, str) else None


def verify_signature(jwt: Jwt, keys: Mapping[str, PinnedKey]) -> None:
    """The signature, by the key the header's ``kid`` names (or the only key, without one)."""
    alg = jwt.header.get("alg")
    # RFC 7518 §3.6 / RFC 8725 §3.1: "none" and algorithms outside the allow-list are refused.
    if alg not in SIGNING_ALGS:
        raise AssertionRejected("signature", f"algorithm {alg!r} is not allowed")
    if "crit" in jwt.header:
        # RFC 7515 §4.1.11: an extension this server does not understand must be refused.
        raise AssertionRejected("signature", "the header names critical extensions")
    kid = wanted_kid(jwt)
    if kid is not None:
        key = keys.get(kid)
    elif len(keys) == 1:
        key = next(iter(keys.values()))
    else:
        raise AssertionRejected("signature", "no kid in the header, and not exactly one key")
    if key is None:
        raise AssertionRejected("signature", f"no key with kid {kid!r}")
    # The key is pinned to one algorithm: RSA/PSS and HMAC-with-a-public-key confusion fail here.
    if key.alg != alg:
        raise AssertionRejected("signature", f"key {key.kid} is for {key.alg}, not {alg}")
    if not key.verify(jwt.signature, jwt.signing_input):
        raise AssertionRejected("signature", "the signature does not verify")


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AssertionRejected("expiry", f"{name} is not a number")
    return float(value)


def _check_times(claims: Mapping[str, Any], now: float) -> tuple[float, float | None]:
    """RFC 7523 §3 items 4 and 5, and an ``iat`` not in the future: (``exp``, ``iat``)."""
    exp = _number(claims, "exp")
    # RFC 7523 §3 item 4: the JWT must contain an exp claim, and expired ones are rejected.
    if exp is None:
        raise AssertionRejected("expiry", "no exp")
    if exp < now - LEEWAY:
        raise AssertionRejected("expiry", "expired")
    nbf = _number(claims, "nbf")
    # RFC 7523 §3 item 5: a JWT used before its nbf is rejected.
    if nbf is not None and nbf > now + LEEWAY:
        raise AssertionRejected("expiry", "not yet valid (nbf)")
    iat = _number(claims, "iat")
    if iat is not None and iat > now + LEEWAY:
        raise AssertionRejected("age", "issued in the future (iat)")
    return exp, iat


def audience_matches(aud: object, accepted: tuple[str, ...]) -> bool:
    """RFC 7523 §3 item 3: ``aud`` (a string or an array) contains an accepted value."""
    if isinstance(aud, str):
        return aud in accepted
    if isinstance(aud, list):
        return any(isinstance(item, str) and item in accepted for item in aud)
    return False


def check_client_assertion(
    claims: Mapping[str, Any],
    *,
    client_id: str,
    audiences: tuple[str, ...],
    now: float | None = None,
) -> float:
    """RFC 7523 §3 for ``private_key_jwt``; returns the ``exp`` (how long the jti is kept)."""
    now = time.time() if now is None else now
    # RFC 7523 §3 item 1 and §2.2: iss and sub must both be the client_id.
    if claims.get("iss") != client_id:
        raise AssertionRejected("issuer", "iss is not the client_id")
    if claims.get("sub") != client_id:
        raise AssertionRejected("subject", "sub is not the client_id")
    # RFC 7523 §3 item 3: aud must identify this server (its issuer or token endpoint).
    if not audience_matches(claims.get("aud"), audiences):
        raise AssertionRejected("audience", "aud is neither the issuer nor the token endpoint")
    exp, iat = _check_times(claims, now)
    # RFC 7523 §3 item 6 lets the server bound the lifetime: at most one hour.
    if exp > (iat if iat is not None else now) + MAX_CLIENT_ASSERTION_LIFETIME + LEEWAY:
        raise AssertionRejected("age", "exp is more than one hour after iat (or now)")
    jti = claims.get("jti")
    # RFC 7523 §3 item 7: a jti lets the server refuse a replay; it is required here.
    if not isinstance(jti, str) or not 1 <= len(jti) <= 256:
        raise AssertionRejected("format", "no jti (1 to 256 characters)")
    return exp


def check_outside_token(
    claims: Mapping[str, Any],
    *,
    issuer: str,
    audience: str,
    now: float | None = None,
) -> float:
    """The checks every federated outside token passes before its rules are tried; returns the
    time until which its ``jti`` must be remembered (single-use credentials)."""
    now = time.time() if now is None else now
    # RFC 7523 §3 item 1: iss must be the trusted issuer, compared exactly.
    if claims.get("iss") != issuer:
        raise AssertionRejected("issuer", f"iss is {claims.get('iss')!r}, not {issuer!r}")
    # RFC 7523 §3 item 3: aud must contain the value this credential expects.
    if not audience_matches(claims.get("aud"), (audience,)):
        raise AssertionRejected("audience", f"aud does not contain {audience!r}")
    exp, iat = _check_times(claims, now)
    if iat is not None:
        # RFC 7523 §3 item 6: the server may reject a JWT issued too long ago (24 hours).
        if iat < now - MAX_OUTSIDE_TOKEN_AGE - LEEWAY:
            raise AssertionRejected("age", "issued more than 24 hours ago")
    elif exp > now + MAX_OUTSIDE_TOKEN_AGE + LEEWAY:
        raise AssertionRejected("age", "no iat, and exp is more than 24 hours away")
    return exp
