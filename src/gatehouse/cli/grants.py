"""``gatehouse clients grant|ungrant``: which scopes of an API a client may get."""

from __future__ import annotations

from typing import Annotated

import typer

from gatehouse import apis
from gatehouse.cli.apis import context_apis, find
from gatehouse.cli.common import CLI_ACTOR, AppIdArg, CustomerOpt, JsonOpt, emit, fail, open_context
from gatehouse.errors import InvalidInput
from gatehouse.services import apis as api_service
from gatehouse.services.notify import UNHEARD
from gatehouse.store.store import NotFound

ApiOpt = Annotated[str, typer.Option("--api", help="API id (api_...) or identifier.")]


def clients_grant(
    app_id: AppIdArg,
    customer: CustomerOpt,
    api: ApiOpt,
    scope: Annotated[list[str], typer.Option("--scope", help="Scope of the API (repeatable).")],
    as_json: JsonOpt = False,
) -> None:
    """Let a client get these scopes of an API (replaces its grant on that API)."""
    ctx = open_context()
    record = find(ctx, customer, api)
    try:
        client = ctx.store.get_client(app_id=app_id, customer_id=customer)
        scopes = api_service.put_grant(
            context_apis(ctx),
            client=client,
            api=record,
            scopes=scope,
            actor=CLI_ACTOR,
            notify=UNHEARD,
        )
    except NotFound:
        fail(f"no app client {app_id} for customer {customer}")
    except InvalidInput as exc:
        fail(str(exc), 2)
    identifier = apis.api_identifier(context_apis(ctx), record)
    document = {"api_id": record.id, "api_identifier": identifier, "scopes": list(scopes)}
    emit(as_json, document, f"{app_id} may get {' '.join(scopes)} of {identifier}")


def clients_ungrant(
    app_id: AppIdArg, customer: CustomerOpt, api: ApiOpt, as_json: JsonOpt = False
) -> None:
    """Remove a client's grant on an API; its tokens for that API stop working."""
    ctx = open_context()
    record = find(ctx, customer, api)
    try:
        client = ctx.store.get_client(app_id=app_id, customer_id=customer)
        api_service.delete_grant(
            context_apis(ctx), client=client, api=record, actor=CLI_ACTOR, notify=UNHEARD
        )
    except NotFound:
        fail(f"app client {app_id} of customer {customer} has no grant on {api}")
    except InvalidInput as exc:
        fail(str(exc), 2)
    emit(as_json, {"app_id": app_id, "api_id": record.id, "deleted": True}, "grant removed")


def clients_grants(app_id: AppIdArg, customer: CustomerOpt, as_json: JsonOpt = False) -> None:
    """List a client's grants, the built-in API (its roles) first."""
    ctx = open_context()
    try:
        client = ctx.store.get_client(app_id=app_id, customer_id=customer)
    except NotFound:
        fail(f"no app client {app_id} for customer {customer}")
    views = apis.grant_views(context_apis(ctx), client)
    lines = [f"{g['api_identifier']}  {' '.join(g['scopes'])}" for g in views]
    emit(as_json, {"grants": views}, "\n".join(lines))


def add_grant_commands(app: typer.Typer) -> None:
    """Register ``grant``, ``ungrant`` and ``grants`` on ``gatehouse clients``."""
    app.command("grant")(clients_grant)
    app.command("ungrant")(clients_ungrant)
    app.command("grants")(clients_grants)
