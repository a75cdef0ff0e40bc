"""``gatehouse serve``: the server processes."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from gatehouse.cli.common import open_context


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    log_level: Annotated[
        str | None, typer.Option(help="critical, error, warning, info or debug.")
    ] = None,
    ssl_certfile: Annotated[
        str | None, typer.Option(help="Serve TLS with this certificate (PEM).")
    ] = None,
    ssl_keyfile: Annotated[str | None, typer.Option(help="The certificate's key (PEM).")] = None,
    ssl_ca_certs: Annotated[
        str | None, typer.Option(help="CAs of client certificates (RFC 8705 tls_client_auth).")
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
    for name, value in (
        ("SSL_CERTFILE", ssl_certfile),
        ("SSL_KEYFILE", ssl_keyfile),
        ("SSL_CA_CERTS", ssl_ca_certs),
    ):
        if value is not None:
            os.environ[f"GATEHOUSE_{name}"] = value
    ctx = open_context()
    ctx.store.engine.dispose()
    from gatehouse.server import serve as run_server

    run_server(ctx.settings, workers=workers)
