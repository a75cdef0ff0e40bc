"""Starlette/FastAPI adapters: RFC 6750 §3 status codes, challenges and bodies over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from tests.factories import no_credentials_challenge
from tests.verify.fake_issuer import AUDIENCE, FakeIssuer, IssuerRegistry, serve

from gatehouse.verify import TokenVerifier, VerifyError
from gatehouse.verify.starlette import (
    BearerAuth,
    BearerAuthError,
    BearerTokenMiddleware,
    bearer_error_handler,
    require_roles,
)

MISSING = no_credentials_challenge()


def invalid(description: str) -> str:
    return f'Bearer realm="gatehouse", error="invalid_token", error_description="{description}"'


def custom_body(conn: HTTPConnection, error: VerifyError) -> Response:
    return JSONResponse({"messages": [error.description], "request_id": "req-1"})


def dependency_app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    app.add_exception_handler(BearerAuthError, bearer_error_handler)
    auth = BearerAuth(verifier, allow_query_token=True)
    custom = BearerAuth(verifier, realm="corpora", render=custom_body)

    @app.get("/claims")
    async def claims(claims: dict[str, Any] = Depends(auth)) -> dict[str, Any]:
        return claims

    @app.get("/owner")
    async def owner(claims: dict[str, Any] = Depends(auth.require_roles("owner"))) -> str:
        return str(claims["sub"])

    @app.get("/custom")
    async def custom_route(claims: dict[str, Any] = Depends(custom)) -> str:
        return str(claims["sub"])

    return app


def middleware_app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    app.add_exception_handler(BearerAuthError, bearer_error_handler)
    app.add_middleware(
        BearerTokenMiddleware, verifier=verifier, exclude_paths=["/healthz", "/public/*"]
    )

    @app.get("/healthz")
    async def healthz() -> str:
        return "ok"

    @app.get("/public/info")
    async def info() -> str:
        return "public"

    @app.get("/me")
    async def me(request: Request) -> str:
        return str(request.state.claims["sub"])

    @app.post("/form")
    async def form(request: Request) -> dict[str, str]:
        return {k: str(v) for k, v in (await request.form()).items()}

    @app.get("/viewer")
    async def viewer(claims: dict[str, Any] = Depends(require_roles("viewer"))) -> str:
        return str(claims["scope"])

    @app.get("/billing")
    async def billing(
        claims: dict[str, Any] = Depends(require_roles("billing_administrator")),
    ) -> str:
        return "never"

    return app


def bare_app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()  # no bearer_error_handler: FastAPI's own HTTPException rendering

    @app.get("/claims")
    async def claims(claims: dict[str, Any] = Depends(BearerAuth(verifier))) -> str:
        return str(claims["sub"])

    return app


@pytest.fixture(scope="module")
def api_issuer(registry: IssuerRegistry) -> FakeIssuer:
    return registry.new("ES256")


@pytest.fixture(scope="module")
def urls(api_issuer: FakeIssuer) -> Iterator[dict[str, str]]:
    verifier = TokenVerifier(api_issuer.issuer, AUDIENCE)
    with (
        serve(dependency_app(verifier)) as dep,
        serve(middleware_app(verifier)) as mid,
        serve(bare_app(verifier)) as bare,
    ):
        yield {"dep": dep, "mid": mid, "bare": bare}


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.mark.parametrize("kind", ["dep", "mid"])
def test_missing_token_gets_a_bare_challenge(
    urls: dict[str, str], http: httpx.Client, kind: str
) -> None:
    response = http.get(urls[kind] + ("/claims" if kind == "dep" else "/me"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == MISSING
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "error": "unauthorized",
        "error_description": "a bearer token is required",
    }


@pytest.mark.parametrize("kind", ["dep", "mid"])
def test_other_scheme_counts_as_no_bearer_credentials(
    urls: dict[str, str], http: httpx.Client, kind: str
) -> None:
    path = "/claims" if kind == "dep" else "/me"
    response = http.get(urls[kind] + path, headers={"Authorization": "Basic YTpi"})
    assert (response.status_code, response.headers["www-authenticate"]) == (401, MISSING)


@pytest.mark.parametrize("kind", ["dep", "mid"])
@pytest.mark.parametrize(
    ("authorization", "description"),
    [
        ("Bearer not-a-jwt", "the token is not a compact JWS"),
        ("Bearer a$b", "the bearer token is malformed"),
        ("Bearer", "the bearer token is malformed"),
        ("Bearer a b", "the bearer token is malformed"),
    ],
)
def test_malformed_token_gets_invalid_token(
    urls: dict[str, str], http: httpx.Client, kind: str, authorization: str, description: str
) -> None:
    path = "/claims" if kind == "dep" else "/me"
    response = http.get(urls[kind] + path, headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == invalid(description)
    assert response.json() == {"error": "invalid_token", "error_description": description}


def test_expired_token_gets_invalid_token(
    urls: dict[str, str], http: httpx.Client, api_issuer: FakeIssuer
) -> None:
    now = int(time.time())
    token = api_issuer.token(exp=now - 100, iat=now - 200, nbf=now - 200)
    response = http.get(urls["mid"] + "/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == invalid("the token has expired")


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_scheme_name_is_case_insensitive(
    urls: dict[str, str], http: httpx.Client, api_issuer: FakeIssuer, scheme: str
) -> None:
    headers = {"Authorization": f"{scheme} {api_issuer.token()}"}
    assert http.get(urls["mid"] + "/me", headers=headers).text == '"client-abc"'
    assert http.get(urls["dep"] + "/claims", headers=headers).json()["sub"] == "client-abc"


def test_dependency_returns_the_claims(
    urls: dict[str, str], http: httpx.Client, api_issuer: FakeIssuer
) -> None:
    claims = api_issuer.claims()
    from tests.verify.fake_issuer import sign_token

    token = sign_token(api_issuer.keys[0], claims)
    response = http.get(urls["dep"] + "/claims", headers={"Authorization": f"Bearer {token}"})
    assert response.json() == claims


@pytest.mark.parametrize(
    ("kind", "path", "role"),
    [("dep", "/owner", "owner"), ("mid", "/billing", "billing_administrator")],
)
def test_missing_role_gets_insufficient_scope(
    urls: dict[str, str],
    http: httpx.Client,
    api_issuer: FakeIssuer,
    kind: str,
    path: str,
    role: str,
) -> None:
    headers = {"Authorization": f"bearer {api_issuer.token()}"}
    response = http.get(urls[kind] + path, headers=headers)
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer realm="gatehouse", error="insufficient_scope", '
        f'error_description="the token lacks the role(s): {role}", scope="{role}"'
    )
    assert response.json() == {
        "error": "insufficient_scope",
        "error_description": f"the token lacks the role(s): {role}",
    }


def test_role_present_is_allowed(
    urls: dict[str, str], http: httpx.Client, api_issuer: FakeIssuer
) -> None:
    headers = {"Authorization": f"Bearer {api_issuer.token()}"}
    assert http.get(urls["mid"] + "/viewer", headers=headers).json() == "viewer corpus_developer"


@pytest.mark.parametrize("kind", ["dep", "mid"])
def test_two_authorization_headers_are_an_invalid_request(
    urls: dict[str, str], http: httpx.Client, api_issuer: FakeIssuer, kind: str
) -> None:
    token = api_issuer.token()
    headers = [("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")]
    response = http.get(urls[kind] + ("/claims" if kind == "dep" else "/me"), headers=headers)
    assert response.status_code == 400
    assert response.headers["www-authenticate"] == (
        'Bearer realm="gatehouse", error="invalid_request", '
        'error_description="the request has more than one Authorization header"'
    )


@pytest.mark.parametrize("kind", ["dep", "mid"])
def test_token_in_header_and_query_is_an_invalid_request(
    urls: dict[str, str], http: httpx.Client, api_issuer: FakeIssuer, kind: str
) -> None:
    token = api_issuer.token()
    path = "/claims" if kind == "dep" else "/me"
    response = http.get(
        urls[kind] + path,
        params={"access_token": token},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "the access token was sent by more than one method",
    }


def test_token_in_header_and_form_body_is_an_invalid_request(
    urls: dict[str, str], http: httpx.Client, api_issuer: FakeIssuer
) -> None:
    token = api_issuer.token()
    response = http.post(
        urls["mid"] + "/form",
        data={"access_token": token},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_form_body_is_replayed_to_the_app(
    urls: dict[str, str], http: httpx.Client, api_issuer: FakeIssuer
) -> None:
    headers = {"Authorization": f"Bearer {api_issuer.token()}"}
    response = http.post(urls["mid"] + "/form", data={"name": "corpus"}, headers=headers)
    assert response.json() == {"name": "corpus"}


def test_query_token_is_accepted_only_when_enabled(
    urls: dict[str, str], http: httpx.Client, api_issuer: FakeIssuer
) -> None:
    params = {"access_token": api_issuer.token()}
    assert http.get(urls["dep"] + "/claims", params=params).status_code == 200
    response = http.get(urls["mid"] + "/me", params=params)
    assert (response.status_code, response.headers["www-authenticate"]) == (401, MISSING)


def test_excluded_paths_need_no_token(urls: dict[str, str], http: httpx.Client) -> None:
    assert http.get(urls["mid"] + "/healthz").json() == "ok"
    assert http.get(urls["mid"] + "/public/info").json() == "public"
    assert http.get(urls["mid"] + "/healthzz").status_code == 401


def test_realm_and_body_are_configurable(urls: dict[str, str], http: httpx.Client) -> None:
    response = http.get(urls["dep"] + "/custom", headers={"Authorization": "Bearer x.y"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        'Bearer realm="corpora", error="invalid_token", '
        'error_description="the token is not a compact JWS"'
    )
    assert response.json() == {
        "messages": ["the token is not a compact JWS"],
        "request_id": "req-1",
    }


def test_without_the_handler_status_and_challenge_survive(
    urls: dict[str, str], http: httpx.Client
) -> None:
    response = http.get(urls["bare"] + "/claims")
    assert (response.status_code, response.headers["www-authenticate"]) == (401, MISSING)
    assert response.json() == {"detail": "a bearer token is required"}
