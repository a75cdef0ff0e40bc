"""The "APIs" tab (register, list and delete the customer's APIs) and each app client's grants
page (which scopes of which API it may get). Every change goes through
:mod:`gatehouse.services.apis`."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatehouse import apis
from gatehouse.appclients import may_change_client
from gatehouse.console.pages import ConsoleRequest, Pages
from gatehouse.console.render import confirmed, redirect
from gatehouse.errors import InvalidInput
from gatehouse.services import apis as api_service
from gatehouse.store.apis import ApiRecord, ApiScope
from gatehouse.store.store import Conflict

BASE = "/console/apiAccess/apis"
CLIENTS = "/console/apiAccess/appClients"
FIELDS = ("identifier", "name", "description", "scopes", "lifetime")
NOTICES = {
    "api_created": "API registered. Grant app clients its scopes from their Grants page.",
    "api_deleted": "API deleted, with every grant on it.",
    "grant_saved": "Grant saved.",
    "grant_removed": "Grant removed. The client's tokens for that API stop working.",
}


def parse_scopes(text: str) -> list[ApiScope]:
    """One scope per line: ``VALUE`` or ``VALUE description``."""
    scopes: list[ApiScope] = []
    for line in text.splitlines():
        value, _, description = line.strip().partition(" ")
        if value:
            scopes.append(ApiScope(value, description.strip()))
    return scopes


def api_routes(pages: Pages) -> list[BaseRoute]:
    runtime = pages.runtime
    renderer = pages.renderer

    def ctx() -> apis.Apis:
        return apis.Apis.of(runtime.store, runtime.settings.default_audience)

    def notice(page: ConsoleRequest) -> str | None:
        return NOTICES.get(page.request.query_params.get("done", ""))

    def list_page(
        page: ConsoleRequest,
        *,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        store = ctx()
        records = store.apis.list_apis(customer_id=page.customer_id)
        return renderer.page(
            page.request,
            "apis.html",
            principal=page.principal,
            active="apiAccess",
            tab="apis",
            status=status,
            apis=[apis.api_view(store, r) for r in records],
            errors=errors or {},
            values=values or dict.fromkeys(FIELDS, ""),
            done=notice(page),
        )

    def create(page: ConsoleRequest) -> Response:
        form = page.form
        assert form is not None
        values = {
            k: str(form.get(k, ""))
            for k in ("identifier", "name", "description", "scopes", "lifetime")
        }
        lifetime = values["lifetime"].strip()
        try:
            if lifetime and not lifetime.isdigit():
                raise InvalidInput({"token_lifetime_seconds": "must be a number of seconds"})
            api_service.create_api(
                ctx(),
                customer_id=page.customer_id,
                identifier=values["identifier"].strip(),
                name=values["name"],
                description=values["description"],
                scopes=parse_scopes(values["scopes"]),
                token_lifetime_seconds=int(lifetime) if lifetime else None,
                actor=page.actor,
                notify=runtime,
            )
        except InvalidInput as exc:
            return list_page(page, errors=exc.field_errors, values=values, status=400)
        except Conflict:
            errors = {"identifier": "An API with this identifier exists already."}
            return list_page(page, errors=errors, values=values, status=409)
        return redirect(f"{BASE}?done=api_created")

    def delete(page: ConsoleRequest) -> Response:
        store = ctx()
        record = store.apis.get_api(customer_id=page.customer_id, api_id=page.path_param("api_id"))
        if record.builtin:
            return pages.error_page(
                page.request, page.principal, 400, "The built-in API cannot be deleted."
            )
        if not confirmed(page.form):
            return renderer.page(
                page.request,
                "confirm.html",
                principal=page.principal,
                active="apiAccess",
                title=f"Delete “{record.name}”?",
                message="The API and every grant on it are deleted; clients can no longer get "
                "tokens for it.",
                action_url=f"{BASE}/{record.id}/delete",
                button="Delete API",
                danger=True,
                back_url=BASE,
            )
        api_service.delete_api(
            store, customer_id=page.customer_id, api_id=record.id, actor=page.actor, notify=runtime
        )
        return redirect(f"{BASE}?done=api_deleted")

    def may_change(page: ConsoleRequest, roles: tuple[str, ...]) -> bool:
        return may_change_client({page.principal.user.role}, roles)

    def grants_page(
        page: ConsoleRequest, *, error: str | None = None, status: int = 200
    ) -> Response:
        store = ctx()
        client = runtime.store.get_client(
            app_id=page.path_param("app_id"), customer_id=page.customer_id
        )
        granted = {g["api_id"]: set(g["scopes"]) for g in apis.grant_views(store, client)}
        rows: list[dict[str, Any]] = []
        for record in store.apis.list_apis(customer_id=page.customer_id):
            if record.builtin:
                continue
            rows.append(
                {
                    "api": apis.api_view(store, record),
                    "granted": granted.get(record.id, set()),
                    "has_grant": record.id in granted,
                }
            )
        return renderer.page(
            page.request,
            "app_client_grants.html",
            principal=page.principal,
            active="apiAccess",
            tab="appClients",
            status=status,
            client=client,
            builtin_identifier=runtime.settings.default_audience,
            rows=rows,
            can_change=may_change(page, client.api_roles),
            error=error,
            done=notice(page),
        )

    def save_grant(page: ConsoleRequest) -> Response:
        form = page.form
        assert form is not None
        store = ctx()
        client = runtime.store.get_client(
            app_id=page.path_param("app_id"), customer_id=page.customer_id
        )
        if not may_change(page, client.api_roles):
            return pages.error_page(
                page.request,
                page.principal,
                403,
                "Only an owner may change the grants of an app client that holds the owner role.",
            )
        api: ApiRecord = store.apis.get_api(
            customer_id=page.customer_id, api_id=page.path_param("api_id")
        )
        if api.builtin:
            return pages.error_page(
                page.request,
                page.principal,
                400,
                "Edit the built-in API's grant through the client's roles.",
            )
        scopes = [str(v) for v in form.getlist("scopes")]
        target = f"{CLIENTS}/{client.id}/grants"
        try:
            if scopes:
                api_service.put_grant(
                    store, client=client, api=api, scopes=scopes, actor=page.actor, notify=runtime
                )
                done = "grant_saved"
            else:
                has = any(g.api_id == api.id for g in store.apis.list_grants(app_id=client.id))
                if has:
                    api_service.delete_grant(
                        store, client=client, api=api, actor=page.actor, notify=runtime
                    )
                done = "grant_removed"
        except InvalidInput as exc:
            return grants_page(page, error="; ".join(exc.field_errors.values()), status=400)
        return redirect(f"{target}?done={done}")

    return [
        Route(BASE, pages.signed_in(list_page), methods=["GET"]),
        Route(BASE, pages.signed_in(create), methods=["POST"]),
        Route(f"{BASE}/{{api_id}}/delete", pages.signed_in(delete), methods=["POST"]),
        Route(f"{CLIENTS}/{{app_id}}/grants", pages.signed_in(grants_page), methods=["GET"]),
        Route(
            f"{CLIENTS}/{{app_id}}/grants/{{api_id}}", pages.signed_in(save_grant), methods=["POST"]
        ),
    ]
