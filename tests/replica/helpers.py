"""Helpers for the replica tests: token requests against a server and timed waits."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.factories import LiveServer, start_server

LIMIT = 1.0  # seconds within which every server must see a change (SPEC §6)


def start(
    data_dir: Path, database_url: str, *, seed_demo: bool = True, public_url: str = ""
) -> LiveServer:
    """A real server on ``database_url`` with the default poll interval and a brute-force guard
    that the polling below cannot trip."""
    return start_server(
        data_dir,
        seed_demo=seed_demo,
        GATEHOUSE_PUBLIC_URL=public_url,
        GATEHOUSE_DATABASE_URL=database_url,
        GATEHOUSE_CHANGE_POLL_INTERVAL="0.25",
        GATEHOUSE_BRUTEFORCE_CLIENT_FAILURES="1000000",
        GATEHOUSE_BRUTEFORCE_ADDRESS_FAILURES="1000000",
    )


def token_status(http: httpx.Client, server: LiveServer, client_id: str, secret: str) -> int:
    response = http.post(
        f"{server.base_url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )
    return response.status_code


def get_token(
    http: httpx.Client, server: LiveServer, client_id: str, secret: str
) -> dict[str, str]:
    response = http.post(
        f"{server.base_url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def seconds_until(condition: Callable[[], bool], *, timeout: float = 5.0) -> float:
    """How long, from now, until ``condition()`` holds (polled every 10 ms); fails after
    ``timeout``."""
    started = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - started
        elapsed = time.monotonic() - started
        assert elapsed < timeout, f"not seen within {timeout}s"
        time.sleep(0.01)
