"""What every command shares: the settings, the store and the master key, errors and output."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

import orjson
import typer
from pydantic import ValidationError

from gatehouse.appclients import Actor
from gatehouse.cli import datadirs
from gatehouse.keycheck import MasterKeyError, configured_key, open_master_key
from gatehouse.masterkey import MasterKey
from gatehouse.settings import Settings
from gatehouse.store.engine import create_store_engine, migrate
from gatehouse.store.store import NotFound, Store

CLI_ACTOR = Actor(name="cli", source="cli")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
CustomerOpt = Annotated[str, typer.Option("--customer", help="Customer id.")]
AppIdArg = Annotated[str, typer.Argument(help="App client id (app_...) or its client_id.")]


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


def open_context(*, adopt_keys: bool = True, rewrapping_to: MasterKey | None = None) -> Context:
    settings = load_settings()
    try:  # a malformed key stops the command before the database is touched
        configured_key(settings)
    except MasterKeyError as exc:
        fail(str(exc), 2)
    database = datadirs.sqlite_path(settings.sqlalchemy_url)
    warning = datadirs.new_database_warning(database) if database is not None else None
    if warning is not None:
        typer.echo(warning, err=True)
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
        master_key = open_master_key(settings, engine, rewrapping_to=rewrapping_to)
    except MasterKeyError as exc:
        engine.dispose()
        fail(str(exc), 2)
    if database is not None:
        datadirs.remember(database)
    store = Store(engine)
    if adopt_keys:
        from gatehouse.rewrap import WrongMasterKey, adopt_stored_keys

        try:
            master_key = adopt_stored_keys(store, master_key)
        except WrongMasterKey as exc:
            fail(str(exc), 2)
    return Context(settings, store, master_key)


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


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], *, empty: str) -> None:
    """Human output of the list commands: a header and aligned columns; lists joined by spaces."""
    if not rows:
        typer.echo(empty)
        return
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    header = [c.upper() for c in columns]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(columns))]
    for line in [header, *cells]:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return " ".join(_cell(v) for v in value) or "-"
    if isinstance(value, dict):
        return ":".join(_cell(v) for v in value.values())
    return str(value)


def key_values(document: dict[str, Any]) -> str:
    """Human output of one object: ``key: value`` lines, lists joined by spaces."""
    return "\n".join(f"{k}: {_cell(v)}" for k, v in document.items())
