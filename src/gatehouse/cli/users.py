"""``gatehouse users``: console users."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

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
from gatehouse.errors import InvalidInput
from gatehouse.store.store import Conflict, NotFound

if TYPE_CHECKING:
    from gatehouse.users import ConsoleUser

app = typer.Typer(no_args_is_help=True, help="Console users.")
EmailArg = Annotated[str, typer.Argument(help="The user's sign-in email.")]


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
    from gatehouse.services.console_users import create_user

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


def _user_document(user: ConsoleUser) -> dict[str, str]:
    return {"id": user.id, "email": user.email, "role": user.role, "customer_id": user.customer_id}


@app.command("list")
def users_list(customer: CustomerOpt, as_json: JsonOpt = False) -> None:
    """List a customer's console users."""
    from gatehouse.users import list_users

    ctx = open_context()
    require_customer(ctx, customer)
    users = [_user_document(u) for u in list_users(ctx.store, customer_id=customer)]
    if as_json:
        emit(True, {"users": users}, "")
    else:
        print_table(users, ["email", "role", "id"], empty="no console users")


def _find_user(ctx: Context, customer: str, email: str) -> ConsoleUser:
    from gatehouse.users import list_users

    wanted = email.strip().lower()
    for user in list_users(ctx.store, customer_id=customer):
        if user.email == wanted:
            return user
    fail(f"no console user {wanted} for customer {customer}")


@app.command("delete")
def users_delete(customer: CustomerOpt, email: EmailArg, as_json: JsonOpt = False) -> None:
    """Remove a console user (never the customer's last owner); its sessions end."""
    from gatehouse.services.console_users import delete_user

    ctx = open_context()
    require_customer(ctx, customer)
    found = _find_user(ctx, customer, email)
    user = _change_user(
        lambda: delete_user(
            ctx.store, customer_id=customer, user_id=found.id, actor=CLI_ACTOR.name
        ),
        found,
    )
    emit(as_json, {**_user_document(user), "deleted": True}, f"deleted {user.email}")


@app.command("set-role")
def users_set_role(
    customer: CustomerOpt,
    email: EmailArg,
    role: Annotated[str, typer.Option(help="owner or administrator.")],
    as_json: JsonOpt = False,
) -> None:
    """Change a console user's role (the last owner cannot be demoted)."""
    from gatehouse.services.console_users import set_user_role

    ctx = open_context()
    require_customer(ctx, customer)
    found = _find_user(ctx, customer, email)
    user = _change_user(
        lambda: set_user_role(
            ctx.store, customer_id=customer, user_id=found.id, role=role, actor=CLI_ACTOR.name
        ),
        found,
    )
    emit(as_json, _user_document(user), f"{user.email}: {user.role}")


@app.command("reset-password")
def users_reset_password(
    customer: CustomerOpt,
    email: EmailArg,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from stdin.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Set a new console password (a generated one, printed once, without --password-stdin);
    the user's console sessions end."""
    from gatehouse.services.console_users import reset_password
    from gatehouse.users import generate_password

    generated = not password_stdin
    password = generate_password() if generated else sys.stdin.readline().rstrip("\r\n")
    ctx = open_context()
    require_customer(ctx, customer)
    found = _find_user(ctx, customer, email)
    user = _change_user(
        lambda: reset_password(
            ctx.store,
            customer_id=customer,
            user_id=found.id,
            password=password,
            actor=CLI_ACTOR.name,
        ),
        found,
    )
    document: dict[str, str] = _user_document(user)
    if generated:
        document["password"] = password
    emit(as_json, document, key_values(document))


def _change_user(change: Callable[[], ConsoleUser], user: ConsoleUser) -> ConsoleUser:
    from gatehouse.users import LastOwner

    try:
        return change()
    except InvalidInput as exc:
        fail(str(exc), 2)
    except NotFound:
        fail(f"no console user {user.email} for customer {user.customer_id}")
    except LastOwner:
        fail(
            f"{user.email} is the last owner of customer {user.customer_id}; make another user "
            "owner first (gatehouse users set-role)"
        )
