"""The federated credentials page of an app client
(``/console/apiAccess/appClients/{app_id}/federated``): its credentials, a form to add one, and
the test box that explains why an outside token matches or not (docs/secretless.md)."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatehouse import federation
from gatehouse.appclients import may_change_client
from gatehouse.console.appclient_forms import BASE as CLIENTS
from gatehouse.console.pages import ConsoleRequest, Pages
from gatehouse.console.render import confirmed, field, redirect
from gatehouse.errors import InvalidInput
from gatehouse.secretless.keyfetch import KeyFetcher
from gatehouse.services import federated_credentials as service
from gatehouse.store import federated
from gatehouse.store.models import AppClientRecord


def parse_claims(text: str) -> dict[str, str]:
    claims: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, pattern = line.strip().partition("=")
        if not sep or not name.strip():
            raise InvalidInput({"claims": f"Write each claim as NAME=PATTERN, not {line!r}."})
        claims[name.strip()] = pattern.strip()
    return claims


def federated_routes(pages: Pages) -> list[BaseRoute]:
    runtime = pages.runtime
    settings = runtime.settings
    store = runtime.store
    path = f"{CLIENTS}/{{app_id}}/federated"

    def client_of(page: ConsoleRequest) -> AppClientRecord:
        return store.get_client(app_id=page.path_param("app_id"), customer_id=page.customer_id)

    def may_change(page: ConsoleRequest, record: AppClientRecord) -> bool:
        return may_change_client({page.principal.user.role}, record.api_roles)

    def show(
        page: ConsoleRequest,
        record: AppClientRecord,
        *,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        results: list[dict[str, Any]] | None = None,
    ) -> Response:
        return pages.renderer.page(
            page.request,
            "app_client_federated.html",
            principal=page.principal,
            status=400 if errors else 200,
            active="apiAccess",
            tab="appClients",
            record=record,
            base=f"{CLIENTS}/{record.id}/federated",
            credentials=[
                federation.view(r) for r in federated.list_credentials(store, app_id=record.id)
            ],
            default_audience=settings.issuer(record.customer_id),
            values=values or {},
            errors=errors or {},
            results=results,
        )

    def owner_only(page: ConsoleRequest) -> Response:
        return pages.error_page(
            page.request,
            page.principal,
            403,
            "Only an owner may change the federated credentials of an app client that holds "
            "the owner role.",
        )

    def list_page(page: ConsoleRequest) -> Response:
        return show(page, client_of(page))

    def add(page: ConsoleRequest) -> Response:
        record = client_of(page)
        if not may_change(page, record):
            return owner_only(page)
        form = page.form
        values: dict[str, Any] = {
            name: field(form, name) for name in ("name", "issuer", "audience", "subject", "claims")
        }
        values["single_use"] = field(form, "single_use") == "yes"
        values["allow_any_subject"] = field(form, "allow_any_subject") == "yes"
        try:
            service.add_credential(
                store,
                customer_id=page.customer_id,
                app_id=record.id,
                fields={
                    **values,
                    "audience": values["audience"] or None,
                    "claims": parse_claims(str(values["claims"])),
                },
                allow_insecure=settings.allow_insecure_urls,
                actor=page.actor,
                notify=runtime,
            )
        except InvalidInput as exc:
            errors = {k: v[:1].upper() + v[1:] for k, v in exc.field_errors.items()}
            return show(page, record, values=values, errors=errors)
        return redirect(f"{CLIENTS}/{record.id}/federated")

    def remove(page: ConsoleRequest) -> Response:
        record = client_of(page)
        if not may_change(page, record):
            return owner_only(page)
        if confirmed(page.form):
            service.remove_credential(
                store,
                customer_id=page.customer_id,
                app_id=record.id,
                credential_id=page.path_param("credential_id"),
                actor=page.actor,
                notify=runtime,
            )
        return redirect(f"{CLIENTS}/{record.id}/federated")

    def test(page: ConsoleRequest) -> Response:
        record = client_of(page)
        token = field(page.form, "token").strip()
        credentials = federated.list_credentials(store, app_id=record.id)
        audience = settings.issuer(record.customer_id)
        # A fetcher of its own: this runs on a worker thread, outside the server's event loop.
        fetcher = KeyFetcher(allow_insecure=settings.allow_insecure_urls)

        async def run() -> list[dict[str, Any]]:
            return [
                (
                    await federation.evaluate(fetcher, c, token, default_audience=audience)
                ).as_result()
                for c in credentials
            ]

        return show(page, record, results=asyncio.run(run()) if token else [])

    return [
        Route(path, pages.signed_in(list_page), methods=["GET"]),
        Route(path, pages.signed_in(add), methods=["POST"]),
        Route(f"{path}/test", pages.signed_in(test), methods=["POST"]),
        Route(f"{path}/{{credential_id}}/delete", pages.signed_in(remove), methods=["POST"]),
    ]
