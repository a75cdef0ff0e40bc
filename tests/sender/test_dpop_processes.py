"""A DPoP proof is single-use across server processes (RFC 9449 §11.1): at the token endpoint
through the shared database, at the built-in API through Redis."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.factories import LiveServer, basic_auth, free_port, redis_url, start_server
from tests.sender.proofs import make_proof, new_key

PUBLIC_URL = "http://gatehouse.test"
TOKEN_URL = f"{PUBLIC_URL}/customers/acme/oauth2/token"
CORPORA_URL = f"{PUBLIC_URL}/v2/corpora"
REDIS_URL = redis_url()


def _redis_reason() -> str | None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"no Redis at {REDIS_URL} ({type(exc).__name__})"
    return None


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer, dict[str, str]]]:
    """Two processes on one SQLite database and one Redis, both public at PUBLIC_URL."""
    reason = _redis_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    first = start_server(
        tmp_path, seed_demo=False, GATEHOUSE_PUBLIC_URL=PUBLIC_URL, GATEHOUSE_REDIS_URL=REDIS_URL
    )
    second = None
    try:
        second = start_server(
            tmp_path,
            seed_demo=False,
            port=free_port(),
            GATEHOUSE_PUBLIC_URL=PUBLIC_URL,
            GATEHOUSE_REDIS_URL=REDIS_URL,
        )
        first.cli("customers", "create", "acme", "--name", "Acme")
        created = first.cli("clients", "create", "--customer", "acme", "--name", "p")
        yield first, second, created
    finally:
        first.stop()
        if second is not None:
            second.stop()


def _token_from(server: LiveServer, created: dict[str, str], proof: str) -> httpx.Response:
    auth = basic_auth(created["client_id"], created["client_secret"])
    return httpx.post(
        f"{server.base_url}/customers/acme/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"authorization": auth, "dpop": proof},
        timeout=30,
    )


def _ready(server: LiveServer, created: dict[str, str]) -> None:
    """Wait (with a deadline) until the server knows the new client."""
    import time

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        probe = httpx.post(
            f"{server.base_url}/customers/acme/oauth2/token",
            data={"grant_type": "client_credentials"},
            headers={"authorization": basic_auth(created["client_id"], created["client_secret"])},
            timeout=30,
        )
        if probe.status_code == 200:
            return
    raise AssertionError("the server never learned of the client")


def test_a_proof_used_at_one_process_is_refused_by_the_other(
    two_servers: tuple[LiveServer, LiveServer, dict[str, str]],
) -> None:
    first, second, created = two_servers
    _ready(first, created)
    _ready(second, created)
    key = new_key()
    proof = make_proof(key, "POST", TOKEN_URL)
    assert _token_from(first, created, proof).status_code == 200
    replay = _token_from(second, created, proof)
    assert replay.status_code == 400
    assert replay.json() == {
        "error": "invalid_dpop_proof",
        "error_description": "the DPoP proof has been used before",
    }
    # The API: one proof, accepted by one process, refused by the other.
    token = _token_from(second, created, make_proof(key, "POST", TOKEN_URL)).json()["access_token"]
    call = make_proof(key, "GET", CORPORA_URL, token=token)
    headers = {"authorization": f"DPoP {token}", "dpop": call}
    assert httpx.get(f"{first.base_url}/v2/corpora", headers=headers).status_code == 200
    again = httpx.get(f"{second.base_url}/v2/corpora", headers=headers)
    assert again.status_code == 401
    assert again.json()["messages"] == ["the DPoP proof has been used before"]
