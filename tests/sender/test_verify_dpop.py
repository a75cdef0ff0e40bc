"""gatehouse.verify with DPoP-bound tokens of a real Gatehouse server (RFC 9449 §7): the
verifier itself, sync and async, and its FastAPI dependency and ASGI middleware."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from gatehouse.verify import DPoPContext, InvalidDPoPProof, InvalidToken, TokenVerifier
from gatehouse.verify.starlette import (
    BearerAuth,
    BearerAuthError,
    BearerTokenMiddleware,
    bearer_error_handler,
)
from tests.factories import LiveServer, basic_auth
from tests.sender.conftest import BOTH_CHALLENGES, dpop_challenge
from tests.sender.proofs import Key, make_proof, new_key

API = "http://api.test/reports"


def issue(server: LiveServer, key: Key | None) -> str:
    url = f"{server.base_url}/customers/acme/oauth2/token"
    headers = {"authorization": basic_auth(server.demo["client_id"], server.demo["client_secret"])}
    if key is not None:
        headers["dpop"] = make_proof(key, "POST", url)
    response = httpx.post(url, data={"grant_type": "client_credentials"}, headers=headers)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def verifier_for(server: LiveServer) -> TokenVerifier:
    return TokenVerifier(f"{server.base_url}/customers/acme", server.base_url)


def test_verify_accepts_a_fresh_proof_each_time_and_refuses_a_replay(
    sender_server: LiveServer,
) -> None:
    verifier = verifier_for(sender_server)
    key = new_key()
    token = issue(sender_server, key)
    for _ in range(2):  # the second call hits the verified-token cache; its proof is checked
        proof = make_proof(key, "GET", API, token=token)
        claims = verifier.verify(token, dpop=DPoPContext(proof, "GET", API))
        assert claims["cnf"] == {"jkt": key.thumbprint()}
    with pytest.raises(InvalidDPoPProof) as replay:
        verifier.verify(token, dpop=DPoPContext(proof, "GET", API))
    assert replay.value.description == "the DPoP proof has been used before"
    with pytest.raises(InvalidToken) as as_bearer:
        verifier.verify(token)
    assert as_bearer.value.www_authenticate(dpop_algs="ES256") == (
        'DPoP error="invalid_token", error_description="the token is DPoP-bound: send it as '
        'Authorization: DPoP with a proof", algs="ES256"'
    )
    other = make_proof(new_key(), "GET", API, token=token)
    with pytest.raises(InvalidDPoPProof):
        asyncio.run(verifier.averify(token, dpop=DPoPContext(other, "GET", API)))
    fresh = make_proof(key, "GET", API, token=token)
    assert asyncio.run(verifier.averify(token, dpop=DPoPContext(fresh, "GET", API)))


def _app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    auth = BearerAuth(verifier, public_url="http://api.test")
    app.add_exception_handler(BearerAuthError, bearer_error_handler)

    @app.get("/reports")
    def reports(claims: dict[str, Any] = Depends(auth)) -> dict[str, Any]:
        return {"client": claims["client_id"]}

    return app


def _middleware_app(verifier: TokenVerifier) -> Any:
    async def reports(request: Request) -> Response:
        return PlainTextResponse(request.state.claims["client_id"])

    return Starlette(
        routes=[Route("/reports", reports)],
        middleware=[
            Middleware(BearerTokenMiddleware, verifier=verifier, public_url="http://api.test")
        ],
    )


@pytest.mark.parametrize("kind", ["dependency", "middleware"])
def test_the_adapters_build_the_context_from_the_request(
    sender_server: LiveServer, kind: str
) -> None:
    verifier = verifier_for(sender_server)
    app = _app(verifier) if kind == "dependency" else _middleware_app(verifier)
    key = new_key()
    token = issue(sender_server, key)
    with TestClient(app, base_url="http://internal:8080") as http:
        proof = make_proof(key, "GET", API, token=token)
        good = http.get("/reports", headers={"authorization": f"DPoP {token}", "dpop": proof})
        assert good.status_code == 200, good.text
        replay = http.get("/reports", headers={"authorization": f"DPoP {token}", "dpop": proof})
        assert replay.status_code == 401
        assert replay.json() == {
            "error": "invalid_dpop_proof",
            "error_description": "the DPoP proof has been used before",
        }
        assert replay.headers["www-authenticate"] == dpop_challenge(
            "invalid_dpop_proof", "the DPoP proof has been used before"
        )
        bearer = http.get("/reports", headers={"authorization": f"Bearer {token}"})
        assert bearer.status_code == 401
        assert bearer.headers["www-authenticate"].startswith('DPoP error="invalid_token"')
        plain = issue(sender_server, None)
        ok = http.get("/reports", headers={"authorization": f"Bearer {plain}"})
        assert ok.status_code == 200
        none = http.get("/reports")
        assert none.status_code == 401
        assert none.headers["www-authenticate"] == BOTH_CHALLENGES
