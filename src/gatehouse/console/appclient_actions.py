"""What can be done to one app client from the list's row menu or from its own page: copy the
secret, rotate it (with a grace period), revoke its tokens, disable or enable it, delete it.

Each action acts once per form and redirects to its result (:meth:`Pages.acting`); a secret it
makes is shown once, on ``{client}/new-secret``. Without script, a destructive action first
shows its confirmation page (a GET of the same URL).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatehouse import appclients
from gatehouse.console import results
from gatehouse.console.appclient_common import ClientPages, OwnerOnly
from gatehouse.console.appclient_forms import ACTIONS, BASE, friendly
from gatehouse.console.appclient_forms import whole_number as number_field
from gatehouse.console.pages import Action, ConsoleRequest, Done, Handler, Pages
from gatehouse.console.render import field, json_response, wants_json
from gatehouse.errors import InvalidInput
from gatehouse.services import app_clients

SHOW_ONCE = (
    "This server keeps no copy of client secrets (show-once mode). "
    "Rotate the secret to get a new one."
)


def grace_text(seconds: int) -> str:
    if seconds <= 0:
        return "The previous secret no longer works."
    if seconds % 86400 == 0:
        days = seconds // 86400
        span = "1 day" if days == 1 else f"{days} days"
    elif seconds % 3600 == 0:
        hours = seconds // 3600
        span = "1 hour" if hours == 1 else f"{hours} hours"
    else:
        span = f"{seconds} seconds"
    return f"The previous secret keeps working for {span}."


def appclient_action_routes(pages: Pages) -> list[BaseRoute]:
    common = ClientPages(pages)
    runtime, store, settings = pages.runtime, pages.runtime.store, pages.runtime.settings

    def secret_page(page: ConsoleRequest) -> Response:
        """The one-time result of a create, a rotation or "Copy secret" without script."""
        record = common.load(page)
        result_id = page.request.query_params.get("done", "")
        secret = results.take_secret(
            store,
            runtime.master_key,
            page.principal,
            result_id=result_id,
            path=page.request.url.path,
        )
        return pages.renderer.page(
            page.request,
            "app_client_secret.html",
            principal=page.principal,
            active="apiAccess",
            tab="appClients",
            record=record,
            secret=secret,
            token_url=common.token_url(page.customer_id),
            show_once=not common.can_copy(record),
            can_change=common.may_change(page, record),
            notice_in_heading=True,
        )

    def copy_secret_page(page: ConsoleRequest) -> Done | Response:
        record = common.owned(page)
        secret = (
            appclients.reveal_secret(runtime.master_key, record)
            if common.can_copy(record)
            else None
        )
        if secret is None:
            return pages.error_page(page.request, page.principal, 409, SHOW_ONCE)
        return Done(
            location=f"{BASE}/{record.id}/new-secret",
            notice=f"The client secret of “{record.name}”.",
            secret=secret,
        )

    copy_secret_action = pages.acting_handler(common.guarded(copy_secret_page))

    def copy_secret(page: ConsoleRequest) -> Response:
        if not wants_json(page.request):
            return copy_secret_action(page)
        try:
            record = common.owned(page)
        except OwnerOnly:
            return json_response({"messages": ["Only an owner may copy this secret."]}, status=403)
        secret = (
            appclients.reveal_secret(runtime.master_key, record)
            if common.can_copy(record)
            else None
        )
        if secret is None:
            return json_response({"messages": [SHOW_ONCE]}, status=409)
        return json_response({"client_id": record.client_id, "client_secret": secret})

    def confirm_url(action: str) -> Callable[[ConsoleRequest], str]:
        def url(page: ConsoleRequest) -> str:
            query: dict[str, str] = {}
            if common.back_url(page, page.path_param("app_id")) == BASE:
                query["from"] = "list"
            grace = field(page.form, "grace_period_seconds")
            if action == "rotate" and grace.isdigit() and len(grace) < 8:
                query["grace"] = grace  # keep the choice made on the client's page
            suffix = f"?{urlencode(query)}" if query else ""
            return f"{BASE}/{page.path_param('app_id')}/{action}{suffix}"

        return url

    def confirm_page(action: str) -> Handler:
        def show(page: ConsoleRequest) -> Response:
            return common.confirm_page(page, common.owned(page), action)

        return show

    def rotate(page: ConsoleRequest) -> Done | Response:
        record = common.owned(page)
        try:
            grace = number_field(page.form, "grace_period_seconds", blank=0) or 0
            record, secret = app_clients.rotate_secret(
                store,
                runtime.master_key,
                customer_id=page.customer_id,
                app_id=record.id,
                grace_period_seconds=grace,
                keep_secret=settings.secret_retrieval,
                actor=page.actor,
                notify=runtime,
            )
        except InvalidInput as exc:
            message = "; ".join(friendly(exc.field_errors).values())
            return pages.error_page(page.request, page.principal, 400, message)
        notice = ACTIONS["rotate"]["done"].format(name=record.name) + " " + grace_text(grace)
        return Done(location=f"{BASE}/{record.id}/new-secret", notice=notice, secret=secret)

    def revoke(page: ConsoleRequest) -> Done:
        record = common.owned(page)
        app_clients.revoke_tokens(
            store, customer_id=page.customer_id, app_id=record.id, actor=page.actor, notify=runtime
        )
        notice = ACTIONS["revoke"]["done"].format(name=record.name)
        return Done(location=common.back_url(page, record.id), notice=notice)

    def delete(page: ConsoleRequest) -> Done:
        record = common.owned(page)
        app_clients.delete_client(
            store, customer_id=page.customer_id, app_id=record.id, actor=page.actor, notify=runtime
        )
        return Done(location=BASE, notice=ACTIONS["delete"]["done"].format(name=record.name))

    def set_enabled(enabled: bool) -> Action:
        def act(page: ConsoleRequest) -> Done:
            record = common.owned(page)
            record = app_clients.set_enabled(
                store,
                customer_id=page.customer_id,
                app_id=record.id,
                enabled=enabled,
                actor=page.actor,
                notify=runtime,
            )
            notice = (
                f"Enabled “{record.name}”: it can get tokens again."
                if enabled
                else ACTIONS["disable"]["done"].format(name=record.name)
            )
            return Done(location=common.back_url(page, record.id), notice=notice)

        return act

    routes: list[BaseRoute] = [
        Route(f"{BASE}/{{app_id}}/new-secret", pages.signed_in(secret_page), methods=["GET"]),
        Route(f"{BASE}/{{app_id}}/secret", pages.signed_in(copy_secret), methods=["POST"]),
        Route(
            f"{BASE}/{{app_id}}/enable",
            pages.acting(common.guarded(set_enabled(True))),
            methods=["POST"],
        ),
    ]
    actions: tuple[tuple[str, Action], ...] = (
        ("rotate", rotate),
        ("revoke", revoke),
        ("delete", delete),
        ("disable", set_enabled(False)),
    )
    for action, handler in actions:
        routes.append(
            Route(
                f"{BASE}/{{app_id}}/{action}",
                pages.acting(common.guarded(handler), confirm=confirm_url(action)),
                methods=["POST"],
            )
        )
        routes.append(
            Route(
                f"{BASE}/{{app_id}}/{action}",
                pages.signed_in(common.guarded(confirm_page(action))),
                methods=["GET"],
            )
        )
    return routes
