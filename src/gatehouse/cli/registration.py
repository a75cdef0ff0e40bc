"""``gatehouse customers registration-token``: RFC 7591 initial access tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from gatehouse import registration
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
from gatehouse.services import registration as service
from gatehouse.store.store import NotFound

app = typer.Typer(no_args_is_help=True, help="Initial access tokens for client registration.")


def _registrar(ctx: Context) -> registration.Registrar:
    return registration.Registrar.of(ctx.store, ctx.master_key, ctx.settings)


@app.command("create")
def token_create(
    customer: CustomerOpt,
    expires: Annotated[
        int, typer.Option(help="Seconds until the token expires (default 7 days).")
    ] = registration.DEFAULT_EXPIRY,
    max_uses: Annotated[
        int | None, typer.Option("--max-uses", help="Registrations allowed (default unlimited).")
    ] = None,
    role: Annotated[
        list[str] | None,
        typer.Option(
            "--role", help="Role registered clients may get (repeatable; default viewer)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an initial access token; it is shown once."""
    ctx = open_context()
    require_customer(ctx, customer)
    try:
        token, record = service.create_initial_token(
            _registrar(ctx),
            customer_id=customer,
            roles=role or ["viewer"],
            expires_in=expires,
            max_uses=max_uses,
            actor=CLI_ACTOR,
        )
    except InvalidInput as exc:
        fail(str(exc), 2)
    document = {
        "registration_token": token,
        "id": record.id,
        "expires_at": registration.initial_token_view(record)["expires_at"],
        "max_uses": record.max_uses,
        "roles": list(record.roles),
        "registration_endpoint": f"{ctx.settings.issuer(customer)}/oauth2/register",
    }
    emit(as_json, document, "\n".join(f"{k}: {v}" for k, v in document.items()))


@app.command("list")
def token_list(customer: CustomerOpt, as_json: JsonOpt = False) -> None:
    """List a customer's initial access tokens (never the tokens themselves)."""
    ctx = open_context()
    require_customer(ctx, customer)
    records = _registrar(ctx).registrations.list_initial_tokens(customer_id=customer)
    views = [registration.initial_token_view(r) for r in records]
    lines = [
        f"{v['id']}  uses {v['uses']}/{v['max_uses'] or '-'}  expires {v['expires_at']}"
        f"{'  revoked' if v['revoked'] else ''}"
        for v in views
    ]
    emit(as_json, {"registration_tokens": views}, "\n".join(lines) or "no registration tokens")


@app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="Token id (iat_...).")],
    customer: CustomerOpt,
    as_json: JsonOpt = False,
) -> None:
    """Revoke an initial access token; clients it registered stay."""
    ctx = open_context()
    require_customer(ctx, customer)
    try:
        service.revoke_initial_token(
            _registrar(ctx), customer_id=customer, token_id=token_id, actor=CLI_ACTOR
        )
    except NotFound:
        fail(f"no registration token {token_id} for customer {customer}")
    emit(as_json, {"id": token_id, "revoked": True}, f"revoked {token_id}")
