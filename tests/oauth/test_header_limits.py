"""A request head over 64 KiB gets 431 and a closed connection; the server stays healthy."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
from tests.factories import LiveServer


def _raw(base_url: str, data: bytes) -> bytes:
    parts = urlsplit(base_url)
    assert parts.hostname is not None
    assert parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_oversized_header_gets_431_json_and_close(oauth_server: LiveServer) -> None:
    head = (
        b"POST /oauth2/token HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"X-Filler: " + b"a" * (70 * 1024) + b"\r\nContent-Length: 0\r\n\r\n"
    )
    received = _raw(oauth_server.base_url, head)
    status_line, _, rest = received.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 431 Request Header Fields Too Large"
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"connection: close" in headers.lower()
    assert body == (
        b'{"error":"invalid_request",'
        b'"error_description":"the request line and headers exceed 64 KiB"}'
    )
    assert httpx.get(f"{oauth_server.base_url}/healthz").status_code == 200


def test_oversized_url_on_another_path_gets_431(oauth_server: LiveServer) -> None:
    request = b"GET /healthz?" + b"q" * (70 * 1024) + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert _raw(oauth_server.base_url, request).startswith(b"HTTP/1.1 431 ")


def test_header_below_the_limit_is_served(oauth_server: LiveServer) -> None:
    response = httpx.get(
        f"{oauth_server.base_url}/healthz", headers={"x-filler": "a" * (32 * 1024)}
    )
    assert response.status_code == 200
