"""Verify Gatehouse access tokens in any Python API (RFC 9068, RFC 8414, RFC 7517, RFC 6750).

Needs only the standard library, ``cryptography`` and ``httpx``; the Starlette/FastAPI adapters
live in :mod:`gatehouse.verify.starlette`, which is the only module here importing Starlette::

    from gatehouse.verify import TokenVerifier, InvalidToken

    verifier = TokenVerifier("https://auth.example.com/customers/acme", "https://api.example.com")
    claims = verifier.verify(token)  # raises InvalidToken
"""

from __future__ import annotations

from gatehouse.verify.dpop import DPOP_ALGORITHMS, DPoPContext
from gatehouse.verify.errors import (
    InsufficientScope,
    InvalidDPoPProof,
    InvalidRequest,
    InvalidToken,
    KeySetUnavailable,
    MissingToken,
    VerifyError,
)
from gatehouse.verify.jws import SUPPORTED_ALGORITHMS, PinnedKey
from gatehouse.verify.keyset import JwksSource, KeySet
from gatehouse.verify.resource import ProtectedResource
from gatehouse.verify.verifier import (
    ANY_AUDIENCE,
    DEFAULT_ALGORITHMS,
    AudiencePolicy,
    RevocationCheck,
    RevocationFeed,
    TokenVerifier,
    certificate_thumbprint,
    check_roles,
)

__all__ = [
    "ANY_AUDIENCE",
    "DEFAULT_ALGORITHMS",
    "DPOP_ALGORITHMS",
    "SUPPORTED_ALGORITHMS",
    "AudiencePolicy",
    "DPoPContext",
    "InsufficientScope",
    "InvalidDPoPProof",
    "InvalidRequest",
    "InvalidToken",
    "JwksSource",
    "KeySet",
    "KeySetUnavailable",
    "MissingToken",
    "PinnedKey",
    "ProtectedResource",
    "RevocationCheck",
    "RevocationFeed",
    "TokenVerifier",
    "VerifyError",
    "certificate_thumbprint",
    "check_roles",
]
