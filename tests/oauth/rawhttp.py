"""A minimal HTTP/1.1 client on a raw socket, for what httpx cannot send: pipelining, interim
responses, hand-made framing and arbitrary header bytes."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, object]:
        document: dict[str, object] = orjson.loads(self.body)
        return document


class RawConnection:
    """One TCP connection to the live server, read response by response."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host = f"{parts.hostname}:{parts.port}"
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def read_response(self) -> RawResponse:
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                raise AssertionError(f"connection closed mid-response: {self.buffer!r}")
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ")[1])
        headers: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            assert name.lower() not in headers, f"duplicate header {name}"
            headers[name.lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            if not self._fill():
                raise AssertionError("connection closed mid-body")
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return RawResponse(status, headers, body)

    def at_eof(self) -> bool:
        """True when the server has closed the connection (nothing more to read)."""
        return not self.buffer and not self._fill()

    def close(self) -> None:
        self.sock.close()


def build_request(
    method: str, path: str, host: str, headers: list[tuple[str, bytes]], body: bytes
) -> bytes:
    """One HTTP/1.1 request with a Content-Length framing ``body``."""
    lines = [f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n".encode()]
    for name, value in headers:
        lines.append(name.encode("latin-1") + b": " + value + b"\r\n")
    if method != "GET" or body:
        lines.append(f"Content-Length: {len(body)}\r\n".encode())
    lines.append(b"\r\n")
    return b"".join(lines) + body
