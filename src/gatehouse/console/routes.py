"""``console_routes(runtime)``: every console and playground route, and the static assets."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gatehouse.console.api_pages import api_routes
from gatehouse.console.appclient_actions import appclient_action_routes
from gatehouse.console.appclient_detail import appclient_detail_routes
from gatehouse.console.appclient_pages import appclient_routes
from gatehouse.console.audit_pages import audit_routes
from gatehouse.console.corpus_pages import corpus_routes
from gatehouse.console.federated_pages import federated_routes
from gatehouse.console.key_pages import key_routes
from gatehouse.console.pages import Pages
from gatehouse.console.playground import playground_routes
from gatehouse.console.render import STATIC_DIR, STATIC_PREFIX, Renderer, redirect
from gatehouse.console.signin import SignInGuard, signin_routes
from gatehouse.console.user_pages import user_routes
from gatehouse.runtime import Runtime


def console_routes(runtime: Runtime, *, guard: SignInGuard | None = None) -> list[BaseRoute]:
    """The console's routes for one runtime; mount them in the app's route list."""
    pages = Pages(runtime, Renderer())
    guard = guard or SignInGuard(runtime.settings.redis_url)

    async def console_home(_request: Request) -> Response:
        return redirect("/console/apiAccess/appClients")

    async def not_found(request: Request) -> Response:
        # A signed-in user keeps the signed-in header (and its links) on this page too.
        principal = await pages.principal_of(request)
        return pages.error_page(request, principal, 404, "There is no such page in the console.")

    return [
        Route("/console", console_home, methods=["GET"]),
        Route("/console/", console_home, methods=["GET"]),
        Route("/console/apiAccess", console_home, methods=["GET"]),
        *signin_routes(pages, guard),
        *appclient_routes(pages),  # before the detail routes: ".../new" is not an id
        *federated_routes(pages),
        *api_routes(pages),
        *appclient_action_routes(pages),
        *appclient_detail_routes(pages),
        *audit_routes(pages),
        *user_routes(pages),
        *key_routes(pages),
        *corpus_routes(pages),
        *playground_routes(pages),
        Mount(STATIC_PREFIX, app=StaticFiles(directory=STATIC_DIR), name="console-static"),
        Route("/console/{rest:path}", not_found, methods=["GET"]),
    ]
