"""Brute-force protection of client authentication (RFC 6749 §2.3.1, SPEC §6)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient
from tests.conftest import make_settings
from tests.factories import add_client, add_customer, start_server
from tests.oauth.conftest import HttpClient, HttpResponse, assert_error

from gatehouse.app import create_app
from gatehouse.runtime import Runtime

CLIENT_LIMIT = 3
ADDRESS_LIMIT = 5
CLIENT_BLOCKED = "too many failed authentications for this client from this address"
ADDRESS_BLOCKED = "too many failed client authentications from this address"


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[tuple[TestClient, Runtime]]:
    settings = make_settings(
        tmp_path,
        bruteforce_client_failures=CLIENT_LIMIT,
        bruteforce_address_failures=ADDRESS_LIMIT,
    )
    runtime = Runtime.open(settings)
    add_customer(runtime, "acme")
    with TestClient(create_app(runtime=runtime), base_url="http://testserver") as http:
        yield http, runtime
    runtime.store.engine.dispose()


def _request(http: HttpClient, client_id: str, secret: str) -> HttpResponse:
    return http.post(
        "/customers/acme/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


def _assert_blocked(response: HttpResponse, description: str) -> None:
    assert_error(response, 429, "invalid_request", description)
    assert 1 <= int(response.headers["retry-after"]) <= 61


def test_failures_for_one_client_from_one_address_get_429_with_retry_after(
    guarded: tuple[TestClient, Runtime],
) -> None:
    http, runtime = guarded
    record, secret = add_client(runtime, "acme")
    for _ in range(CLIENT_LIMIT):
        assert _request(http, record.client_id, "wrong").status_code == 401
    _assert_blocked(_request(http, record.client_id, "wrong"), CLIENT_BLOCKED)
    # While blocked, even the right secret is refused for this client from this address.
    _assert_blocked(_request(http, record.client_id, secret), CLIENT_BLOCKED)


def test_another_client_from_the_same_address_still_works_below_the_address_limit(
    guarded: tuple[TestClient, Runtime],
) -> None:
    http, runtime = guarded
    attacked, _ = add_client(runtime, "acme")
    other, other_secret = add_client(runtime, "acme")
    for _ in range(CLIENT_LIMIT):
        _request(http, attacked.client_id, "wrong")
    assert _request(http, attacked.client_id, "wrong").status_code == 429
    response = _request(http, other.client_id, other_secret)
    assert response.status_code == 200, response.text


def test_failures_across_clients_from_one_address_block_the_address(
    guarded: tuple[TestClient, Runtime],
) -> None:
    http, runtime = guarded
    good, good_secret = add_client(runtime, "acme")
    for n in range(ADDRESS_LIMIT):
        assert _request(http, f"unknown-client-{n:020d}", "wrong").status_code == 401
    _assert_blocked(_request(http, good.client_id, good_secret), ADDRESS_BLOCKED)


def test_requests_that_fail_before_authentication_do_not_count(
    guarded: tuple[TestClient, Runtime],
) -> None:
    http, runtime = guarded
    record, secret = add_client(runtime, "acme")
    for _ in range(CLIENT_LIMIT * 2):
        response = http.post(
            "/customers/acme/oauth2/token",
            data={"grant_type": "password", "client_id": record.client_id, "client_secret": "x"},
        )
        assert response.status_code == 400
    assert _request(http, record.client_id, secret).status_code == 200


def test_live_server_blocks_one_address_and_not_another(tmp_path: Path) -> None:
    server = start_server(
        tmp_path,
        GATEHOUSE_BRUTEFORCE_CLIENT_FAILURES=str(CLIENT_LIMIT),
        GATEHOUSE_BRUTEFORCE_ADDRESS_FAILURES=str(ADDRESS_LIMIT),
    )
    try:
        demo = server.demo
        other = server.cli("clients", "create", "--customer", "demo", "--name", "other")
        with httpx.Client(base_url=server.base_url) as http:
            for _ in range(CLIENT_LIMIT):
                assert _token(http, demo["token_url"], demo["client_id"], "bad").status_code == 401
            blocked = _token(http, demo["token_url"], demo["client_id"], demo["client_secret"])
            _assert_blocked(blocked, CLIENT_BLOCKED)
            fine = _token(http, demo["token_url"], other["client_id"], other["client_secret"])
            assert fine.status_code == 200, fine.text
        # Another loopback address is a different address: not affected.
        transport = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(base_url=server.base_url, transport=transport) as http:
            response = _token(http, demo["token_url"], demo["client_id"], demo["client_secret"])
            assert response.status_code == 200, response.text
    finally:
        server.stop()


def _token(http: httpx.Client, url: str, client_id: str, secret: str) -> httpx.Response:
    return http.post(
        url,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
