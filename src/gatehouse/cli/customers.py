"""``gatehouse customers``: tenants."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gatehouse.cli.common import (
    Context,
    JsonOpt,
    emit,
    fail,
    key_values,
    open_context,
    print_table,
    token_url,
)
from gatehouse.errors import InvalidInput
from gatehouse.services.customers import create_customer
from gatehouse.services.notify import UNHEARD
from gatehouse.store.models import Customer
from gatehouse.store.store import Conflict, NotFound

app = typer.Typer(no_args_is_help=True, help="Customers (tenants).")


@app.command("create")
def customers_create(
    customer_id: Annotated[str, typer.Argument(help="Customer id, e.g. acme or 1234567890.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a customer with its first signing key."""
    ctx = open_context()
    try:
        create_customer(
            ctx.store,
            ctx.master_key,
            customer_id=customer_id,
            name=name,
            alg=ctx.settings.signing_alg,
            actor="cli",
            notify=UNHEARD,
        )
    except InvalidInput as exc:
        fail(str(exc), 2)
    except Conflict:
        fail(f"customer {customer_id} exists")
    issuer = ctx.settings.issuer(customer_id)
    document = {
        "customer_id": customer_id,
        "issuer": issuer,
        "token_url": token_url(ctx.settings, customer_id),
    }
    emit(
        as_json,
        document,
        f"customer_id: {customer_id}\nissuer: {issuer}\ntoken_url: {document['token_url']}",
    )


def _customer_document(ctx: Context, customer: Customer) -> dict[str, Any]:
    from gatehouse.appclients import iso_time

    return {
        "customer_id": customer.id,
        "name": customer.name,
        "created_at": iso_time(customer.created_at),
        "issuer": ctx.settings.issuer(customer.id),
        "token_url": token_url(ctx.settings, customer.id),
    }


@app.command("list")
def customers_list(as_json: JsonOpt = False) -> None:
    """List the customers."""
    ctx = open_context()
    documents = [_customer_document(ctx, c) for c in ctx.store.list_customers()]
    if as_json:
        emit(True, {"customers": documents}, "")
    else:
        print_table(
            documents, ["customer_id", "name", "created_at", "issuer"], empty="no customers"
        )


@app.command("show")
def customers_show(
    customer_id: Annotated[str, typer.Argument(help="Customer id.")],
    as_json: JsonOpt = False,
) -> None:
    """Show one customer: its URLs and how many app clients, signing keys and users it has."""
    from gatehouse.users import list_users

    ctx = open_context()
    try:
        customer = ctx.store.get_customer(customer_id=customer_id)
    except NotFound:
        fail(f"no customer {customer_id}")
    keys = [k for k in ctx.store.list_keys(customer_id=customer_id) if k.state != "removed"]
    document = {
        **_customer_document(ctx, customer),
        "jwks_uri": f"{ctx.settings.issuer(customer_id)}/.well-known/jwks.json",
        "app_clients": len(ctx.store.list_clients(customer_id=customer_id)),
        "active_kid": next((k.kid for k in keys if k.state == "active"), None),
        "signing_keys": len(keys),
        "console_users": len(list_users(ctx.store, customer_id=customer_id)),
    }
    emit(as_json, document, key_values(document))
