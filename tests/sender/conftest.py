"""Fixtures of the sender-constrained token tests: the app in-process (the ASGI lane) and a real
``gatehouse serve`` process (the fast lane), each with a client and the URLs a proof names."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.runtime import Runtime
from tests.conftest import copy_migrated_sqlite, make_settings
from tests.factories import (
    DPOP_ALGS,
    LiveServer,
    add_client,
    add_customer,
    basic_auth,
    builtin_metadata_url,
    no_credentials_challenge,
    start_server,
)

GRANT = {"grant_type": "client_credentials"}
NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}
# RFC 9449 §7.1: a request without credentials is told about both schemes.
BOTH_CHALLENGES = no_credentials_challenge()


def both_challenges(base_url: str) -> str:
    """RFC 9449 §7.1 with RFC 9728 §5.1: the built-in API's challenge without credentials."""
    return no_credentials_challenge(builtin_metadata_url(base_url))


def dpop_challenge(error: str, description: str) -> str:
    return f'DPoP error="{error}", error_description="{description}", algs="{DPOP_ALGS}"'


@dataclass
class Lane:
    """One way into the server, with one app client of customer ``acme``."""

    name: str
    http: Any  # httpx.Client or Starlette's TestClient
    base_url: str
    client_id: str
    secret: str

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/customers/acme/oauth2/token"

    @property
    def corpora_url(self) -> str:
        return f"{self.base_url}/v2/corpora"

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": basic_auth(self.client_id, self.secret)}

    def post_token(self, proof: str | list[str] | None = None, **data: str) -> Any:
        headers: list[tuple[str, str]] = list(self.auth.items())
        for value in [proof] if isinstance(proof, str) else proof or []:
            headers.append(("dpop", value))
        return self.http.post(self.token_url, data={**GRANT, **data}, headers=headers)


def in_process_lane(tmp_path: Path, template: Path, **settings: Any) -> Iterator[Lane]:
    """The app in-process with ``settings``; the client is written to its own database."""
    chosen = make_settings(tmp_path, **settings)
    copy_migrated_sqlite(chosen, template)
    runtime = Runtime.open(chosen)
    try:
        with TestClient(create_app(runtime=runtime), base_url="http://testserver") as client:
            add_customer(runtime)
            record, secret = add_client(runtime)
            yield Lane("asgi", client, "http://testserver", record.client_id, secret)
    finally:
        runtime.store.engine.dispose()


@pytest.fixture
def asgi_lane(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Lane]:
    yield from in_process_lane(tmp_path, migrated_sqlite)


def acme_server(data_dir: Path, name: str, *, nonce: bool = False) -> Iterator[LiveServer]:
    """A real server process with customer ``acme`` and one owner client ``name`` made by the
    CLI (in ``server.demo``), stopped afterwards; ``nonce``: GATEHOUSE_DPOP_NONCE."""
    flag = "true" if nonce else "false"
    server = start_server(data_dir, seed_demo=False, GATEHOUSE_DPOP_NONCE=flag)
    try:
        server.cli("customers", "create", "acme", "--name", "Acme")
        server.demo = server.cli(
            "clients", "create", "--customer", "acme", "--name", name, "--role", "owner"
        )
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sender_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from acme_server(tmp_path_factory.mktemp("sender"), "dpop")


@pytest.fixture
def live_lane(sender_server: LiveServer) -> Iterator[Lane]:
    demo = sender_server.demo
    with httpx.Client(timeout=30) as http:
        yield Lane(
            "fastlane", http, sender_server.base_url, demo["client_id"], demo["client_secret"]
        )


@pytest.fixture(params=["asgi", "fastlane"])
def lane(request: pytest.FixtureRequest) -> Lane:
    """Each test using this runs on the ASGI route and on the real server's fast lane."""
    chosen: Lane = request.getfixturevalue("asgi_lane" if request.param == "asgi" else "live_lane")
    return chosen


def error_of(response: Any) -> tuple[int, dict[str, Any], str | None]:
    return response.status_code, response.json(), response.headers.get("www-authenticate")
