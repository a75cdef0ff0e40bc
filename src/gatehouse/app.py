"""``create_app(settings)``: the ASGI application, with every part mounted and one error handler."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from gatehouse.accesslog import AccessLog
from gatehouse.api import api_routes
from gatehouse.api.errors import http_error, render
from gatehouse.console.routes import console_routes
from gatehouse.console.sessions import api_session_resolver
from gatehouse.errors import GatehouseError, ServerError
from gatehouse.keycheck import MasterKeyError
from gatehouse.logs import configure_logging
from gatehouse.peers import peer_scope
from gatehouse.routes.asgi import endpoint_routes
from gatehouse.routes.oauth import oauth_routes
from gatehouse.routes.ops import ops_routes
from gatehouse.routes.registration import registration_routes
from gatehouse.routes.resource import resource_routes
from gatehouse.routes.responses import error_response
from gatehouse.runtime import Runtime
from gatehouse.settings import Settings

log = logging.getLogger(__name__)


class GatehouseApp:
    """The ASGI app. It carries its :class:`Runtime` so the fast lane can reach the endpoint."""

    def __init__(self, runtime: Runtime, inner: Starlette) -> None:
        self.runtime = runtime
        self.inner = inner
        self.peers = runtime.peers  # GATEHOUSE_TRUSTED_PROXIES (docs/proxy.md), or None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.peers is not None and scope["type"] != "lifespan":
            scope = peer_scope(self.peers, scope)
        await self.inner(scope, receive, send)


async def _own_error(_request: Request, exc: Exception) -> Response:
    """An error of the root raised outside the API and the console, in its own shape."""
    assert isinstance(exc, GatehouseError)
    return error_response(exc)


async def _server_error(_request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc)
    return render(ServerError("Internal server error"))


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> GatehouseApp:
    """Build the application; its lifespan starts and stops the background threads."""
    runtime = runtime or Runtime.open(settings or Settings())

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        runtime.start()
        try:
            yield
        finally:
            runtime.close()

    async def home(_request: Request) -> Response:
        return RedirectResponse("/console/apiAccess/appClients", status_code=302)

    routes: list[BaseRoute] = [
        Route("/", home, methods=["GET"]),
        *endpoint_routes(runtime.endpoints),  # token, revocation, introspection, the feed
        *oauth_routes(runtime),
        *ops_routes(runtime),
        *resource_routes(runtime.settings),
        *registration_routes(runtime),
        *api_routes(runtime, session=api_session_resolver(runtime)),
        *console_routes(runtime),
    ]
    inner = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            GatehouseError: _own_error,
            HTTPException: http_error,  # 404, 405 outside the API: the API's bodies
            500: _server_error,
        },
        middleware=[Middleware(AccessLog)] if runtime.settings.access_log else [],
    )
    return GatehouseApp(runtime, inner)


def app_factory() -> GatehouseApp:
    """Entry point for ``uvicorn --factory`` and for worker processes."""
    settings = Settings()
    if not logging.getLogger().handlers:  # a worker process: configure as the parent did
        configure_logging(settings.log_level, settings.log_format)
    try:
        return create_app(settings)
    except MasterKeyError as exc:  # one line naming the setting, no traceback; exit 2
        log.error("%s", exc)
        raise SystemExit(2) from None
