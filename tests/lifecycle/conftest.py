"""Fixtures of the token-lifecycle tests: the whole app in-process with two customers, and
helpers to get, revoke and introspect tokens through the real endpoints."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from gatehouse.runtime import Runtime
from gatehouse.store.models import AppClientRecord
from tests.factories import add_client, add_customer, basic_auth
from tests.factories import claims_of as claims_of  # for the tests of this folder


@dataclass
class App:
    """An app client of the test app, with its secret."""

    record: AppClientRecord
    secret: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": basic_auth(self.record.client_id, self.secret)}


class Lifecycle:
    def __init__(self, client: TestClient, runtime: Runtime) -> None:
        self.client = client
        self.runtime = runtime

    def app(
        self, customer_id: str = "acme", *, roles: tuple[str, ...] = ("owner",), name: str = "c"
    ) -> App:
        record, secret = add_client(self.runtime, customer_id, roles=roles, name=name)
        return App(record, secret)

    def token(self, app: App, **extra: str) -> str:
        response = self.client.post(
            f"/customers/{app.record.customer_id}/oauth2/token",
            data={"grant_type": "client_credentials", **extra},
            headers=app.auth,
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def revoke(
        self, app: App, token: str, *, path: str = "/oauth2/revoke", **extra: str
    ) -> httpx2.Response:
        return self.client.post(path, data={"token": token, **extra}, headers=app.auth)

    def introspect(
        self, app: App, token: str, *, path: str = "/oauth2/introspect", **extra: str
    ) -> httpx2.Response:
        return self.client.post(path, data={"token": token, **extra}, headers=app.auth)

    def api_status(self, token: str) -> int:
        response = self.client.get("/v2/corpora", headers={"Authorization": f"Bearer {token}"})
        return response.status_code

    def sign(self, signer_customer: str, **claims: Any) -> str:
        """A token signed with the customer's own active key (for expired or odd tokens)."""
        signer = self.runtime.replica.signer_for(signer_customer)
        assert signer is not None
        now = int(time.time())
        base: dict[str, Any] = {
            "iss": self.runtime.settings.issuer(signer_customer),
            "sub": "x",
            "client_id": "x",
            "aud": self.runtime.settings.default_audience,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": "jti-1",
            "scope": "",
            "customer_id": signer_customer,
            "token_use": "access",
        }
        base.update(claims)
        return signer.sign_jwt(base)


@pytest.fixture
def lc(client: TestClient, runtime: Runtime) -> Lifecycle:
    add_customer(runtime, "acme")
    add_customer(runtime, "globex")
    return Lifecycle(client, runtime)


NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def oauth_error(response: httpx2.Response) -> tuple[int, dict[str, Any], str | None, str | None]:
    """Status, body, Cache-Control and WWW-Authenticate of an OAuth error response."""
    return (
        response.status_code,
        response.json(),
        response.headers.get("cache-control"),
        response.headers.get("www-authenticate"),
    )
