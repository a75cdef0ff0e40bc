"""Fixtures of the API tests: the whole app in-process, customers, clients and their tokens.

Tokens come from the real token endpoint of the same app; a few tests sign hostile tokens with
the customer's own key (``sign``) to reach checks a well-behaved issuer never trips.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from gatehouse.runtime import Runtime
from gatehouse.store.models import AppClientRecord
from tests.factories import add_client, add_customer
from tests.factories import claims_of as claims_of  # for the tests of this folder

REQUEST_ID = re.compile(r"[0-9a-f]{16}")


@dataclass
class Caller:
    """An app client and one access token of it."""

    record: AppClientRecord
    secret: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    def __init__(self, client: TestClient, runtime: Runtime) -> None:
        self.client = client
        self.runtime = runtime

    def customer(self, customer_id: str) -> str:
        return add_customer(self.runtime, customer_id)

    def token_for(self, record: AppClientRecord, secret: str, scope: str | None = None) -> str:
        data = {
            "grant_type": "client_credentials",
            "client_id": record.client_id,
            "client_secret": secret,
        }
        if scope is not None:
            data["scope"] = scope
        response = self.client.post(f"/customers/{record.customer_id}/oauth2/token", data=data)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def caller(
        self,
        *roles: str,
        customer_id: str = "acme",
        corpus_roles: tuple[dict[str, Any], ...] = (),
        name: str = "caller",
    ) -> Caller:
        record, secret = add_client(
            self.runtime, customer_id, roles=roles, corpus_roles=corpus_roles, name=name
        )
        return Caller(record, secret, self.token_for(record, secret))

    def create_corpus(self, caller: Caller, key: str, **extra: Any) -> dict[str, Any]:
        response = self.client.post(
            "/v2/corpora", json={"key": key, **extra}, headers=caller.headers
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def api(client: TestClient, runtime: Runtime) -> Api:
    add_customer(runtime, "acme")
    return Api(client, runtime)


@pytest.fixture
def owner(api: Api) -> Caller:
    return api.caller("owner", name="owner client")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def forge(
    runtime: Runtime,
    token: str,
    *,
    header: dict[str, Any] | None = None,
    claims: dict[str, Any] | None = None,
    customer_id: str = "acme",
) -> str:
    """Re-sign ``token`` with the customer's real key after changing its header or claims."""
    signer = runtime.replica.signer_for(customer_id)
    assert signer is not None
    head = {"alg": signer.alg, "typ": "at+jwt", "kid": signer.kid, **(header or {})}
    body = {**claims_of(token), **(claims or {})}
    signing_input = f"{b64(orjson.dumps(head))}.{b64(orjson.dumps(body))}"
    return f"{signing_input}.{b64(signer.sign(signing_input.encode()))}"


def error_body(response: Any, *messages: str, **extra: Any) -> None:
    """Assert a whole Vectara error body; the request id is random hex."""
    body = response.json()
    assert REQUEST_ID.fullmatch(body.get("request_id", "")), body
    assert body == {"messages": list(messages), "request_id": body["request_id"], **extra}
