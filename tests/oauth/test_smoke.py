"""A first end-to-end check: the demo client gets a token over HTTP and PyJWT verifies it."""

from __future__ import annotations

import httpx
import jwt
from tests.factories import LiveServer


def test_demo_client_gets_token_verified_by_pyjwt_with_served_jwks(live_server: LiveServer) -> None:
    demo = live_server.demo
    response = httpx.post(
        demo["token_url"],
        data={
            "grant_type": "client_credentials",
            "client_id": demo["client_id"],
            "client_secret": demo["client_secret"],
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["expires_in"] == 1800
    assert body["token_type"] == "Bearer"
    jwks = jwt.PyJWKClient(f"{demo['issuer']}/.well-known/jwks.json")
    key = jwks.get_signing_key_from_jwt(body["access_token"])
    claims = jwt.decode(
        body["access_token"],
        key.key,
        algorithms=["ES256"],
        audience=live_server.base_url,
        issuer=demo["issuer"],
    )
    assert claims["exp"] - claims["iat"] == 1800
    assert claims["client_id"] == demo["client_id"]
