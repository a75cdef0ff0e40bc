"""Fixtures of the HTTP protocol tests: one server per test, on each protocol class."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gatehouse.fastlane import FastLaneProtocol
from gatehouse.runtime import Runtime
from tests.factories import add_client, add_customer, basic_auth
from tests.http.threadserver import ThreadServer, serving

PROTOCOLS = {"httptools": HttpToolsProtocol, "fastlane": FastLaneProtocol}


@dataclass(frozen=True)
class Client:
    customer_id: str
    client_id: str
    secret: str

    @property
    def authorization(self) -> str:
        return basic_auth(self.client_id, self.secret)


@pytest.fixture
def token_client(runtime: Runtime) -> Client:
    add_customer(runtime, "acme")
    record, secret = add_client(runtime, "acme", roles=("owner", "viewer"))
    return Client("acme", record.client_id, secret)


@pytest.fixture(params=sorted(PROTOCOLS))
def http_server(request: pytest.FixtureRequest, runtime: Runtime) -> Iterator[ThreadServer]:
    """The app on plain uvicorn httptools and on the fast lane, one run each (as uvicorn's own
    tests/protocols/test_http.py runs each test on every protocol class)."""
    with serving(runtime, PROTOCOLS[request.param]) as server:
        yield server


def token_request(client: Client, *, headers: str = "", body: bytes | None = None) -> bytes:
    payload = body if body is not None else b"grant_type=client_credentials"
    return (
        f"POST /customers/{client.customer_id}/oauth2/token HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Authorization: {client.authorization}\r\n"
        f"Content-Length: {len(payload)}\r\n"
        f"{headers}\r\n"
    ).encode() + payload


def get_request(path: str, headers: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode()
