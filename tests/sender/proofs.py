"""DPoP proofs for the tests, made by a third-party library (joserfc), never by Gatehouse."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import warnings
from typing import Any

from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OKPKey, RSAKey

Key = ECKey | RSAKey | OKPKey


def new_key(kind: str = "EC") -> Key:
    if kind == "RSA":
        return RSAKey.generate_key(2048)
    if kind == "OKP":
        return OKPKey.generate_key("Ed25519")
    return ECKey.generate_key("P-256")


def thumbprint(key: Key) -> str:
    return key.thumbprint()


def ath(token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()


def make_proof(
    key: Key,
    method: str,
    url: str,
    *,
    alg: str = "ES256",
    token: str | None = None,
    nonce: str | None = None,
    iat: float | None = None,
    jti: str | None = None,
    typ: str = "dpop+jwt",
    header_jwk: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    extra: dict[str, Any] | None = None,
) -> str:
    """A proof signed by ``key``; the keyword arguments make it wrong in one way each."""
    claims: dict[str, Any] = {
        "jti": jti or secrets.token_urlsafe(16),
        "htm": method,
        "htu": url,
        "iat": int(time.time() if iat is None else iat),
    }
    if token is not None:
        claims["ath"] = ath(token)
    if nonce is not None:
        claims["nonce"] = nonce
    claims.update(extra or {})
    for name in drop:
        claims.pop(name, None)
    header = {
        "typ": typ,
        "alg": alg,
        "jwk": header_jwk if header_jwk is not None else key.as_dict(private=False),
    }
    with warnings.catch_warnings():
        # joserfc flags "EdDSA" as deprecated by RFC 9864; it is still the registered name.
        warnings.simplefilter("ignore", SecurityWarning)
        return jwt.encode(header, claims, key, algorithms=[alg])
