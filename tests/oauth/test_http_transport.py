"""HTTP/1.1 framing around the token endpoint: keep-alive, pipelining, ``Expect: 100-continue``,
chunked bodies and ``Connection: close`` — on the live server's fast lane (raw sockets), and the
same requests through both lanes where a client library can express them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.factories import basic_auth
from tests.oauth.conftest import Creds, Lane, assert_error, verify_token
from tests.oauth.rawhttp import RawConnection, RawResponse


@pytest.fixture
def conn(live_lane: Lane) -> Iterator[RawConnection]:
    connection = RawConnection(live_lane.base_url)
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture
def live_creds(live_lane: Lane) -> Creds:
    return live_lane.add_client(live_lane.add_customer())


def token_request(
    host: str, creds: Creds, *, extra_headers: str = "", body: bytes | None = None
) -> bytes:
    payload = body if body is not None else b"grant_type=client_credentials"
    return (
        f"POST /customers/{creds.customer_id}/oauth2/token HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Authorization: {basic_auth(creds.client_id, creds.secret)}\r\n"
        f"Content-Length: {len(payload)}\r\n"
        f"{extra_headers}\r\n"
    ).encode() + payload


def get_request(host: str, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


def assert_token_response(response: RawResponse) -> None:
    assert response.status == 200, response.body
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert set(response.json()) == {"access_token", "token_type", "expires_in", "scope"}
    assert response.json()["token_type"] == "Bearer"


# -- both lanes ---------------------------------------------------------------------------------


def test_several_requests_on_one_keep_alive_client(lane: Lane) -> None:
    customer = lane.add_customer()
    creds = lane.add_client(customer)
    jtis = set()
    for _ in range(3):
        response = lane.post_token(creds)
        assert response.status_code == 200
        assert response.headers.get("connection", "keep-alive") == "keep-alive"
        jtis.add(verify_token(lane, response.json()["access_token"], customer)["jti"])
        assert lane.http.get("/healthz").json() == {"status": "ok"}
        assert_error(lane.post_token(creds, extra={"scope": "nope"}), 400, "invalid_scope")
    assert len(jtis) == 3


def test_chunked_request_body_is_read_whole(lane: Lane) -> None:
    customer = lane.add_customer()
    creds = lane.add_client(customer)

    def chunks() -> Iterator[bytes]:
        yield b"grant_type=client_"
        yield b"credentials&scope=vie"
        yield b"wer"

    response = lane.http.post(
        lane.token_url(customer),
        content=chunks(),
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "authorization": basic_auth(creds.client_id, creds.secret),
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "viewer"


def test_chunked_request_body_over_16_kib_is_413(lane: Lane) -> None:
    customer = lane.add_customer()
    creds = lane.add_client(customer)

    def chunks() -> Iterator[bytes]:
        yield b"grant_type=client_credentials&pad="
        for _ in range(20):
            yield b"a" * 1024

    response = lane.http.post(
        lane.token_url(customer),
        content=chunks(),
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "authorization": basic_auth(creds.client_id, creds.secret),
        },
    )
    assert_error(response, 413, "invalid_request", "the request body is larger than 16384 bytes")


# -- the live fast lane, on raw sockets ---------------------------------------------------------


def test_keep_alive_serves_fast_and_asgi_requests_on_one_socket(
    conn: RawConnection, live_creds: Creds
) -> None:
    for _ in range(3):
        conn.send(token_request(conn.host, live_creds))
        assert_token_response(conn.read_response())
        conn.send(get_request(conn.host, "/healthz"))
        health = conn.read_response()
        assert (health.status, health.json()) == (200, {"status": "ok"})


def test_pipelined_token_request_then_get_are_answered_in_order(
    conn: RawConnection, live_creds: Creds
) -> None:
    conn.send(token_request(conn.host, live_creds) + get_request(conn.host, "/healthz"))
    assert_token_response(conn.read_response())
    health = conn.read_response()
    assert (health.status, health.json()) == (200, {"status": "ok"})


def test_pipelined_get_then_token_request_are_answered_in_order(
    conn: RawConnection, live_creds: Creds
) -> None:
    jwks_path = f"/customers/{live_creds.customer_id}/.well-known/jwks.json"
    conn.send(get_request(conn.host, jwks_path) + token_request(conn.host, live_creds))
    jwks = conn.read_response()
    assert jwks.status == 200
    assert jwks.headers["content-type"] == "application/jwk-set+json"
    assert set(jwks.json()) == {"keys"}
    assert_token_response(conn.read_response())


def test_pipelined_token_requests_are_answered_in_order(
    conn: RawConnection, live_creds: Creds
) -> None:
    bad = token_request(conn.host, live_creds, body=b"grant_type=password")
    good = token_request(conn.host, live_creds)
    conn.send(good + bad + good)
    assert_token_response(conn.read_response())
    refused = conn.read_response()
    assert refused.status == 400
    assert refused.json()["error"] == "unsupported_grant_type"
    assert_token_response(conn.read_response())


def test_expect_100_continue_gets_continue_then_the_token(
    conn: RawConnection, live_creds: Creds
) -> None:
    request = token_request(conn.host, live_creds, extra_headers="Expect: 100-continue\r\n")
    head, _, body = request.partition(b"\r\n\r\n")
    conn.send(head + b"\r\n\r\n")
    interim = conn.read_response()
    assert interim.status == 100
    conn.send(body)
    assert_token_response(conn.read_response())


def test_raw_chunked_token_request_is_answered(conn: RawConnection, live_creds: Creds) -> None:
    request = (
        f"POST /customers/{live_creds.customer_id}/oauth2/token HTTP/1.1\r\n"
        f"Host: {conn.host}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Authorization: {basic_auth(live_creds.client_id, live_creds.secret)}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    conn.send(request + b"a\r\ngrant_type\r\n")
    conn.send(b"13\r\n=client_credentials\r\n0\r\n\r\n")
    assert_token_response(conn.read_response())
    conn.send(get_request(conn.host, "/healthz"))
    assert conn.read_response().status == 200


def test_connection_close_is_honoured_after_the_token(
    conn: RawConnection, live_creds: Creds
) -> None:
    conn.send(token_request(conn.host, live_creds, extra_headers="Connection: close\r\n"))
    response = conn.read_response()
    assert_token_response(response)
    assert response.headers["connection"] == "close"
    assert conn.at_eof()


def test_connection_close_is_honoured_after_an_error(
    conn: RawConnection, live_creds: Creds
) -> None:
    request = token_request(
        conn.host, live_creds, extra_headers="Connection: close\r\n", body=b"scope=x"
    )
    conn.send(request)
    response = conn.read_response()
    assert response.status == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "grant_type is required",
    }
    assert response.headers["connection"] == "close"
    assert conn.at_eof()


def test_http_1_0_request_gets_its_answer_and_the_connection_closes(
    conn: RawConnection, live_creds: Creds
) -> None:
    request = token_request(conn.host, live_creds).replace(b"HTTP/1.1", b"HTTP/1.0", 1)
    conn.send(request)
    assert_token_response(conn.read_response())
    assert conn.at_eof()
