"""What every command shares: the settings, the store and the master key, errors and output."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

import orjson
import typer
from pydantic import ValidationError

from gatehouse.appclients import Actor
from gatehouse.keycheck import MasterKeyError, configured_key, open_master_key
from gatehouse.masterkey import MasterKey
from gatehouse.settings import Settings
from gatehouse.store.engine import create_store_engine, migrate
from gatehouse.store.store import NotFound, Store

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
    try:  # a malformed key stops the command before the database is touched
        configured_key(settings)
    except MasterKeyError as exc:
        fail(str(exc), 2)
    engine = create_store_engine(settings.sqlalchemy_url)
    try:
        migrate(engine)
    except Exception as exc:
        fail(
            f"cannot open the database at {engine.url.render_as_string(hide_password=True)}: {exc}"
        )
    # The master key is checked against the store before any command writes: a wrong or
    # missing key changes nothing and exits 2.
    try:
        master_key = open_master_key(settings, engine)
    except MasterKeyError as exc:
        engine.dispose()
        fail(str(exc), 2)
    return Context(settings, Store(engine), master_key)


def emit(as_json: bool, document: dict[str, Any], text: str) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(document).decode() + "\n")
    else:
        typer.echo(text)


def token_url(settings: Settings, customer_id: str) -> str:
    return f"{settings.issuer(customer_id)}/oauth2/token"


def require_customer(ctx: Context, customer_id: str) -> None:
    try:
        ctx.store.get_customer(customer_id=customer_id)
    except NotFound:
        fail(f"no customer {customer_id}; create it with: gatehouse customers create {customer_id}")
