"""``gatehouse keys``: signing keys."""

from __future__ import annotations

import time
from typing import Any

import typer

from gatehouse.cli.common import (
    CLI_ACTOR,
    Context,
    CustomerOpt,
    JsonOpt,
    emit,
    open_context,
    print_table,
    require_customer,
)
from gatehouse.keyring import rotate_keys
from gatehouse.store.models import AuditEvent

app = typer.Typer(no_args_is_help=True, help="Signing keys.")


def _keys_document(ctx: Context, customer: str) -> dict[str, Any]:
    keys = [k for k in ctx.store.list_keys(customer_id=customer) if k.state != "removed"]
    active = next((k.kid for k in keys if k.state == "active"), None)
    return {
        "customer_id": customer,
        "active_kid": active,
        "keys": [{"kid": k.kid, "alg": k.alg, "state": k.state} for k in keys],
    }


@app.command("list")
def keys_list(customer: CustomerOpt, as_json: JsonOpt = False) -> None:
    """List a customer's published signing keys."""
    ctx = open_context()
    require_customer(ctx, customer)
    document = _keys_document(ctx, customer)
    if as_json:
        emit(True, document, "")
    else:
        print_table(document["keys"], ["kid", "alg", "state"], empty="no signing keys")


@app.command("rotate")
def keys_rotate(customer: CustomerOpt, as_json: JsonOpt = False) -> None:
    """Promote a new signing key; the old one stays published until its tokens expire."""
    ctx = open_context()
    require_customer(ctx, customer)
    kid = rotate_keys(ctx.store, ctx.master_key, customer_id=customer, alg=ctx.settings.signing_alg)
    ctx.store.append_audit(
        events=[
            AuditEvent(
                customer_id=customer,
                at=time.time(),
                actor=CLI_ACTOR.name,
                action="keys.rotate",
                target=kid,
                source=CLI_ACTOR.source,
            )
        ]
    )
    document = _keys_document(ctx, customer)
    emit(as_json, document, f"active_kid: {document['active_kid']}")
