"""The access log: one line per HTTP request served by the ASGI app, in every worker process,
as text or as JSON (``GATEHOUSE_LOG_FORMAT``), on the ``gatehouse.access`` logger.

A line holds the client address, method, path, the *names* of the query parameters (never their
values: a query string may carry a token, RFC 6750 §2.3, or a secret), status, response size and
duration. Anything in the path that looks like a client secret or a JWT is masked.

Token requests answered by the fast lane (``fastlane.py``) are not logged here: logging each one
would cost the token path's throughput, and every issued token is already in the audit log
(``token.issue``, with client, jti and address) while every refused one is logged as a warning.
``GATEHOUSE_ACCESS_LOG=false`` turns this log off.
"""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatehouse.oauth.secrets import SECRET_PATTERN

log = logging.getLogger("gatehouse.access")

# A JWT, or any part of one: its base64url JSON header always starts with "eyJ".
_JWT = re.compile(r"eyJ[\w-]*(?:\.[\w-]*){0,2}")
_MAX_PATH = 512


def safe_target(path: str, query_string: bytes) -> str:
    """The request target as logged: masked path, query parameter names only."""
    text = path
    if query_string:
        names = dict.fromkeys(
            name for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
        )
        text += "?" + "&".join(f"{name}=" for name in names)
    # Masked before it is cut short, so no part of a token or secret survives the cut.
    text = SECRET_PATTERN.sub("[secret]", _JWT.sub("[jwt]", text))[:_MAX_PATH]
    # No control characters: one request, one line.
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


class AccessLog:
    """Pure ASGI middleware: times each HTTP request and logs it when the response is done."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        size = 0

        async def send_logged(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            self._log(scope, status, size, time.perf_counter() - started)

    @staticmethod
    def _log(scope: Scope, status: int, size: int, seconds: float) -> None:
        client = scope.get("client")
        remote = f"{client[0]}:{client[1]}" if client else "-"
        target = safe_target(scope.get("path", ""), scope.get("query_string", b""))
        method = scope.get("method", "-")
        version = scope.get("http_version", "1.1")
        duration_ms = round(seconds * 1000, 2)
        log.info(
            '%s - "%s %s HTTP/%s" %d %d %.2fms',
            remote,
            method,
            target,
            version,
            status,
            size,
            duration_ms,
            extra={
                "remote": remote,
                "method": method,
                "path": target,
                "http_version": version,
                "status": status,
                "bytes": size,
                "duration_ms": duration_ms,
            },
        )
