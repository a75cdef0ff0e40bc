"""``gatehouse token``: get a token with the client credentials grant."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gatehouse.cli.common import fail


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
