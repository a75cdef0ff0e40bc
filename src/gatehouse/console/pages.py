"""The wrapper every signed-in console page goes through: session, CSRF, errors.

A page handler is a plain function of a :class:`ConsoleRequest`; it runs in the thread pool,
so its database calls never block the event loop. An action (a POST that changes something)
goes through :meth:`Pages.acting`: it acts once per form token and answers with a redirect to
its result (POST/redirect/GET, see :mod:`gatehouse.console.results`).
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
from gatehouse.console import results
from gatehouse.console.render import (
    FORM_TOKEN_FIELD,
    Renderer,
    confirmed,
    field,
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


@dataclass(frozen=True)
class Done:
    """What an action did: the page that shows its result, the notice naming what it acted on,
    and a secret to show there once (never in the URL)."""

    location: str
    notice: str
    secret: str | None = None


Handler = Callable[[ConsoleRequest], Response]
Action = Callable[[ConsoleRequest], Done | Response]
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

    async def principal_of(self, request: Request) -> ConsolePrincipal | None:
        """The signed-in user of a request, if any (for pages that anyone may see)."""
        session_id = session_cookie(request, self.runtime.settings)
        if not session_id:
            return None
        return await run_in_threadpool(load_session, self.runtime.store, session_id=session_id)

    def _run(self, handler: Handler, page: ConsoleRequest) -> Response:
        done = page.request.query_params.get("done")
        if page.request.method == "GET" and done:
            page.request.state.console_notice = results.read_notice(
                self.runtime.store, page.principal, result_id=done
            )
        return handler(page)

    def acting(
        self, action: Action, *, confirm: Callable[[ConsoleRequest], str] | None = None
    ) -> Endpoint:
        """An endpoint that acts at most once per form token, then redirects to its result.

        ``confirm`` gives the confirmation page of a destructive action: a form posted without
        ``confirm=yes`` (no script to ask in a dialog) is sent there first.
        """
        return self.signed_in(self.acting_handler(action, confirm=confirm))

    def acting_handler(
        self, action: Action, *, confirm: Callable[[ConsoleRequest], str] | None = None
    ) -> Handler:
        """The handler behind :meth:`acting`, for an endpoint that also answers otherwise."""
        store = self.runtime.store

        def handler(page: ConsoleRequest) -> Response:
            if confirm is not None and not confirmed(page.form):
                return redirect(confirm(page))
            claim = results.claim_form(
                store, page.principal, form_token=field(page.form, FORM_TOKEN_FIELD)
            )
            if claim is None:
                return self.error_page(
                    page.request,
                    page.principal,
                    400,
                    "This form is out of date. Go back, reload the page and try again.",
                )
            if not claim.first:
                # The same form again: show what the first submission did; do not act twice.
                location = claim.location or results.wait_for_result(store, claim=claim)
                if location is None:
                    return self.error_page(
                        page.request,
                        page.principal,
                        409,
                        "This form was sent twice; the first one is still being handled. "
                        "Reload the page it came from in a moment.",
                    )
                return redirect(location)
            try:
                outcome = action(page)
            except BaseException:
                results.release_form(store, claim=claim)
                raise
            if isinstance(outcome, Response):  # nothing was done (errors, refusal): resendable
                results.release_form(store, claim=claim)
                return outcome
            location = results.with_result(outcome.location, claim.id)
            results.finish_form(
                store,
                self.runtime.master_key,
                claim=claim,
                location=location,
                notice=outcome.notice,
                secret=outcome.secret,
            )
            return redirect(location)

        return handler

    def signed_in(self, handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            principal = await self.principal_of(request)
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
                return await run_in_threadpool(
                    self._run, handler, ConsoleRequest(request, principal, form)
                )
            except NotFound:
                return self.error_page(
                    request, principal, 404, "That item does not exist (it may have been deleted)."
                )

        return endpoint
