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

import asyncio
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
    if not query_string and len(path) <= _MAX_PATH and _plain(path):
        return path  # the usual case, without a regular expression
    text = path
    if query_string:
        names = dict.fromkeys(
            name for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
        )
        text += "?" + "&".join(f"{name}=" for name in names)
    # Masked before it is cut short, so no part of a token or secret survives the cut.
    text = SECRET_PATTERN.sub("[secret]", _JWT.sub("[jwt]", text))[:_MAX_PATH]
    if text.isprintable():
        return text
    # No control characters: one request, one line.
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def _plain(path: str) -> bool:
    return "eyJ" not in path and "gths_" not in path and path.isprintable()


class AccessLog:
    """Pure ASGI middleware: times each HTTP request and logs it when the response is done.

    A request only appends a tuple to a list; the lines are written in batches, every
    ``FLUSH_SECONDS`` or ``FLUSH_LINES`` lines and at shutdown. Formatting the records one after
    another costs a third of what one record formatted between two requests costs
    (bench/README.md, "Access log").
    """

    FLUSH_SECONDS = 0.2
    FLUSH_LINES = 512

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._pending: list[tuple[Scope, int, int, float, float]] = []
        self._timer: asyncio.TimerHandle | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._flushing_at_shutdown(send))
            return
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
            self._pending.append((scope, status, size, time.perf_counter() - started, time.time()))
            if len(self._pending) >= self.FLUSH_LINES:
                self.flush()
            elif self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(self.FLUSH_SECONDS, self.flush)

    def _flushing_at_shutdown(self, send: Send) -> Send:
        async def send_flushed(message: Message) -> None:
            if message["type"].startswith("lifespan.shutdown"):
                self.flush()
            await send(message)

        return send_flushed

    def flush(self) -> None:
        """Write the pending lines now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending = self._pending, []
        for scope, status, size, seconds, at in pending:
            _log(scope, status, size, seconds, at)


def _log(scope: Scope, status: int, size: int, seconds: float, at: float) -> None:
    client = scope.get("client")
    remote = f"{client[0]}:{client[1]}" if client else "-"
    target = safe_target(scope.get("path", ""), scope.get("query_string", b""))
    method = scope.get("method", "-")
    version = scope.get("http_version", "1.1")
    duration_ms = round(seconds * 1000, 2)
    # makeRecord and handle, not log.info: no search of the stack for the caller's line.
    record = log.makeRecord(
        log.name,
        logging.INFO,
        __file__,
        0,
        '%s - "%s %s HTTP/%s" %d %d %.2fms',
        (remote, method, target, version, status, size, duration_ms),
        None,
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
    record.created = at  # when the request was done, not when its line is written
    record.msecs = (at - int(at)) * 1000
    log.handle(record)
