"""``gatehouse apis``: the APIs (resource servers) that trust a customer's issuer."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gatehouse import apis
from gatehouse.cli.common import (
    CLI_ACTOR,
    Context,
    CustomerOpt,
    JsonOpt,
    emit,
    fail,
    open_context,
    require_customer,
)
from gatehouse.errors import InvalidInput
from gatehouse.services import apis as api_service
from gatehouse.services.notify import UNHEARD
from gatehouse.store.apis import ApiRecord, ApiScope
from gatehouse.store.store import Conflict, NotFound

app = typer.Typer(no_args_is_help=True, help="APIs (resource servers) and their scopes.")
ApiArg = Annotated[str, typer.Argument(help="API id (api_...) or identifier.")]


def context_apis(ctx: Context) -> apis.Apis:
    return apis.Apis.of(ctx.store, ctx.settings.default_audience)


def find(ctx: Context, customer: str, reference: str) -> ApiRecord:
    require_customer(ctx, customer)
    try:
        return apis.find_api(context_apis(ctx), customer_id=customer, reference=reference)
    except NotFound:
        fail(f"no API {reference} for customer {customer}")


def _text(view: dict[str, Any]) -> str:
    scopes = " ".join(s["value"] for s in view["scopes"])
    return "\n".join(
        [
            f"id: {view['id']}",
            f"identifier: {view['identifier']}",
            f"name: {view['name']}",
            f"scopes: {scopes}",
            f"token_lifetime_seconds: {view['token_lifetime_seconds'] or 'the client lifetime'}",
        ]
    )


def parse_scope(text: str) -> ApiScope:
    """``VALUE`` or ``"VALUE description..."`` (a scope token holds no space)."""
    value, _, description = text.strip().partition(" ")
    return ApiScope(value, description.strip())


@app.command("create")
def apis_create(
    customer: CustomerOpt,
    identifier: Annotated[str, typer.Option(help="Absolute URI; becomes the tokens' aud.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help='Scope (repeatable): VALUE or "VALUE description".'),
    ] = None,
    description: Annotated[str, typer.Option(help="Description.")] = "",
    lifetime: Annotated[
        int | None, typer.Option(help="Cap on token lifetime in seconds (300-86400).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register an API with its scopes."""
    ctx = open_context()
    require_customer(ctx, customer)
    store = context_apis(ctx)
    try:
        record = api_service.create_api(
            store,
            customer_id=customer,
            identifier=identifier,
            name=name,
            description=description,
            scopes=[parse_scope(s) for s in scope or ()],
            token_lifetime_seconds=lifetime,
            actor=CLI_ACTOR,
            notify=UNHEARD,
        )
    except InvalidInput as exc:
        fail(str(exc), 2)
    except Conflict:
        fail(f"an API with identifier {identifier} exists")
    view = apis.api_view(store, record)
    emit(as_json, view, _text(view))


@app.command("list")
def apis_list(customer: CustomerOpt, as_json: JsonOpt = False) -> None:
    """List a customer's APIs, the built-in API first."""
    ctx = open_context()
    require_customer(ctx, customer)
    store = context_apis(ctx)
    views = [apis.api_view(store, r) for r in store.apis.list_apis(customer_id=customer)]
    lines = [f"{v['id']}  {v['identifier']}  {v['name']}" for v in views]
    emit(as_json, {"apis": views}, "\n".join(lines))


@app.command("show")
def apis_show(api: ApiArg, customer: CustomerOpt, as_json: JsonOpt = False) -> None:
    """Show one API."""
    ctx = open_context()
    view = apis.api_view(context_apis(ctx), find(ctx, customer, api))
    emit(as_json, view, _text(view))


@app.command("delete")
def apis_delete(api: ApiArg, customer: CustomerOpt, as_json: JsonOpt = False) -> None:
    """Delete an API and every grant on it (not the built-in API)."""
    ctx = open_context()
    record = find(ctx, customer, api)
    try:
        api_service.delete_api(
            context_apis(ctx),
            customer_id=customer,
            api_id=record.id,
            actor=CLI_ACTOR,
            notify=UNHEARD,
        )
    except InvalidInput as exc:
        fail(str(exc), 2)
    emit(as_json, {"id": record.id, "deleted": True}, f"deleted {record.id}")
