"""Fixtures of the API (resource server) tests: the whole app in-process with customer
``acme``, an owner caller, and a helper to register APIs and grant clients on them."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from gatehouse.runtime import Runtime
from tests.api.conftest import Api, Caller, error_body
from tests.factories import add_customer

__all__ = ["Api", "Caller", "Registry", "error_body"]

PAYMENTS = "https://payments.example/api"
PAYMENT_SCOPES = [
    {"value": "payments:read", "description": "Read payments"},
    {"value": "payments:write", "description": "Make payments"},
    {"value": "payments:refund", "description": "Refund payments"},
]


class Registry:
    """Registers APIs and grants through the v2 API, as an administrator would."""

    def __init__(self, api: Api, admin: Caller) -> None:
        self.api = api
        self.admin = admin

    def register(self, identifier: str = PAYMENTS, **extra: Any) -> dict[str, Any]:
        body = {"identifier": identifier, "name": "Payments", "scopes": PAYMENT_SCOPES, **extra}
        response = self.api.client.post("/v2/apis", json=body, headers=self.admin.headers)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def grant(self, app_id: str, api_id: str, *scopes: str) -> dict[str, Any]:
        response = self.api.client.put(
            f"/v2/app_clients/{app_id}/grants/{api_id}",
            json={"scopes": list(scopes)},
            headers=self.admin.headers,
        )
        assert response.status_code == 200, response.text
        granted: dict[str, Any] = response.json()
        return granted

    def token(self, caller: Caller, **params: str) -> Any:
        return self.api.client.post(
            "/customers/acme/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": caller.record.client_id,
                "client_secret": caller.secret,
                **params,
            },
        )


@pytest.fixture
def api(client: TestClient, runtime: Runtime) -> Api:
    add_customer(runtime, "acme")
    return Api(client, runtime)


@pytest.fixture
def owner(api: Api) -> Caller:
    return api.caller("owner", name="owner client")


@pytest.fixture
def registry(api: Api, owner: Caller) -> Registry:
    return Registry(api, owner)
