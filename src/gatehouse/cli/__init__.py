"""The ``gatehouse`` command. Every command reads the server's settings and migrates the schema;
with ``--json`` it prints one JSON object on stdout. One module per command group."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from gatehouse.cli import (
    audit,
    backup,
    clients,
    customers,
    demo,
    federate,
    keys,
    serve,
    token,
    transfer,
    users,
)
from gatehouse.cli.apis import app as apis_app
from gatehouse.cli.grants import add_grant_commands
from gatehouse.cli.registration import app as registration_app

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help="Gatehouse: OAuth 2.0 for machine clients.",
)
app.command()(serve.serve)
app.add_typer(customers.app, name="customers")
app.add_typer(clients.app, name="clients")
transfer.register(clients.app)
clients.app.add_typer(federate.app, name="federate")
app.add_typer(keys.app, name="keys")
app.add_typer(apis_app, name="apis")
add_grant_commands(clients.app)
customers.app.add_typer(registration_app, name="registration-token")
app.add_typer(users.app, name="users")
app.command()(audit.audit)
app.command()(token.token)
app.command()(demo.demo)
app.command()(backup.backup)
app.command()(backup.restore)


def _version(value: bool) -> None:
    if value:
        from gatehouse import __version__

        typer.echo(f"gatehouse {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    _version_flag: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Gatehouse: OAuth 2.0 for machine clients."""


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
