"""The fast lane keeps uvicorn's promises: bounded memory for a pipeline never read, a bounded
share of the loop per connection, ``limit_concurrency``, and no response lost at shutdown."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from gatehouse.fastbatch import MAX_BATCH, PER_CONNECTION
from gatehouse.fastlane import FastLaneProtocol
from gatehouse.oauth.endpoint import Response, TokenRequest
from gatehouse.runtime import Runtime
from tests.http.conftest import Client, token_request
from tests.http.threadserver import ThreadServer, serving, wait_for
from tests.oauth.rawhttp import RawConnection


@pytest.fixture
def fast_server(runtime: Runtime) -> Iterator[ThreadServer]:
    with serving(runtime, FastLaneProtocol) as server:
        yield server


def send_forever(sock: socket.socket, data: bytes) -> threading.Thread:
    """Send ``data`` in a thread that stops once the server stops reading (or closes)."""

    def run() -> None:
        # A timeout or a closed socket: the server stopped reading, as it should.
        with contextlib.suppress(OSError):
            sock.sendall(data)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_pipeline_never_read_holds_bounded_memory(
    fast_server: ThreadServer, token_client: Client
) -> None:
    request = token_request(token_client)
    sock = fast_server.connect()
    sock.settimeout(5)
    sender = send_forever(sock, request * 20_000)  # 5 MB of requests; no response is read
    try:
        wait_for(
            lambda: any(c.flow.write_paused for c in fast_server.connections),
            "the server never filled its write buffer",
        )
        [connection] = fast_server.connections

        def state(c: Any = connection) -> tuple[int, int, int, bool]:
            return (
                c.transport.get_write_buffer_size(),
                len(c.queue),
                len(c._held),
                c._lane_paused,
            )

        written, queued, held, paused = fast_server.call(state)
        assert paused  # no reading while the responses are not taken
        assert written < 64 * 1024 + PER_CONNECTION * 2048  # the high-water mark and one share
        assert queued <= 8192 // len(request) + 1  # one slice of parsed requests at most
        assert held <= 512 * 1024  # the rest of one read
        answered = fast_server.server.server_state.total_requests
        assert answered < 20_000
    finally:
        sock.close()
        sender.join(10)


def test_one_connections_pipeline_is_answered_a_share_per_turn(
    runtime: Runtime, token_client: Client
) -> None:
    endpoint = runtime.token_endpoint
    batches: list[int] = []
    real = endpoint.handle_batch

    def recording(requests: list[TokenRequest]) -> list[Response]:
        batches.append(len(requests))
        return real(requests)

    endpoint.handle_batch = recording  # type: ignore[method-assign]
    with serving(runtime, FastLaneProtocol) as server:
        conns = [RawConnection(server.base_url) for _ in range(3)]
        for conn in conns:
            conn.send(token_request(token_client) * 400)
        for conn in conns:
            for _ in range(400):
                assert conn.read_response().status == 200
            conn.close()
    assert sum(batches) == 1200
    assert max(batches) <= min(MAX_BATCH, 3 * PER_CONNECTION)
    assert len(batches) >= 400 // PER_CONNECTION


def test_shutdown_under_load_answers_every_request_received(
    fast_server: ThreadServer, token_client: Client
) -> None:
    socks = [fast_server.connect() for _ in range(4)]
    for sock in socks:
        sock.settimeout(20)
    senders = [send_forever(sock, token_request(token_client) * 1500) for sock in socks]
    shut: list[int] = []

    def shut_down_while_queued() -> None:
        # On the server's loop: once requests wait in the queues, shut every connection down,
        # as uvicorn's Server.shutdown does, and stop the server.
        connections = fast_server.connections
        # Under load: all four have sent requests, and some wait in the queues.
        started = len(connections) == 4 and all(c._active_at for c in connections)
        if not started or not any(c.queue for c in connections):
            assert fast_server.loop is not None
            fast_server.loop.call_soon(shut_down_while_queued)
            return
        shut.append(sum(len(c.queue) for c in connections))
        for connection in connections:
            connection.shutdown()
        fast_server.server.should_exit = True

    assert fast_server.loop is not None
    fast_server.loop.call_soon_threadsafe(shut_down_while_queued)
    received = 0
    try:
        for sock in socks:
            conn = RawConnection.__new__(RawConnection)
            conn.sock, conn.buffer, conn.host = sock, b"", ""
            while not conn.at_eof():
                response = conn.read_response()
                assert response.status == 200
                received += 1
        for sender in senders:
            sender.join(20)
    finally:
        for sock in socks:
            sock.close()
    fast_server.thread.join(30)
    assert shut[0] > 0  # the shutdown did find requests waiting
    assert received == fast_server.server.server_state.total_requests


def test_limit_concurrency_is_honoured_by_the_fast_lane(
    runtime: Runtime, token_client: Client
) -> None:
    with serving(runtime, FastLaneProtocol, limit_concurrency=2) as server:
        idle = server.connect()
        wait_for(lambda: len(server.connections) == 1, "the first connection was not accepted")
        conn = RawConnection(server.base_url)
        wait_for(lambda: len(server.connections) == 2, "the second connection was not accepted")
        conn.send(token_request(token_client))
        response = conn.read_response()
        assert response.status == 503
        assert response.json() == {
            "error": "temporarily_unavailable",
            "error_description": "too many requests at once",
        }
        assert conn.at_eof()
        conn.close()
        idle.close()
        wait_for(lambda: len(server.connections) == 0, "the connections were not closed")
        again = RawConnection(server.base_url)
        again.send(token_request(token_client))
        assert again.read_response().status == 200
        again.close()
