"""The token path reads only the in-memory replica (SPEC §6, STYLE rule 10): no database
statement while nothing changes, and tokens keep coming while the database is unreachable."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.runtime import Runtime
from gatehouse.services import app_clients
from gatehouse.services.notify import UNHEARD
from tests.conftest import make_settings
from tests.factories import TEST_ACTOR, add_client, add_customer, basic_auth
from tests.replica.helpers import get_token, start

BACKGROUND = {"gatehouse-replica", "gatehouse-audit", "gatehouse-maintenance"}


class StatementLog:
    """Every statement the engine runs, with the name of the thread that ran it."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str]] = []
        self.recording = False

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.recording:
            self.entries.append((threading.current_thread().name, " ".join(statement.split())))

    def of(self, thread: str) -> list[str]:
        return [s for name, s in self.entries if name == thread]

    def outside_background(self) -> list[tuple[str, str]]:
        return [(name, s) for name, s in self.entries if name not in BACKGROUND]


@pytest.fixture
def runtime_on(tmp_path: Path, database_url: str) -> Iterator[Runtime]:
    runtime = Runtime.open(make_settings(tmp_path, database_url=database_url))
    yield runtime
    runtime.store.engine.dispose()


def test_issuing_200_tokens_runs_no_statement_outside_the_background_threads(
    runtime_on: Runtime,
) -> None:
    runtime = runtime_on
    add_customer(runtime)
    record, secret = add_client(runtime, roles=("viewer",))
    log = StatementLog()
    event.listen(runtime.store.engine, "before_cursor_execute", log)
    try:
        with TestClient(create_app(runtime=runtime), base_url="http://testserver") as client:
            headers = {"Authorization": basic_auth(record.client_id, secret)}
            form = {"grant_type": "client_credentials"}
            assert client.post("/oauth2/token", data=form, headers=headers).status_code == 200
            time.sleep(0.2)  # let the audit writer flush the warm-up token
            log.recording = True
            statuses = [
                client.post("/oauth2/token", data=form, headers=headers).status_code
                for _ in range(200)
            ]
            time.sleep(0.2)  # a few more polls of the change feed while nothing changes
            log.recording = False
    finally:
        event.remove(runtime.store.engine, "before_cursor_execute", log)
    assert statuses == [200] * 200
    # The token path: not one statement.
    assert log.outside_background() == []
    # The poller ran meanwhile (so the listener was live) and only read the change feed.
    polls = log.of("gatehouse-replica")
    assert len(polls) >= 2
    # ... and reported its applied cursor (the heartbeat, docs/scale.md "What the feed carries").
    heartbeat = ("UPDATE change_readers", "INSERT INTO change_readers")
    assert all(
        (s.startswith("SELECT") and "FROM changes" in s) or s.startswith(heartbeat) for s in polls
    ), polls
    # The audit writer wrote the issued tokens off the token path, in batches.
    writes = log.of("gatehouse-audit")
    assert writes, "the audit writer flushed nothing"
    assert all(s.startswith(("INSERT INTO audit_events", "UPDATE app_clients")) for s in writes)
    assert len(writes) < 100


def test_rotated_secret_with_grace_old_works_until_it_ends_new_at_once(
    runtime: Runtime, client: TestClient
) -> None:
    add_customer(runtime)
    record, old = add_client(runtime)
    rotated, new = app_clients.rotate_secret(
        runtime.store,
        runtime.master_key,
        customer_id="acme",
        app_id=record.id,
        grace_period_seconds=2,
        keep_secret=True,
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    runtime.changed()
    assert rotated.previous_secret_expires_at is not None

    def status(secret: str) -> int:
        response = client.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": basic_auth(record.client_id, secret)},
        )
        return response.status_code

    assert time.time() < rotated.previous_secret_expires_at
    assert (status(new), status(old)) == (200, 200)
    time.sleep(max(0.0, rotated.previous_secret_expires_at - time.time()) + 0.05)
    assert (status(new), status(old)) == (200, 401)


@pytest.mark.postgres
def test_tokens_are_issued_while_the_database_refuses_every_connection(
    tmp_path: Path, postgres_admin_url: str, postgres_url: str
) -> None:
    name = postgres_url.rsplit("/", 1)[1]
    server = start(tmp_path, postgres_url)
    try:
        demo = server.demo
        with httpx.Client(timeout=5) as http:
            get_token(http, server, demo["client_id"], demo["client_secret"])
            with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (name,),
                )
                try:
                    with pytest.raises(psycopg.OperationalError):
                        psycopg.connect(postgres_url, connect_timeout=3).close()
                    tokens = [
                        get_token(http, server, demo["client_id"], demo["client_secret"])
                        for _ in range(50)
                    ]
                    time.sleep(0.5)  # the poller fails a few times meanwhile
                    tokens += [
                        get_token(http, server, demo["client_id"], demo["client_secret"])
                        for _ in range(50)
                    ]
                    sessions = admin.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
                    ).fetchone()
                finally:
                    admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        assert len({t["access_token"] for t in tokens}) == 100
        assert sessions == (0,)
    finally:
        server.stop()
