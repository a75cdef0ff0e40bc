"""Request bodies on the API: authentication comes before any body is read, and a body is read
only up to ``api_max_body_bytes`` (413 in the v2 error shape, RFC 9110 §15.5.14)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from starlette.testclient import TestClient

from tests.api.conftest import Api, Caller, error_body
from tests.factories import builtin_metadata_url, no_credentials_challenge

CHUNK = 1024 * 1024
LIMIT = 1_048_576


class Body:
    """A streamed request body that counts how much of it the server pulled."""

    def __init__(self, chunks: int, chunk: bytes = b" " * CHUNK) -> None:
        self.chunks = chunks
        self.chunk = chunk
        self.pulled = 0

    async def stream(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.pulled += 1
            yield self.chunk


def send(client: TestClient, path: str, body: Body, headers: dict[str, str]) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return await http.post(path, content=body.stream(), headers=headers)

    return asyncio.run(go())


def too_large(response: httpx.Response) -> None:
    assert response.status_code == 413
    assert response.headers["cache-control"] == "no-store"
    error_body(response, f"The request body is larger than {LIMIT} bytes")


@pytest.mark.parametrize("path", ["/v2/corpora", "/v2/app_clients", "/v1/list-corpora"])
def test_an_unauthenticated_body_is_never_read(api: Api, path: str) -> None:
    body = Body(100)  # 100 MB, chunked
    response = send(api.client, path, body, {"content-type": "application/json"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == no_credentials_challenge(builtin_metadata_url())
    error_body(response, "a bearer token is required")
    assert body.pulled == 0


def test_a_wrong_token_is_refused_before_the_body_is_read(api: Api) -> None:
    body = Body(100)
    headers = {"authorization": "Bearer not.a.token", "content-type": "application/json"}
    response = send(api.client, "/v2/corpora", body, headers)
    assert response.status_code == 401
    assert body.pulled == 0


def test_a_declared_length_over_the_limit_is_refused_unread(api: Api, owner: Caller) -> None:
    body = Body(100)
    headers = {**owner.headers, "content-length": str(100 * CHUNK)}
    too_large(send(api.client, "/v2/corpora", body, headers))
    assert body.pulled == 0


def test_a_chunked_body_is_read_only_up_to_the_limit(api: Api, owner: Caller) -> None:
    body = Body(100 * 16, b" " * (CHUNK // 16))
    headers = {**owner.headers, "content-type": "application/json"}
    too_large(send(api.client, "/v2/corpora", body, headers))
    assert body.pulled == 17  # the limit, and the one chunk that went over it


def test_a_body_within_the_limit_is_served(api: Api, owner: Caller) -> None:
    document: dict[str, Any] = {"key": "docs", "description": "x" * 1000}
    padded = orjson.dumps(document) + b" " * (LIMIT - 2000)
    body = Body(1, padded)
    headers = {**owner.headers, "content-type": "application/json"}
    response = send(api.client, "/v2/corpora", body, headers)
    assert response.status_code == 201, response.text
    assert response.json()["key"] == "docs"


def test_a_body_one_byte_over_the_limit_is_refused(api: Api, owner: Caller) -> None:
    content = b"{" + b" " * (LIMIT - 1) + b"}"
    response = api.client.post("/v2/corpora", content=content, headers=owner.headers)
    assert response.status_code == 413
    error_body(response, f"The request body is larger than {LIMIT} bytes")
