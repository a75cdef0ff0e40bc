"""The ``gatehouse`` command. Every command reads the server's settings and migrates the schema;
with ``--json`` it prints one JSON object on stdout."""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

import orjson
import typer
from pydantic import ValidationError

from gatehouse import appclients
from gatehouse.appclients import Actor, client_view
from gatehouse.customers import create_customer
from gatehouse.errors import InvalidInput
from gatehouse.keyring import rotate_keys
from gatehouse.masterkey import MasterKey, load_master_key
from gatehouse.settings import Settings
from gatehouse.store.engine import create_store_engine, migrate
from gatehouse.store.models import AuditEvent
from gatehouse.store.store import Conflict, NotFound, Store

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Gatehouse: OAuth 2.0 for machine clients."
)
customers_app = typer.Typer(no_args_is_help=True, help="Customers (tenants).")
clients_app = typer.Typer(no_args_is_help=True, help="Application clients.")
keys_app = typer.Typer(no_args_is_help=True, help="Signing keys.")
users_app = typer.Typer(no_args_is_help=True, help="Console users.")
app.add_typer(customers_app, name="customers")
app.add_typer(clients_app, name="clients")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")

CLI_ACTOR = Actor(name="cli", source="cli")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
CustomerOpt = Annotated[str, typer.Option("--customer", help="Customer id.")]
AppIdArg = Annotated[str, typer.Argument(help="App client id (app_...).")]


@dataclass
class Context:
    settings: Settings
    store: Store
    master_key: MasterKey


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"GATEHOUSE_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        fail(f"invalid settings: {problems}", 2)


def open_context() -> Context:
    settings = load_settings()
    # The master key is checked before the database is touched: a bad key changes nothing.
    try:
        master_key = load_master_key(settings)
    except (OSError, ValueError) as exc:
        fail(f"invalid master key: {exc}", 2)
    engine = create_store_engine(settings.sqlalchemy_url)
    try:
        migrate(engine)
    except Exception as exc:
        fail(
            f"cannot open the database at {engine.url.render_as_string(hide_password=True)}: {exc}"
        )
    return Context(settings, Store(engine), master_key)


def emit(as_json: bool, document: dict[str, Any], text: str) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(document).decode() + "\n")
    else:
        typer.echo(text)


def token_url(settings: Settings, customer_id: str) -> str:
    return f"{settings.issuer(customer_id)}/oauth2/token"


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    log_level: Annotated[
        str | None, typer.Option(help="critical, error, warning, info or debug.")
    ] = None,
) -> None:
    """Serve the authorization server, the API and the console."""
    # Worker processes read the settings from the environment, so put the flags there.
    if host is not None:
        os.environ["GATEHOUSE_HOST"] = host
    if port is not None:
        os.environ["GATEHOUSE_PORT"] = str(port)
    if log_level is not None:
        os.environ["GATEHOUSE_LOG_LEVEL"] = log_level.lower()
    ctx = open_context()
    ctx.store.engine.dispose()
    from gatehouse.server import serve as run_server

    run_server(ctx.settings, workers=workers)


@customers_app.command("create")
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


@clients_app.command("create")
def clients_create(
    customer: CustomerOpt,
    name: Annotated[str, typer.Option(help="Client name.")],
    description: Annotated[str, typer.Option(help="Description.")] = "",
    role: Annotated[list[str] | None, typer.Option("--role", help="API role (repeatable).")] = None,
    lifetime: Annotated[int, typer.Option(help="Token lifetime in seconds (300-86400).")] = 0,
    quota: Annotated[
        int | None, typer.Option(help="Tokens per hour this client may get (default: no limit).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an application client and print its id and secret."""
    ctx = open_context()
    _require_customer(ctx, customer)
    try:
        record, secret = appclients.create_client(
            ctx.store,
            ctx.master_key,
            customer_id=customer,
            name=name,
            description=description,
            api_roles=role or [],
            lifetime=lifetime or ctx.settings.token_lifetime,
            quota=quota,
            keep_secret=ctx.settings.secret_retrieval,
            actor=CLI_ACTOR,
        )
    except InvalidInput as exc:
        fail(str(exc), 2)
    document = {
        "id": record.id,
        "client_id": record.client_id,
        "client_secret": secret,
        "token_url": token_url(ctx.settings, customer),
        "issuer": ctx.settings.issuer(customer),
        "api_roles": list(record.api_roles),
    }
    emit(as_json, document, "\n".join(f"{k}: {v}" for k, v in document.items()))


def _require_customer(ctx: Context, customer_id: str) -> None:
    try:
        ctx.store.get_customer(customer_id=customer_id)
    except NotFound:
        fail(f"no customer {customer_id}; create it with: gatehouse customers create {customer_id}")


def _get_client(ctx: Context, customer: str, app_id: str) -> Any:
    try:
        return ctx.store.get_client(app_id=app_id, customer_id=customer)
    except NotFound:
        fail(f"no app client {app_id} for customer {customer}")


@clients_app.command("list")
def clients_list(customer: CustomerOpt, as_json: JsonOpt = False) -> None:
    """List a customer's application clients."""
    ctx = open_context()
    _require_customer(ctx, customer)
    records = ctx.store.list_clients(customer_id=customer)
    views = [client_view(r) for r in records]
    lines = [f"{v['id']}  {v['client_id']}  {v['name']}  {' '.join(v['api_roles'])}" for v in views]
    emit(as_json, {"app_clients": views}, "\n".join(lines) or "no app clients")


@clients_app.command("show")
def clients_show(
    app_id: AppIdArg,
    customer: CustomerOpt,
    show_secret: Annotated[bool, typer.Option("--show-secret", help="Include the secret.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show one application client."""
    ctx = open_context()
    record = _get_client(ctx, customer, app_id)
    secret = appclients.reveal_secret(ctx.master_key, record) if show_secret else None
    if show_secret and secret is None:
        fail("this server keeps no copy of secrets (GATEHOUSE_SECRET_RETRIEVAL=false)")
    view = client_view(record, secret=secret)
    emit(as_json, view, "\n".join(f"{k}: {v}" for k, v in view.items()))


@clients_app.command("set-quota")
def clients_set_quota(
    app_id: AppIdArg,
    customer: CustomerOpt,
    quota: Annotated[int | None, typer.Option(help="Tokens per hour; omit for no limit.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Set or clear a client's hourly token quota."""
    ctx = open_context()
    _get_client(ctx, customer, app_id)
    try:
        record = appclients.update_client(
            ctx.store,
            customer_id=customer,
            app_id=app_id,
            changes={"token_quota_per_hour": quota},
            actor=CLI_ACTOR,
        )
    except InvalidInput as exc:
        fail(str(exc), 2)
    document = {"id": record.id, "token_quota_per_hour": record.token_quota_per_hour}
    emit(as_json, document, f"token_quota_per_hour: {record.token_quota_per_hour or 'none'}")


@clients_app.command("rotate-secret")
def clients_rotate(
    app_id: AppIdArg,
    customer: CustomerOpt,
    grace: Annotated[
        int, typer.Option(help="Seconds the old secret keeps working (max 7 days).")
    ] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Give a client a new secret."""
    ctx = open_context()
    _get_client(ctx, customer, app_id)
    try:
        record, secret = appclients.rotate_secret(
            ctx.store,
            ctx.master_key,
            customer_id=customer,
            app_id=app_id,
            grace_period_seconds=grace,
            keep_secret=ctx.settings.secret_retrieval,
            actor=CLI_ACTOR,
        )
    except InvalidInput as exc:
        fail(str(exc), 2)
    view = client_view(record, secret=secret)
    emit(as_json, view, f"client_id: {record.client_id}\nclient_secret: {secret}")


@clients_app.command("revoke-tokens")
def clients_revoke(
    app_id: AppIdArg,
    customer: CustomerOpt,
    as_json: JsonOpt = False,
) -> None:
    """Reject every token issued to a client so far."""
    ctx = open_context()
    _get_client(ctx, customer, app_id)
    record = appclients.revoke_tokens(
        ctx.store, customer_id=customer, app_id=app_id, actor=CLI_ACTOR
    )
    emit(
        as_json,
        {"id": record.id, "tokens_revoked_before": record.tokens_revoked_before},
        "tokens revoked",
    )


@clients_app.command("delete")
def clients_delete(
    app_id: AppIdArg,
    customer: CustomerOpt,
    as_json: JsonOpt = False,
) -> None:
    """Delete a client; its tokens stop working."""
    ctx = open_context()
    _get_client(ctx, customer, app_id)
    appclients.delete_client(ctx.store, customer_id=customer, app_id=app_id, actor=CLI_ACTOR)
    emit(as_json, {"id": app_id, "deleted": True}, f"deleted {app_id}")


def _keys_document(ctx: Context, customer: str) -> dict[str, Any]:
    keys = [k for k in ctx.store.list_keys(customer_id=customer) if k.state != "removed"]
    active = next((k.kid for k in keys if k.state == "active"), None)
    return {
        "customer_id": customer,
        "active_kid": active,
        "keys": [{"kid": k.kid, "alg": k.alg, "state": k.state} for k in keys],
    }


@keys_app.command("list")
def keys_list(customer: CustomerOpt, as_json: JsonOpt = False) -> None:
    """List a customer's published signing keys."""
    ctx = open_context()
    _require_customer(ctx, customer)
    document = _keys_document(ctx, customer)
    emit(
        as_json,
        document,
        "\n".join(f"{k['kid']}  {k['alg']}  {k['state']}" for k in document["keys"]),
    )


@keys_app.command("rotate")
def keys_rotate(customer: CustomerOpt, as_json: JsonOpt = False) -> None:
    """Promote a new signing key; the old one stays published until its tokens expire."""
    ctx = open_context()
    _require_customer(ctx, customer)
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


@users_app.command("create")
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
    _require_customer(ctx, customer)
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


@app.command()
def audit(
    customer: CustomerOpt,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="Newest events to show.")] = 50,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. token.issue.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a customer's audit log, newest first."""
    from gatehouse.appclients import iso_time

    ctx = open_context()
    _require_customer(ctx, customer)
    events = ctx.store.list_audit(customer_id=customer, limit=limit, action=action)
    rows = [
        {
            "id": e.id,
            "at": iso_time(e.at),
            "actor": e.actor,
            "action": e.action,
            "target": e.target,
            "source": e.source,
            "detail": e.detail,
        }
        for e in events
    ]
    lines = [f"{r['at']}  {r['action']:<24} {r['actor']}  {r['target'] or ''}" for r in rows]
    emit(as_json, {"events": rows}, "\n".join(lines) or "no events")


@app.command()
def token(
    token_url_: Annotated[str, typer.Option("--token-url", help="The token endpoint URL.")],
    client_id: Annotated[str, typer.Option(help="Client id.")],
    client_secret: Annotated[str, typer.Option(help="Client secret.")],
    scope: Annotated[str | None, typer.Option(help="Space-separated roles.")] = None,
) -> None:
    """Get a token with the client credentials grant and print the token response."""
    import httpx

    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    try:
        response = httpx.post(
            token_url_,
            data=data,
            headers={"authorization": basic_authorization(client_id, client_secret)},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        fail(f"cannot reach {token_url_}: {exc}")
    sys.stdout.write(response.text.rstrip("\n") + "\n")
    if response.status_code != 200:
        raise typer.Exit(1)


def basic_authorization(client_id: str, client_secret: str) -> str:
    """RFC 6749 §2.3.1: form-urlencode the id and the secret, then base64 them for Basic."""
    import base64
    from urllib.parse import quote_plus

    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


@app.command()
def demo(as_json: JsonOpt = False) -> None:
    """Create the demo customer, an owner app client and a console user (idempotent)."""
    from gatehouse.demo import ensure_demo

    ctx = open_context()
    document = ensure_demo(ctx.settings, ctx.store, ctx.master_key)
    emit(as_json, document, "\n".join(f"{k}: {v}" for k, v in document.items()))


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
