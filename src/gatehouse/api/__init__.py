"""The protected API (SPEC §3): Vectara REST v2 corpora and app clients, and v1 ListCorpora.

``api_routes(runtime)`` returns the routes that ``create_app`` mounts: ``/v2/...``, ``/v1/...``
and the OpenAPI document (``/v2/openapi.json``, also at ``/openapi.json``). Inside, one FastAPI
app owns the routing, the bearer dependency and the Vectara error bodies; its fast lane
(:mod:`gatehouse.api.fastlane`) answers well-formed corpus reads without FastAPI's per-request
parameter analysis.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message, Receive, Scope, Send

from gatehouse.api import apis, app_clients, audit, federated_credentials, grants
from gatehouse.api.bearer import Principal
from gatehouse.api.bodylimit import BodyLimit
from gatehouse.api.context import ApiContext, SessionResolver, json_response
from gatehouse.api.corpora import corpora_router
from gatehouse.api.errors import install_error_handlers, unexpected_error
from gatehouse.api.fastlane import FastLane
from gatehouse.api.openapi_extra import add_extras
from gatehouse.api.v1 import v1_router
from gatehouse.routes.resource import builtin_metadata_url
from gatehouse.runtime import Runtime

__all__ = ["ApiContext", "Principal", "SessionResolver", "api_routes", "create_api"]

log = logging.getLogger(__name__)

OPENAPI_PATH = "/v2/openapi.json"
_DESCRIPTION = (
    "Gatehouse's protected sample API, shaped like Vectara's REST API v2. Every call needs "
    "`Authorization: Bearer <jwt>` from the client credentials grant; the customer comes from "
    "the token, and a `customer-id` header, when sent, must match it (401 `invalid_token` "
    "otherwise). Errors are `{messages, request_id}`, with `field_errors` on 400 and `id` on 404."
)


def _openapi_document(app: FastAPI, token_url: str) -> dict[str, Any]:
    document = get_openapi(
        title="Gatehouse API",
        version="2.0.0",
        description=_DESCRIPTION,
        routes=app.routes,
    )
    # Validation errors are 400 with field_errors here, never FastAPI's default 422.
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    document.setdefault("components", {})["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    document["security"] = [{"bearerAuth": []}]
    add_extras(document, token_url)
    return document


@functools.cache
def _shared_routes() -> tuple[APIRoute, ...]:
    routers = [
        corpora_router(),
        app_clients.router,
        federated_credentials.router,
        audit.router,
        v1_router(),
        apis.router,
        grants.router,
    ]
    return tuple(
        route for router in routers for route in router.routes if isinstance(route, APIRoute)
    )


@functools.cache
def _methods_table() -> list[tuple[re.Pattern[str], set[str]]]:
    return [(route.path_regex, set(route.methods or ())) for route in _shared_routes()]


def create_api(runtime: Runtime, *, session: SessionResolver | None = None) -> FastAPI:
    """The API as a FastAPI app whose paths are the full public paths (``/v2/corpora`` ...).

    Its routes are shared with every other API app of the process, so FastAPI's
    ``dependency_overrides`` do not reach them (tests use real parts instead).
    """
    ctx = ApiContext.build(runtime, session=session)
    app = FastAPI(
        title="Gatehouse API",
        openapi_url=None,  # served below, with the 422s removed
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    # The routes are built once per process and shared: FastAPI's analysis of a route costs
    # milliseconds, and each route finds the context of the app serving it (api_context).
    # They go straight onto the app's own router: include_router would have FastAPI analyse
    # every route again for each app, and look each request up through one more layer.
    app.router.routes.extend(_shared_routes())
    # For the Allow header of a 405 (RFC 9110 §15.5.6).
    app.state.methods = _methods_table()
    cached: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if not cached:
            cached.append(_openapi_document(app, f"{runtime.settings.base_url}/oauth2/token"))
        return cached[0]

    app.openapi = openapi  # type: ignore[method-assign]

    async def openapi_json(_request: Request) -> Response:
        return json_response(openapi())

    app.add_route(OPENAPI_PATH, openapi_json, include_in_schema=False)
    app.add_route("/openapi.json", openapi_json, include_in_schema=False)
    app.state.context = ctx
    # Authentication before any body is read, and bodies read only up to the limit (413).
    app.add_middleware(
        BodyLimit, api=app, context=ctx, max_body=runtime.settings.api_max_body_bytes
    )
    app.state.resource_metadata = builtin_metadata_url(runtime.settings)  # RFC 9728 §5.1
    # Outermost of the app's own middleware: answers well-formed corpus reads directly.
    app.add_middleware(FastLane, api=app, context=ctx)
    return app


class _Guard:
    """Renders an exception the API app did not turn into a response as a Vectara 500 body.

    Starlette's server-error middleware answers (with our handler) and then re-raises; the
    re-raise stops here so the outer app does not try to answer the same request twice.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                return  # already answered and logged by the API's own handler
            response = await unexpected_error(None, exc)
            await response(scope, receive, send)


def api_routes(runtime: Runtime, *, session: SessionResolver | None = None) -> list[BaseRoute]:
    """Routes for ``create_app``: every request under them is handled by the API app."""
    api = _Guard(create_api(runtime, session=session))
    return [
        Route("/v2/{path:path}", api),
        Route("/v1/{path:path}", api),
        Route("/openapi.json", api),
    ]
