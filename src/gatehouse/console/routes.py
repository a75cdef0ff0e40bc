"""``console_routes(runtime)``: every console and playground route, and the static assets."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gatehouse.console.appclient_pages import appclient_routes
from gatehouse.console.corpus_pages import corpus_routes
from gatehouse.console.federated_pages import federated_routes
from gatehouse.console.key_pages import key_routes
from gatehouse.console.pages import Pages
from gatehouse.console.playground import playground_routes
from gatehouse.console.render import STATIC_DIR, STATIC_PREFIX, Renderer, redirect
from gatehouse.console.signin import SignInGuard, signin_routes
from gatehouse.runtime import Runtime


def console_routes(runtime: Runtime, *, guard: SignInGuard | None = None) -> list[BaseRoute]:
    """The console's routes for one runtime; mount them in the app's route list."""
    pages = Pages(runtime, Renderer())
    guard = guard or SignInGuard(runtime.settings.redis_url)

    async def console_home(_request: Request) -> Response:
        return redirect("/console/apiAccess/appClients")

    async def not_found(request: Request) -> Response:
        return pages.error_page(request, None, 404, "There is no such page in the console.")

    return [
        Route("/console", console_home, methods=["GET"]),
        Route("/console/", console_home, methods=["GET"]),
        Route("/console/apiAccess", console_home, methods=["GET"]),
        *signin_routes(pages, guard),
        *appclient_routes(pages),
        *federated_routes(pages),
        *key_routes(pages),
        *corpus_routes(pages),
        *playground_routes(pages),
        Mount(STATIC_PREFIX, app=StaticFiles(directory=STATIC_DIR), name="console-static"),
        Route("/console/{rest:path}", not_found, methods=["GET"]),
    ]
