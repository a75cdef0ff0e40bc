"""A change that grants more but that no request finds missing — a longer token lifetime, a new
active signing key — is in force at the very next request after the writing command returned,
on a server in another process (docs/scale.md "What the feed carries"): the server records the
change-feed cursor it applied, and the CLI waits for it before it returns. Real server
processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from gatehouse.store.engine import create_store_engine
from gatehouse.store.store import Store
from tests.factories import LiveServer, claims_of, start_server
from tests.replica.helpers import get_token

KEY = base64.b64encode(os.urandom(32)).decode()  # one master key for every server here


def serve(data_dir: Path, database_url: str, *, seed_demo: bool = True) -> LiveServer:
    """A server with the default change-feed poll (0.25 s), on ``database_url``."""
    data_dir.mkdir(exist_ok=True)
    return start_server(
        data_dir,
        seed_demo=seed_demo,
        GATEHOUSE_DATABASE_URL=database_url,
        GATEHOUSE_MASTER_KEY=KEY,
        GATEHOUSE_BRUTEFORCE_CLIENT_FAILURES="1000000",
        GATEHOUSE_BRUTEFORCE_ADDRESS_FAILURES="1000000",
    )


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    live = serve(tmp_path / "server", database_url)
    try:
        yield live
    finally:
        live.stop()


@pytest.mark.timeout(600)  # a CLI command takes 15-25 s on the loaded machine
def test_a_longer_lifetime_set_by_the_cli_is_in_the_servers_next_token(
    server: LiveServer,
) -> None:
    created = server.cli(
        "clients", "create", "--customer", "demo", "--name", "lifetime", "--role", "viewer"
    )
    client_id, secret = created["client_id"], created["client_secret"]
    with httpx.Client(timeout=10) as http:
        first = claims_of(get_token(http, server, client_id, secret)["access_token"])
        assert first["exp"] - first["iat"] == 1800  # hot in the server now
        for lifetime in (7200, 86400):
            server.cli(
                "clients", "update", created["id"], "--customer", "demo",
                "--lifetime", str(lifetime),
            )  # fmt: skip
            token = get_token(http, server, client_id, secret)
            claims = claims_of(token["access_token"])
            assert claims["exp"] - claims["iat"] == lifetime
            assert int(token["expires_in"]) == lifetime


@pytest.mark.timeout(600)
def test_a_key_rotated_now_by_the_cli_signs_the_servers_next_token(server: LiveServer) -> None:
    client_id, secret = server.demo["client_id"], server.demo["client_secret"]
    with httpx.Client(timeout=10) as http:
        get_token(http, server, client_id, secret)
        for _ in range(2):
            rotated = server.cli("keys", "rotate", "--customer", "demo", "--now")
            token = get_token(http, server, client_id, secret)["access_token"]
            assert jwt.get_unverified_header(token)["kid"] == rotated["active_kid"]


@pytest.mark.timeout(600)
def test_a_stopped_server_is_no_longer_waited_for(
    tmp_path: Path, database_url: str, server: LiveServer
) -> None:
    other = serve(tmp_path / "other", database_url, seed_demo=False)
    engine = create_store_engine(database_url)
    try:
        store = Store(engine)
        latest = store.latest_change_id()
        assert store.readers_behind(change_id=latest + 1, seen_since=0.0) == 2
        other.stop()
        assert store.readers_behind(change_id=latest + 1, seen_since=0.0) == 1
    finally:
        engine.dispose()


@pytest.mark.timeout(600)
def test_a_longer_lifetime_set_through_another_servers_api_is_in_the_next_token(
    tmp_path: Path, database_url: str, server: LiveServer
) -> None:
    """The v2 API of one server changes the lifetime; the very next token from another server
    carries it (the writing server waits for the live readers before it answers)."""
    writer = serve(tmp_path / "writer", database_url, seed_demo=False)
    try:
        created = server.cli(
            "clients", "create", "--customer", "demo", "--name", "api-lifetime", "--role", "viewer"
        )
        client_id, secret = created["client_id"], created["client_secret"]
        owner = server.demo
        with httpx.Client(timeout=30) as http:
            first = claims_of(get_token(http, server, client_id, secret)["access_token"])
            assert first["exp"] - first["iat"] == 1800  # hot in the reading server now
            admin = get_token(http, writer, owner["client_id"], owner["client_secret"])
            for lifetime in (7200, 86400):
                changed = http.patch(
                    f"{writer.base_url}/v2/app_clients/{created['id']}",
                    json={"token_lifetime_seconds": lifetime},
                    headers={
                        "Authorization": f"Bearer {admin['access_token']}",
                        "customer-id": "demo",
                    },
                )
                assert changed.status_code == 200, changed.text
                token = get_token(http, server, client_id, secret)
                claims = claims_of(token["access_token"])
                assert claims["exp"] - claims["iat"] == lifetime
    finally:
        writer.stop()
