"""``gatehouse clients import`` and ``gatehouse clients export``: app clients in bulk, as JSON
Lines (docs/scale.md). The work is done by :mod:`gatehouse.clientimport`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from gatehouse.cli.common import (
    CLI_ACTOR,
    CustomerOpt,
    JsonOpt,
    emit,
    fail,
    open_context,
    require_customer,
)
from gatehouse.clientimport import BadLine, ImportOptions, export_clients, import_clients


def clients_import(
    customer: CustomerOpt,
    file: Annotated[Path, typer.Argument(help="JSON Lines file, one client a line ('-': stdin).")],
    as_json: JsonOpt = False,
) -> None:
    """Import app clients from a JSON Lines file: all of them, or none (exit 2 on a bad line)."""
    ctx = open_context()
    require_customer(ctx, customer)
    options = ImportOptions(
        customer_id=customer,
        keep_secret=ctx.settings.secret_retrieval,
        default_lifetime=ctx.settings.token_lifetime,
    )
    stream: BinaryIO
    try:
        stream = sys.stdin.buffer if str(file) == "-" else file.open("rb")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}", 2)
    try:
        count = import_clients(
            ctx.store, ctx.master_key, lines=stream, options=options, actor=CLI_ACTOR
        )
    except BadLine as exc:
        fail(f"{file}: {exc}; nothing was imported", 2)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    emit(as_json, {"imported": count}, f"imported {count} app clients")


def clients_export(
    customer: CustomerOpt,
    with_secrets: Annotated[
        bool,
        typer.Option("--with-secrets", help="Include each client's secret (retrieval on only)."),
    ] = False,
) -> None:
    """Write a customer's app clients as JSON Lines on stdout, in the import format."""
    ctx = open_context()
    require_customer(ctx, customer)
    if with_secrets and not ctx.settings.secret_retrieval:
        fail("this server keeps no copy of secrets (GATEHOUSE_SECRET_RETRIEVAL=false)", 2)
    out = sys.stdout.buffer
    for line in export_clients(
        ctx.store, ctx.master_key, customer_id=customer, with_secrets=with_secrets
    ):
        out.write(line)
    out.flush()


def register(group: typer.Typer) -> None:
    """Add ``import`` and ``export`` to the ``clients`` group."""
    group.command("import")(clients_import)
    group.command("export")(clients_export)
