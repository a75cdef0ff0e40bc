"""A cold client's store read is made off the event loop (docs/scale.md "Cold clients off the
event loop"): while it waits, hot clients are answered, on the fast lane and on the Starlette
route; a connection's pipelined answers still leave in request order (RFC 9112 §9.3.2)."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import event
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gatehouse.fastlane import FastLaneProtocol
from gatehouse.runtime import Runtime
from tests.conftest import make_settings
from tests.factories import add_client, add_customer
from tests.http.conftest import Client, token_request
from tests.http.threadserver import serving, wait_for
from tests.oauth.rawhttp import RawConnection, RawResponse

PROTOCOLS: dict[str, Any] = {"httptools": HttpToolsProtocol, "fastlane": FastLaneProtocol}


class ColdReadGate:
    """Holds every client read a cold-read worker makes until :meth:`open` (a real statement
    on the real store, stopped in SQLAlchemy's ``before_cursor_execute``)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()
        self.held_on: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        name = threading.current_thread().name
        if "FROM app_clients" in statement and not self.opened.is_set():
            self.held_on.append(name)
            self.entered.set()
            self.opened.wait(20)

    def open(self) -> None:
        self.opened.set()


@pytest.fixture
def runtime_on(tmp_path: Path, database_url: str) -> Iterator[Runtime]:
    runtime = Runtime.open(make_settings(tmp_path, database_url=database_url))
    yield runtime
    runtime.replica.stop()
    runtime.store.engine.dispose()


def clients(runtime: Runtime) -> tuple[Client, Client]:
    """A hot client (in the cache) and a cold one (in the store only)."""
    add_customer(runtime, "acme")
    hot, hot_secret = add_client(runtime, "acme", roles=("viewer",))
    cold, cold_secret = add_client(runtime, "acme", roles=("viewer",))
    runtime.replica.clients.forget(cold.id)
    assert runtime.replica.find_client(hot.client_id) is not None
    return Client("acme", hot.client_id, hot_secret), Client("acme", cold.client_id, cold_secret)


def client_id_of(response: RawResponse) -> str:
    assert response.status == 200, response.body
    token = str(response.json()["access_token"])
    payload = token.split(".")[1]
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["client_id"])


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_a_hot_client_is_answered_while_a_cold_clients_read_waits(
    runtime_on: Runtime, protocol: str
) -> None:
    hot, cold = clients(runtime_on)
    gate = ColdReadGate()
    engine = runtime_on.store.engine
    with serving(runtime_on, PROTOCOLS[protocol]) as server:
        waiting, other = RawConnection(server.base_url), RawConnection(server.base_url)
        event.listen(engine, "before_cursor_execute", gate)
        try:
            waiting.send(token_request(cold))
            assert gate.entered.wait(20), "the cold client was never read"
            other.send(token_request(hot))
            answered = other.read_response()  # while the cold read is held
            assert not gate.opened.is_set()
            gate.open()
            assert client_id_of(answered) == hot.client_id
            assert client_id_of(waiting.read_response()) == cold.client_id
        finally:
            gate.open()
            event.remove(engine, "before_cursor_execute", gate)
            waiting.close()
            other.close()
    # The read ran in a worker thread, not on the server's event loop.
    assert gate.held_on
    assert all(name.startswith("gatehouse-coldread") for name in gate.held_on)


def test_pipelined_answers_behind_a_parked_request_keep_their_order(
    runtime_on: Runtime,
) -> None:
    hot, cold = clients(runtime_on)
    gate = ColdReadGate()
    engine = runtime_on.store.engine
    with serving(runtime_on, FastLaneProtocol) as server:
        conn, other = RawConnection(server.base_url), RawConnection(server.base_url)
        event.listen(engine, "before_cursor_execute", gate)
        try:
            conn.send(token_request(cold) + token_request(hot) + token_request(hot))
            assert gate.entered.wait(20), "the cold client was never read"
            # Another connection is served meanwhile: the hot answers behind the parked one
            # were made, and wait for it.
            other.send(token_request(hot))
            assert client_id_of(other.read_response()) == hot.client_id
            gate.open()
            order = [client_id_of(conn.read_response()) for _ in range(3)]
        finally:
            gate.open()
            event.remove(engine, "before_cursor_execute", gate)
            conn.close()
            other.close()
    assert order == [cold.client_id, hot.client_id, hot.client_id]


def test_requests_for_one_cold_client_share_one_read(runtime_on: Runtime) -> None:
    _hot, cold = clients(runtime_on)
    gate = ColdReadGate()
    engine = runtime_on.store.engine
    with serving(runtime_on, FastLaneProtocol) as server:
        conns = [RawConnection(server.base_url) for _ in range(5)]
        event.listen(engine, "before_cursor_execute", gate)
        try:
            conns[0].send(token_request(cold))
            assert gate.entered.wait(20), "the cold client was never read"
            for conn in conns[1:]:
                conn.send(token_request(cold))
            # Every request is in, parked on the one read, before the read is let go.
            wait_for(lambda: runtime_on.replica.cold.shared == 4, "not parked on one read")
            gate.open()
            answered = [client_id_of(conn.read_response()) for conn in conns]
        finally:
            gate.open()
            event.remove(engine, "before_cursor_execute", gate)
            for conn in conns:
                conn.close()
    assert answered == [cold.client_id] * 5
    assert len(gate.held_on) == 1
