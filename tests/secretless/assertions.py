"""Building client assertions (RFC 7523 §2.2) for the tests, with joserfc (a third party)."""

from __future__ import annotations

import time
import uuid
import warnings
from typing import Any

from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OKPKey, RSAKey

from tests.api.conftest import Api

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
INVALID_CLIENT = {"error": "invalid_client", "error_description": "client authentication failed"}


def client_assertion(
    key: ECKey | RSAKey | OKPKey,
    client_id: str,
    audience: str | list[str],
    *,
    alg: str | None = None,
    header: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + 120,
        "jti": str(uuid.uuid4()),
    }
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    if alg is None:
        alg = {"EC": "ES256", "RSA": "RS256", "OKP": "EdDSA"}[key.key_type]
    head = {"alg": alg, "kid": key.kid, **(header or {})}
    with warnings.catch_warnings():
        # joserfc marks the polymorphic "EdDSA" deprecated (RFC 9864); RFC 8037 keeps it valid.
        warnings.simplefilter("ignore", SecurityWarning)
        return jwt.encode(head, body, key, algorithms=[alg])


def token_with_assertion(
    api: Api, customer_id: str, assertion: str, path: str | None = None, **extra: str
) -> Any:
    return api.client.post(
        path or f"/customers/{customer_id}/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
            **extra,
        },
    )
