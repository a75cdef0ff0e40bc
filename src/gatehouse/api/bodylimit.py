"""The API's request bodies: the caller is authenticated before any body is read, and a body
is read only up to a limit (RFC 9110 §15.5.14, 413 Content Too Large).

FastAPI reads and parses a route's body before it runs the route's dependencies, the bearer
check among them, so without this an unauthenticated caller could make the server read and
parse bodies of any size. This ASGI middleware sits in front of the API's routes: for a request
that carries a body it runs the same authentication first (a failure is the same 401), refuses
a ``Content-Length`` over the limit without reading anything, then reads the body, stopping at
the limit, and hands it on. The principal it found is kept in the scope, so the route's
dependency does not authenticate the same request twice. A request without a body (every
``GET`` of the API) passes straight through.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatehouse.api.context import PRINCIPAL_SCOPE_KEY, ApiContext
from gatehouse.api.errors import error_response
from gatehouse.errors import GatehouseError
from gatehouse.verify.errors import VerifyError

_WITHOUT_BODY = frozenset({"GET", "HEAD", "OPTIONS"})


def body_length(scope: Scope) -> int | None:
    """The declared ``Content-Length``; -1 for a chunked body; None when there is no body."""
    length: int | None = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            # uvicorn's parser already refused a malformed or repeated Content-Length.
            length = int(value) if value.isdigit() else -1
        elif name == b"transfer-encoding":
            return -1
    return length if length else None


class BodyLimit:
    """``app.add_middleware(BodyLimit, api=app, context=ctx, max_body=n)``."""

    def __init__(self, app: ASGIApp, *, api: FastAPI, context: ApiContext, max_body: int) -> None:
        self.app = app
        self.api = api
        self.context = context
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _WITHOUT_BODY:
            await self.app(scope, receive, send)
            return
        length = body_length(scope)
        if length is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            scope[PRINCIPAL_SCOPE_KEY] = await self.context.principal(request)
        except (VerifyError, GatehouseError) as exc:
            # The API's own handlers (this runs outside its exception middleware): the bearer
            # check's RFC 6750 challenge, or an error of the root (a 503 while the store is away).
            kind = VerifyError if isinstance(exc, VerifyError) else GatehouseError
            handler = self.api.exception_handlers[kind]
            response = await handler(request, exc)  # type: ignore[misc]
            await response(scope, receive, send)
            return
        body = await self._read(receive) if length <= self.max_body else None
        if body is None:
            # RFC 9110 §15.5.14: the server refuses a request whose content is larger than it
            # is willing to process (and may close the connection).
            too_large = error_response(
                413,
                f"The request body is larger than {self.max_body} bytes",
                headers={"connection": "close"},
            )
            await too_large(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it is longer than the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)  # disconnected: the app sees the same
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
