"""Connections that take too long, and one connection too many (gatehouse/connlimits.py): an
idle or half-sent connection is closed (408 for a half-sent request, RFC 9110 §15.5.9), and one
over ``max_connections`` is answered 503 and closed at once. Small timeouts; every wait is on a
condition with a deadline."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatehouse.fastlane import FastLaneProtocol
from gatehouse.runtime import Runtime
from gatehouse.settings import Settings
from tests.conftest import make_settings
from tests.factories import add_client, add_customer
from tests.http.conftest import Client, token_request
from tests.http.threadserver import ThreadServer, serving, wait_for
from tests.oauth.rawhttp import RawConnection

TIMED_OUT = {
    "error": "invalid_request",
    "error_description": "the request took too long to arrive",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path,
        timeout_idle=0.3,
        timeout_headers=0.3,
        timeout_body=0.3,
    )


@pytest.fixture
def server(runtime: Runtime) -> Iterator[ThreadServer]:
    with serving(runtime, FastLaneProtocol, timeout_keep_alive=0.3) as served:
        yield served


def closed_by_server(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (the socket's own timeout is the deadline)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_a_connection_that_sends_nothing_is_closed(server: ThreadServer) -> None:
    with server.connect() as sock:
        assert closed_by_server(sock) == b""
    wait_for(lambda: not server.connections, "the idle connection was kept")


def test_half_sent_headers_get_408_and_the_connection_closed(
    server: ThreadServer, token_client: Client
) -> None:
    head = token_request(token_client).partition(b"\r\n\r\n")[0]
    with server.connect() as sock:
        sock.sendall(head[:60])
        answer = closed_by_server(sock)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert answer.endswith(b'"error_description":"the request took too long to arrive"}')


@pytest.mark.parametrize("path", ["/oauth2/token", "/console/login", "/v2/corpora"])
def test_a_half_sent_body_gets_408_and_the_connection_closed(
    server: ThreadServer, token_client: Client, path: str
) -> None:
    request = token_request(token_client).replace(b"/customers/acme/oauth2/token", path.encode(), 1)
    with server.connect() as sock:
        sock.sendall(request[:-10])
        answer = closed_by_server(sock)
    if path == "/v2/corpora":  # the API authenticates first: Basic is not a bearer token
        assert answer.startswith(b"HTTP/1.1 401 ")
    else:
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    wait_for(lambda: not server.connections, "the half-sent connection was kept")


def test_a_kept_alive_connection_is_closed_after_its_keep_alive_timeout(
    server: ThreadServer, token_client: Client
) -> None:
    conn = RawConnection(server.base_url)
    try:
        conn.send(token_request(token_client))
        assert conn.read_response().status == 200
        assert conn.at_eof()
    finally:
        conn.close()


def test_a_complete_request_is_never_cut_short(server: ThreadServer, token_client: Client) -> None:
    # Sent in parts, each well within the deadline of what it completes.
    request = token_request(token_client)
    conn = RawConnection(server.base_url)
    try:
        for start in range(0, len(request), 40):
            conn.send(request[start : start + 40])
        assert conn.read_response().status == 200
    finally:
        conn.close()


def test_one_connection_over_the_limit_is_answered_503_and_closed(tmp_path: Path) -> None:
    # Its own settings: no short idle deadline while the four that fill the limit stay open.
    runtime = Runtime.open(make_settings(tmp_path / "limit", max_connections=4))
    add_customer(runtime, "acme")
    record, secret = add_client(runtime, "acme")
    client = Client("acme", record.client_id, secret)
    try:
        with serving(runtime, FastLaneProtocol) as server:
            held = [server.connect() for _ in range(4)]
            try:
                wait_for(lambda: len(server.connections) == 4, "the four were not accepted")
                with server.connect() as extra:
                    answer = closed_by_server(extra)
                assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
                assert b'"error_description":"too many connections"' in answer
                wait_for(lambda: len(server.connections) == 4, "the extra one was kept")
            finally:
                for sock in held:
                    sock.close()
            wait_for(lambda: not server.connections, "closed connections were kept")
            conn = RawConnection(server.base_url)
            try:
                conn.send(token_request(client))
                assert conn.read_response().status == 200
            finally:
                conn.close()
    finally:
        runtime.store.engine.dispose()


def test_uvicorns_warning_per_malformed_request_is_sampled(
    server: ThreadServer, runtime: Runtime
) -> None:
    refusals = runtime.token_endpoint.refusals
    for _ in range(60):
        conn = RawConnection(server.base_url)
        try:
            conn.send(b"POST /oauth2/token HTTP/1.1\r\nContent-Length: x\r\n\r\n")
            assert conn.read_response().status == 400
        finally:
            conn.close()
    assert refusals.counts["http"] == 60
    # At most per_window lines per 10 s window: 60 refusals within two windows log at most 40.
    assert refusals.suppressed_total >= 60 - 2 * refusals.per_window
