"""The ``gatehouse`` command. Every command reads the server's settings and migrates the schema;
with ``--json`` it prints one JSON object on stdout. One module per command group."""

from __future__ import annotations

import logging

import typer

from gatehouse.cli import audit, clients, customers, demo, federate, keys, serve, token, users

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Gatehouse: OAuth 2.0 for machine clients."
)
app.command()(serve.serve)
app.add_typer(customers.app, name="customers")
app.add_typer(clients.app, name="clients")
clients.app.add_typer(federate.app, name="federate")
app.add_typer(keys.app, name="keys")
app.add_typer(users.app, name="users")
app.command()(audit.audit)
app.command()(token.token)
app.command()(demo.demo)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
