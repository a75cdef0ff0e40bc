"""``gatehouse keys``: signing keys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gatehouse.appclients import iso_time
from gatehouse.cli.common import (
    CLI_ACTOR,
    Context,
    CustomerOpt,
    JsonOpt,
    emit,
    fail,
    key_values,
    open_context,
    print_table,
    require_customer,
)
from gatehouse.propagation import await_readers
from gatehouse.services.notify import UNHEARD
from gatehouse.services.signing_keys import rotate_signing_key

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
def keys_rotate(
    customer: CustomerOpt,
    now: Annotated[
        bool,
        typer.Option(
            "--now",
            help="Emergency: activate a new key at once. Verifiers holding a cached JWKS "
            "reject its tokens until their copy expires (up to 5 minutes).",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Publish a new signing key and activate it once verifiers have fetched it (6 minutes);
    the old one stays published until its tokens expire."""
    ctx = open_context()
    require_customer(ctx, customer)
    rotation = rotate_signing_key(
        ctx.store,
        ctx.master_key,
        customer_id=customer,
        alg=ctx.settings.signing_alg,
        actor=CLI_ACTOR,
        at_once=now,
        notifier=UNHEARD,
    )
    if now:
        await_readers(ctx.store)  # every server signs with the new key from its next request
        emit(as_json, _keys_document(ctx, customer), f"active_kid: {rotation.kid}")
        return
    document = {
        **_keys_document(ctx, customer),
        "next_kid": rotation.kid,
        "activates_at": iso_time(rotation.activates_at),
    }
    if rotation.active_now:
        text = f"active_kid: {rotation.kid} (published ahead, active now)"
    else:
        text = (
            f"next_kid: {rotation.kid} is published and becomes active at "
            f"{document['activates_at']}, once verifiers' cached key sets have expired; "
            f"active_kid: {document['active_kid']} signs until then (--now activates at once)"
        )
    emit(as_json, document, text)


@app.command("rewrap")
def keys_rewrap(
    new_master_key_file: Annotated[
        Path,
        typer.Option(
            "--new-master-key-file",
            help="File with the new master key, 32 bytes base64 (openssl rand -base64 32).",
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Re-seal every private key and kept secret under a new master key, in one transaction."""
    from gatehouse.masterkey import MasterKey, read_key_file
    from gatehouse.rewrap import WrongMasterKey, key_for_rewrap, rewrap

    try:
        new = MasterKey.from_bytes(read_key_file(new_master_key_file))
    except (OSError, ValueError) as exc:
        fail(f"invalid new master key: {exc}", 2)
    ctx = open_context(adopt_keys=False, rewrapping_to=new)
    try:
        result = rewrap(ctx.store, key_for_rewrap(ctx.store, ctx.master_key, new), new)
    except WrongMasterKey as exc:
        fail(str(exc))
    document = {
        "signing_keys": result.signing_keys,
        "client_secrets": result.client_secrets,
        "unchanged": result.unchanged,
        "new_master_key_file": str(new_master_key_file.absolute()),
    }
    emit(
        as_json,
        document,
        key_values(document)
        + "\nnext: restart every server with GATEHOUSE_MASTER_KEY_FILE set to the new file "
        "(docs/operations.md), then run this command again to catch anything sealed meanwhile",
    )
