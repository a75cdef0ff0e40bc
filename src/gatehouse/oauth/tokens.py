"""JWT access tokens (RFC 9068): claims, identifiers and signing."""

from __future__ import annotations

import itertools
import os
import struct
import time
from dataclasses import dataclass
from typing import Any

from gatehouse.oauth.jose import b64url, b64url_decode
from gatehouse.oauth.keys import Signer, assemble_jws

_JTI = struct.Struct(">Q4sHI")
_process_salt = os.urandom(4)
_sequence = itertools.count(int.from_bytes(os.urandom(6), "big"))


def _new_process_salt() -> None:
    global _process_salt, _sequence
    _process_salt = os.urandom(4)
    _sequence = itertools.count(int.from_bytes(os.urandom(6), "big"))


os.register_at_fork(after_in_child=_new_process_salt)


def new_jti(now_ns: int | None = None) -> str:
    """A unique token id (18 bytes): issue time in microseconds (8), a random salt drawn once
    per process (4) and a counter that starts at a random value (6).

    The time prefix lets a cut-off ("every token issued before T") be decided to the
    microsecond, finer than the whole-second ``iat``; salt and counter make the id unique
    (RFC 7519 §4.1.7) without a system call per token.
    """
    micros = (now_ns if now_ns is not None else time.time_ns()) // 1000
    sequence = next(_sequence) & 0xFFFF_FFFF_FFFF
    raw = _JTI.pack(micros, _process_salt, sequence >> 32, sequence & 0xFFFF_FFFF)
    return b64url(raw).decode("ascii")


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


@dataclass(slots=True)
class PendingToken:
    """A token whose claims are fixed and which waits for its signature."""

    signer: Signer
    signing_input: bytes
    jti: str
    expires_in: int
    scope: str
    audience: str
    issued_at: float

    def finish(self, signature: bytes) -> IssuedToken:
        return IssuedToken(
            access_token=assemble_jws(self.signing_input, signature),
            jti=self.jti,
            expires_in=self.expires_in,
            scope=self.scope,
            audience=self.audience,
            issued_at=self.issued_at,
        )


def prepare_access_token(
    signer: Signer,
    *,
    issuer: str,
    client_id: str,
    customer_id: str,
    audience: str,
    scope: str,
    lifetime: int,
    cnf: dict[str, str] | None = None,
) -> PendingToken:
    """The RFC 9068 claims of a client credentials token, ready to be signed."""
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
    if cnf is not None:
        # RFC 9449 §6.1 (jkt), RFC 8705 §3.1 (x5t#S256): the key the token is bound to.
        claims["cnf"] = cnf
    return PendingToken(
        signer=signer,
        signing_input=signer.signing_input(claims),
        jti=jti,
        expires_in=lifetime,
        scope=scope,
        audience=audience,
        issued_at=now_ns / 1e9,
    )
