"""A change made by another process reaches a running server's in-memory replica within one
second (SPEC §6): clients created, changed, disabled, rotated, revoked and deleted by the CLI or
by another writer, on SQLite and with server and CLI on one fresh PostgreSQL database; and two
servers on one PostgreSQL database see each other's changes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gatehouse.services import app_clients
from gatehouse.services.app_clients import ClientChanges
from gatehouse.services.notify import UNHEARD
from gatehouse.store.engine import create_store_engine
from gatehouse.store.store import Store
from tests.factories import TEST_ACTOR, LiveServer
from tests.replica.helpers import LIMIT, get_token, seconds_until, start, token_status


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    live = start(tmp_path, database_url)
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def writer(database_url: str) -> Iterator[Store]:
    """A writer in this test process: another process than the server."""
    engine = create_store_engine(database_url)
    try:
        yield Store(engine)
    finally:
        engine.dispose()


def test_cli_and_other_writers_changes_reach_the_server_within_one_second(
    server: LiveServer, writer: Store
) -> None:
    with httpx.Client(timeout=5) as http:
        created = server.cli(
            "clients", "create", "--customer", "demo", "--name", "fresh", "--role", "viewer"
        )
        client_id, secret = created["client_id"], created["client_secret"]
        app_id = created["id"]

        def status(with_secret: str) -> int:
            return token_status(http, server, client_id, with_secret)

        assert seconds_until(lambda: status(secret) == 200) < LIMIT

        # Roles changed by another writer: the granted scope follows.
        app_clients.update_client(
            writer,
            customer_id="demo",
            app_id=app_id,
            changes=ClientChanges(api_roles=["viewer", "corpus_developer"]),
            actor=TEST_ACTOR,
            notify=UNHEARD,
        )

        def scope() -> str:
            return get_token(http, server, client_id, secret)["scope"]

        assert seconds_until(lambda: scope() == "viewer corpus_developer") < LIMIT

        # Disabled, then enabled again.
        app_clients.update_client(
            writer,
            customer_id="demo",
            app_id=app_id,
            changes=ClientChanges(enabled=False),
            actor=TEST_ACTOR,
            notify=UNHEARD,
        )
        assert seconds_until(lambda: status(secret) == 401) < LIMIT
        app_clients.update_client(
            writer,
            customer_id="demo",
            app_id=app_id,
            changes=ClientChanges(enabled=True),
            actor=TEST_ACTOR,
            notify=UNHEARD,
        )
        assert seconds_until(lambda: status(secret) == 200) < LIMIT

        # Secret rotated by the CLI, no grace: the new one works and the old one stops.
        rotated = server.cli("clients", "rotate-secret", app_id, "--customer", "demo")
        new_secret = rotated["client_secret"]
        assert seconds_until(lambda: status(new_secret) == 200 and status(secret) == 401) < LIMIT

        # Tokens revoked by the CLI: a token issued before is refused by the API.
        token = get_token(http, server, client_id, new_secret)["access_token"]

        def api_status() -> int:
            response = http.get(
                f"{server.base_url}/v2/corpora", headers={"Authorization": f"Bearer {token}"}
            )
            return response.status_code

        assert api_status() == 200
        server.cli("clients", "revoke-tokens", app_id, "--customer", "demo")
        assert seconds_until(lambda: api_status() == 401) < LIMIT

        # Deleted by the CLI.
        server.cli("clients", "delete", app_id, "--customer", "demo")
        assert seconds_until(lambda: status(new_secret) == 401) < LIMIT


@pytest.mark.postgres
def test_two_servers_on_one_postgresql_database_see_each_others_changes(
    tmp_path: Path, postgres_url: str
) -> None:
    # One issuer: the same PostgreSQL, master key (same data dir) and public URL (SPEC §6).
    first = start(tmp_path, postgres_url, public_url="http://gatehouse.test")
    second = start(tmp_path, postgres_url, seed_demo=False, public_url="http://gatehouse.test")
    try:
        with httpx.Client(timeout=5) as http:
            demo = first.demo
            owner = get_token(http, second, demo["client_id"], demo["client_secret"])
            bearer = {"Authorization": f"Bearer {owner['access_token']}"}

            response = http.post(
                f"{first.base_url}/v2/app_clients",
                json={"type": "client_credentials", "name": "made on first", "api_roles": []},
                headers=bearer,
            )
            assert response.status_code == 201, response.text
            made = response.json()

            def both(expected: int, secret: str) -> bool:
                return all(
                    token_status(http, s, made["client_id"], secret) == expected
                    for s in (first, second)
                )

            assert seconds_until(lambda: both(200, made["client_secret"])) < LIMIT

            response = http.patch(
                f"{second.base_url}/v2/app_clients/{made['id']}",
                json={"enabled": False},
                headers=bearer,
            )
            assert response.status_code == 200, response.text
            assert seconds_until(lambda: both(401, made["client_secret"])) < LIMIT
    finally:
        second.stop()
        first.stop()
