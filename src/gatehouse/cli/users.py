"""``gatehouse users``: console users."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gatehouse.cli.common import CustomerOpt, JsonOpt, emit, fail, open_context, require_customer
from gatehouse.errors import InvalidInput
from gatehouse.store.store import Conflict

app = typer.Typer(no_args_is_help=True, help="Console users.")


@app.command("create")
def users_create(
    customer: CustomerOpt,
    email: Annotated[str, typer.Option(help="Sign-in email.")],
    role: Annotated[str, typer.Option(help="owner or administrator.")] = "owner",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a console user."""
    from gatehouse.users import create_user

    if not password_stdin:
        fail("pass the password on standard input with --password-stdin", 2)
    password = sys.stdin.readline().rstrip("\r\n")
    ctx = open_context()
    require_customer(ctx, customer)
    try:
        user_id = create_user(
            ctx.store, customer_id=customer, email=email, role=role, password=password, actor="cli"
        )
    except InvalidInput as exc:
        fail(str(exc), 2)
    except Conflict as exc:
        fail(str(exc))
    emit(
        as_json,
        {"id": user_id, "email": email.lower(), "role": role, "customer_id": customer},
        f"created {email}",
    )
