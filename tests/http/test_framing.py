"""HTTP/1.1 framing on both protocol classes: plain uvicorn httptools and the fast lane answer
every request alike (RFC 9112: message framing, persistence, pipelining; RFC 9110 §10.1.1
Expect). Each test runs once per protocol, as uvicorn runs its own protocol tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.http.conftest import Client, get_request, token_request
from tests.http.threadserver import ThreadServer
from tests.oauth.rawhttp import RawConnection, RawResponse


@pytest.fixture
def conn(http_server: ThreadServer) -> Iterator[RawConnection]:
    connection = RawConnection(http_server.base_url)
    try:
        yield connection
    finally:
        connection.close()


def assert_token(response: RawResponse) -> None:
    assert response.status == 200, response.body
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert set(response.json()) == {"access_token", "token_type", "expires_in", "scope"}


def test_keep_alive_serves_token_and_other_requests_on_one_socket(
    conn: RawConnection, token_client: Client
) -> None:
    for _ in range(3):
        conn.send(token_request(token_client))
        assert_token(conn.read_response())
        conn.send(get_request("/healthz"))
        health = conn.read_response()
        assert (health.status, health.json()) == (200, {"status": "ok"})


def test_pipelined_requests_are_answered_in_order(
    conn: RawConnection, token_client: Client
) -> None:
    bad = token_request(token_client, body=b"grant_type=password")
    good = token_request(token_client)
    conn.send(good + get_request("/healthz") + bad + good + get_request("/healthz") + good)
    assert_token(conn.read_response())
    assert conn.read_response().json() == {"status": "ok"}
    refused = conn.read_response()
    assert (refused.status, refused.json()["error"]) == (400, "unsupported_grant_type")
    assert_token(conn.read_response())
    assert conn.read_response().json() == {"status": "ok"}
    assert_token(conn.read_response())


def test_many_pipelined_token_requests_are_all_answered_in_order(
    conn: RawConnection, token_client: Client
) -> None:
    requests = [
        token_request(token_client, body=b"grant_type=client_credentials&scope=viewer")
        if i % 7 == 0
        else token_request(token_client)
        for i in range(300)
    ]
    conn.send(b"".join(requests))
    for i in range(300):
        response = conn.read_response()
        assert_token(response)
        assert (response.json()["scope"] == "viewer") == (i % 7 == 0)


def test_expect_100_continue_gets_continue_then_the_answer(
    conn: RawConnection, token_client: Client
) -> None:
    request = token_request(token_client, headers="Expect: 100-continue\r\n")
    head, _, body = request.partition(b"\r\n\r\n")
    conn.send(head + b"\r\n\r\n")
    assert conn.read_response().status == 100
    conn.send(body)
    assert_token(conn.read_response())


def test_a_chunked_body_is_read_whole(conn: RawConnection, token_client: Client) -> None:
    head = token_request(token_client).partition(b"\r\n\r\n")[0]
    head = head.replace(b"Content-Length: 29", b"Transfer-Encoding: chunked")
    conn.send(head + b"\r\n\r\na\r\ngrant_type\r\n")
    conn.send(b"13\r\n=client_credentials\r\n0\r\n\r\n")
    assert_token(conn.read_response())
    conn.send(get_request("/healthz"))
    assert conn.read_response().status == 200


def test_a_body_split_across_reads_is_read_whole(conn: RawConnection, token_client: Client) -> None:
    request = token_request(token_client)
    for start in range(0, len(request), 7):
        conn.send(request[start : start + 7])
    assert_token(conn.read_response())


def test_connection_close_is_honoured(conn: RawConnection, token_client: Client) -> None:
    conn.send(token_request(token_client, headers="Connection: close\r\n"))
    response = conn.read_response()
    assert_token(response)
    assert response.headers["connection"] == "close"
    assert conn.at_eof()


def test_connection_close_after_an_error(conn: RawConnection, token_client: Client) -> None:
    conn.send(token_request(token_client, headers="Connection: close\r\n", body=b"scope=x"))
    response = conn.read_response()
    assert response.status == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "grant_type is required",
    }
    assert response.headers["connection"] == "close"
    assert conn.at_eof()


def test_http_1_0_gets_its_answer_then_the_connection_closes(
    conn: RawConnection, token_client: Client
) -> None:
    conn.send(token_request(token_client).replace(b"HTTP/1.1", b"HTTP/1.0", 1))
    assert_token(conn.read_response())
    assert conn.at_eof()


def test_invalid_http_is_400_and_closed(conn: RawConnection) -> None:
    conn.send(b"POST /oauth2/token HTTP/1.1\r\nContent-Length: x\r\n\r\n")
    assert conn.read_response().status == 400
    assert conn.at_eof()


def test_a_get_to_the_token_path_is_not_a_token_request(conn: RawConnection) -> None:
    conn.send(get_request("/oauth2/token"))
    assert conn.read_response().status == 405
