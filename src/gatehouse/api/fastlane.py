"""The API's fast lane: well-formed corpus reads answered without FastAPI's per-request work.

FastAPI analyses each route's dependencies and parameters anew on every request, which costs
several times what ListCorpora itself does. This ASGI middleware sits inside the API app's
error and telemetry middleware and answers

    GET /v2/corpora                  ListCorpora
    GET /v2/corpora/{corpus_key}     GetCorpus

with the very handler functions, authentication and error handlers of the FastAPI routes, when
every parameter is one it reads without doubt: each at most once, ``limit`` as plain digits
within its bounds, ``page_key`` and ``filter`` within their lengths. Every other request, and so
every malformed one, goes on to FastAPI, which stays the one reference for validation messages
and for the OpenAPI document.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette._utils import get_route_path, is_async_callable
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gatehouse.api.context import ApiContext
from gatehouse.api.corpora import serve_get_corpus, serve_list_corpora
from gatehouse.api.listing import DEFAULT_LIMIT, MAX_FILTER, MAX_LIMIT, MAX_PAGE_KEY

ExceptionHandler = Callable[[Request, Any], Response | Awaitable[Response]]

_CORPORA = "/v2/corpora"
_CORPUS_PREFIX = "/v2/corpora/"
_LIST_PARAMETERS = frozenset({"limit", "page_key", "filter"})
_LIMIT = re.compile(r"[0-9]{1,3}")
_LENGTHS = {"page_key": MAX_PAGE_KEY, "filter": MAX_FILTER}


def _pairs(query: str) -> list[tuple[str, str]]:
    """``parse_qsl(query, keep_blank_values=True)``, without its cost when nothing is escaped."""
    if "%" in query or "+" in query:
        return parse_qsl(query, keep_blank_values=True)
    return [(name, value) for name, _, value in (p.partition("=") for p in query.split("&") if p)]


def list_parameters(query_string: bytes) -> tuple[int, str | None, str | None] | None:
    """``(limit, page_key, filter)`` of a ListCorpora query, or None to leave it to FastAPI.

    Decoded as Starlette decodes a query string; unknown parameters are ignored, as FastAPI
    ignores them.
    """
    found: dict[str, str] = {}
    if query_string:
        for name, value in _pairs(query_string.decode("latin-1")):
            if name in _LIST_PARAMETERS:
                if name in found:
                    return None  # repeated: FastAPI's choice of value is its own
                found[name] = value
    limit = DEFAULT_LIMIT
    text = found.get("limit")
    if text is not None:
        if _LIMIT.fullmatch(text) is None or not 1 <= int(text) <= MAX_LIMIT:
            return None
        limit = int(text)
    for name, most in _LENGTHS.items():
        if len(found.get(name, "")) > most:
            return None
    return limit, found.get("page_key"), found.get("filter")


class FastLane:
    """``app.add_middleware(FastLane, api=app, context=ctx)`` on the API's FastAPI app."""

    def __init__(self, app: ASGIApp, *, api: FastAPI, context: ApiContext) -> None:
        self.app = app
        self.api = api
        self.context = context
        self._handlers: dict[type[BaseException], ExceptionHandler] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        path = get_route_path(scope)
        if path == _CORPORA:
            parameters = list_parameters(scope["query_string"])
            if parameters is not None:
                limit, page_key, filter_ = parameters
                await self._answer(scope, receive, send, self._list, limit, page_key, filter_)
                return
        elif path.startswith(_CORPUS_PREFIX):
            corpus_key = path[len(_CORPUS_PREFIX) :]
            if corpus_key and "/" not in corpus_key:
                await self._answer(scope, receive, send, self._get, corpus_key)
                return
        await self.app(scope, receive, send)

    async def _list(
        self, request: Request, limit: int, page_key: str | None, filter_: str | None
    ) -> Response:
        principal = await self.context.principal(request)
        return await serve_list_corpora(
            self.context, principal, limit=limit, page_key=page_key, filter=filter_
        )

    async def _get(self, request: Request, corpus_key: str) -> Response:
        principal = await self.context.principal(request)
        return await serve_get_corpus(self.context, principal, corpus_key)

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        handler: Callable[..., Awaitable[Response]],
        *arguments: Any,
    ) -> None:
        request = Request(scope, receive)
        try:
            response = await handler(request, *arguments)
        except Exception as exc:
            render = self._handler_for(exc)
            if render is None:
                raise  # the server-error middleware renders it, as for the FastAPI lane
            if is_async_callable(render):
                response = await render(request, exc)
            else:
                response = await run_in_threadpool(render, request, exc)  # type: ignore[arg-type]
        await response(scope, receive, send)

    def _handler_for(self, exc: Exception) -> ExceptionHandler | None:
        """The API's handler for ``exc``, found as Starlette's exception middleware finds it."""
        if self._handlers is None:
            self._handlers = {
                key: handler
                for key, handler in self.api.exception_handlers.items()
                if isinstance(key, type) and key is not Exception
            }
        for cls in type(exc).__mro__:
            if cls in self._handlers:
                return self._handlers[cls]
        return None
