"""JWT access tokens (RFC 9068): claims, identifiers and signing."""

from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass
from typing import Any

from gatehouse.oauth.jose import b64url, b64url_decode
from gatehouse.oauth.keys import Signer


def new_jti(now_ns: int | None = None) -> str:
    """A unique token id: 8 bytes of issue time in microseconds, then 10 random bytes.

    The time prefix lets a cut-off ("every token issued before T") be decided to the
    microsecond, finer than the whole-second ``iat``.
    """
    micros = (now_ns if now_ns is not None else time.time_ns()) // 1000
    return b64url(struct.pack(">Q", micros) + os.urandom(10)).decode("ascii")


def jti_issued_at(jti: str) -> float | None:
    """The issue time (seconds) encoded in a Gatehouse ``jti``, or None if it has none."""
    try:
        raw = b64url_decode(jti)
    except ValueError:
        return None
    if len(raw) != 18:
        return None
    return float(struct.unpack(">Q", raw[:8])[0]) / 1_000_000


@dataclass(slots=True)
class IssuedToken:
    access_token: str
    jti: str
    expires_in: int
    scope: str
    audience: str
    issued_at: float


def issue_access_token(
    signer: Signer,
    *,
    issuer: str,
    client_id: str,
    customer_id: str,
    audience: str,
    scope: str,
    lifetime: int,
) -> IssuedToken:
    """Sign an RFC 9068 access token for a client credentials grant."""
    now_ns = time.time_ns()
    iat = now_ns // 1_000_000_000
    jti = new_jti(now_ns)
    claims: dict[str, Any] = {
        "iss": issuer,
        # RFC 9068 §2.2: with no resource owner, sub is the client's own identifier.
        "sub": client_id,
        "client_id": client_id,
        "aud": audience,
        "iat": iat,
        "nbf": iat,
        # RFC 9068 §2.2: exp is required.
        "exp": iat + lifetime,
        "jti": jti,
        "scope": scope,
        "customer_id": customer_id,
        "token_use": "access",
    }
    return IssuedToken(
        access_token=signer.sign_jwt(claims),
        jti=jti,
        expires_in=lifetime,
        scope=scope,
        audience=audience,
        issued_at=now_ns / 1e9,
    )
