"""``gatehouse customers``: tenants."""

from __future__ import annotations

from typing import Annotated

import typer

from gatehouse.cli.common import JsonOpt, emit, fail, open_context, token_url
from gatehouse.customers import create_customer
from gatehouse.errors import InvalidInput
from gatehouse.store.store import Conflict

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
