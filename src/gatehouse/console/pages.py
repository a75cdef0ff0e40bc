"""The wrapper every signed-in console page goes through: session, CSRF, errors.

A page handler is a plain function of a :class:`ConsoleRequest`; it runs in the thread pool,
so its database calls never block the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response

from gatehouse.appclients import Actor
from gatehouse.console.render import (
    Renderer,
    has_csrf,
    json_response,
    redirect,
    wants_json,
)
from gatehouse.console.sessions import ConsolePrincipal, load_session, session_cookie
from gatehouse.runtime import Runtime
from gatehouse.store.store import NotFound

log = logging.getLogger(__name__)

MAX_FORM_FIELDS = 200


@dataclass(frozen=True)
class ConsoleRequest:
    """A signed-in request whose CSRF token (for a POST) has been checked."""

    request: Request
    principal: ConsolePrincipal
    form: FormData | None

    @property
    def customer_id(self) -> str:
        return self.principal.customer_id

    @property
    def actor(self) -> Actor:
        client = self.request.client
        return self.principal.actor(client.host if client else None)

    def path_param(self, name: str) -> str:
        value: str = self.request.path_params[name]
        return value


Handler = Callable[[ConsoleRequest], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a path of this console or the playground."""
    default = "/console/apiAccess/appClients"
    if not target or not target.startswith(("/console/", "/playground")):
        return default
    if target.startswith("/console/login") or "\\" in target or "//" in target:
        return default
    return target


class Pages:
    """Builds endpoints from page handlers for one runtime."""

    def __init__(self, runtime: Runtime, renderer: Renderer) -> None:
        self.runtime = runtime
        self.renderer = renderer

    def error_page(
        self, request: Request, principal: ConsolePrincipal | None, status: int, message: str
    ) -> Response:
        if wants_json(request):
            return json_response({"messages": [message]}, status=status)
        return self.renderer.page(
            request, "error.html", principal=principal, status=status, message=message
        )

    def signed_in(self, handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            session_id = session_cookie(request, self.runtime.settings)
            principal = (
                await run_in_threadpool(load_session, self.runtime.store, session_id=session_id)
                if session_id
                else None
            )
            if principal is None:
                if wants_json(request):
                    return json_response(
                        {"messages": ["Your console session has ended. Sign in again."]},
                        status=401,
                    )
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                if request.method != "GET":
                    target = ""  # a form posted after the session ended: start from the top
                return redirect(f"/console/login?next={quote(safe_next(target), safe='/')}")
            form: FormData | None = None
            if request.method == "POST":
                try:
                    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
                except MultiPartException:
                    return self.error_page(request, principal, 400, "The form could not be read.")
                if not has_csrf(request, form, principal):
                    return self.error_page(
                        request,
                        principal,
                        403,
                        "This form has expired or did not come from the console. "
                        "Go back, reload the page and try again.",
                    )
            try:
                return await run_in_threadpool(handler, ConsoleRequest(request, principal, form))
            except NotFound:
                return self.error_page(
                    request, principal, 404, "That item does not exist (it may have been deleted)."
                )

        return endpoint
