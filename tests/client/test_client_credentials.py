"""ClientCredentials: caching, renewal, single flight, 401 retry, RFC 6749 §2.3.1 encoding."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import requests
from tests.client.token_server import CLIENT_ID, CLIENT_SECRET, TokenServer, run_token_server

from gatehouse.client import ClientCredentials, TokenRequestError, basic_credentials


@dataclass
class Env:
    server: TokenServer
    url: str

    def auth(self, **kwargs: Any) -> ClientCredentials:
        secret = kwargs.pop("client_secret", CLIENT_SECRET)
        return ClientCredentials(f"{self.url}/oauth2/token", CLIENT_ID, secret, **kwargs)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def env() -> Iterator[Env]:
    server = TokenServer()
    with run_token_server(server) as url:
        yield Env(server, url)


def test_token_is_cached_across_requests(env: Env) -> None:
    with httpx.Client(auth=env.auth()) as http:
        for _ in range(3):
            assert http.get(f"{env.url}/api").status_code == 200
    assert (env.server.token_requests, env.server.api_requests) == (1, 3)


def test_token_is_renewed_before_expiry(env: Env) -> None:
    clock = Clock()
    auth = env.auth(renew_before=60, monotonic=clock)
    first = auth.get_token()
    clock.now += 1800 - 61
    assert auth.get_token() == first
    clock.now += 1
    assert auth.get_token() != first
    assert env.server.token_requests == 2


def test_short_lifetime_renews_half_way_not_constantly(env: Env) -> None:
    env.server.lifetime = 10
    clock = Clock()
    auth = env.auth(renew_before=60, monotonic=clock)
    first = auth.get_token()
    clock.now += 4.9
    assert auth.get_token() == first
    clock.now += 0.2
    assert auth.get_token() != first
    assert env.server.token_requests == 2


def test_one_token_request_in_flight_across_threads(env: Env) -> None:
    env.server.delay = 0.3
    auth = env.auth()
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def call() -> None:
        with httpx.Client(auth=auth) as http:
            barrier.wait()
            statuses.append(http.get(f"{env.url}/api").status_code)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 8
    assert env.server.token_requests == 1


def test_one_token_request_in_flight_across_tasks(env: Env) -> None:
    env.server.delay = 0.3
    auth = env.auth()

    async def main() -> list[int]:
        async with httpx.AsyncClient(auth=auth) as http:
            responses = await asyncio.gather(*(http.get(f"{env.url}/api") for _ in range(20)))
        return [r.status_code for r in responses]

    assert asyncio.run(main()) == [200] * 20
    assert env.server.token_requests == 1


def test_401_is_retried_once_with_a_fresh_token(env: Env) -> None:
    with httpx.Client(auth=env.auth()) as http:
        assert http.get(f"{env.url}/api").status_code == 200
        env.server.revoke_all()
        assert http.get(f"{env.url}/api").status_code == 200
    assert (env.server.token_requests, env.server.api_requests) == (2, 3)


def test_401_is_retried_only_once(env: Env) -> None:
    env.server.always_401 = True
    with httpx.Client(auth=env.auth()) as http:
        assert http.get(f"{env.url}/api").status_code == 401
    assert (env.server.token_requests, env.server.api_requests) == (2, 2)


def test_async_401_is_retried_once(env: Env) -> None:
    auth = env.auth()

    async def main() -> int:
        async with httpx.AsyncClient(auth=auth) as http:
            await http.get(f"{env.url}/api")
            env.server.revoke_all()
            return (await http.get(f"{env.url}/api")).status_code

    assert asyncio.run(main()) == 200
    assert env.server.token_requests == 2


def test_basic_auth_form_encodes_id_and_secret(env: Env) -> None:
    env.auth().get_token()  # the server decodes with unquote_plus and accepts it
    assert (
        basic_credentials("a b:ü", "x+y/=")
        == "Basic " + base64.b64encode(b"a+b%3A%C3%BC:x%2By%2F%3D").decode()
    )
    assert env.server.seen_auth[0] == basic_credentials(CLIENT_ID, CLIENT_SECRET)


def test_client_secret_post_sends_credentials_in_the_body(env: Env) -> None:
    env.auth(
        auth_method="client_secret_post", scope=["viewer", "owner"], audience="api"
    ).get_token()
    assert env.server.seen_auth == [""]
    assert env.server.seen_forms[0] == {
        "grant_type": ["client_credentials"],
        "scope": ["viewer owner"],
        "audience": ["api"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
    }


def test_token_endpoint_error_is_raised(env: Env) -> None:
    auth = env.auth(client_secret="wrong")
    with pytest.raises(TokenRequestError) as info:
        auth.get_token()
    assert (info.value.error, info.value.status_code) == ("invalid_client", 401)
    assert info.value.description == "client authentication failed"
    assert "wrong" not in repr(auth) + str(info.value)


def test_requests_auth_caches_and_retries(env: Env) -> None:
    from gatehouse.client import RequestsClientCredentials

    auth = RequestsClientCredentials(f"{env.url}/oauth2/token", CLIENT_ID, CLIENT_SECRET)
    assert isinstance(auth, requests.auth.AuthBase)
    with requests.Session() as session:
        assert session.get(f"{env.url}/api", auth=auth, timeout=10).status_code == 200
        env.server.revoke_all()
        response = session.get(f"{env.url}/api", auth=auth, timeout=10)
        assert response.status_code == 200
        assert [r.status_code for r in response.history] == [401]
    assert (env.server.token_requests, env.server.api_requests) == (2, 3)


def test_client_imports_without_requests() -> None:
    code = (
        "import sys\n"
        "sys.modules['requests'] = None\n"
        "import gatehouse.client\n"
        "gatehouse.client.ClientCredentials('http://t.test/token', 'id', 'secret')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
