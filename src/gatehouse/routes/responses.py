"""The Starlette responses of the authorization server's routes: an error of the one root
(``gatehouse.errors``) in its own shape, and the no-store JSON answer."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from gatehouse.errors import NO_STORE, GatehouseError


def error_response(error: GatehouseError) -> Response:
    """Any error of the root, with its own status, headers and body."""
    return Response(
        error.body(),
        status_code=error.status_code,
        media_type="application/json",
        headers=dict(error.headers()),
    )


def no_store_json(document: Any | None, *, status: int = 200) -> Response:
    """A JSON answer about tokens or clients, never cached (RFC 6749 §5.1, RFC 7591 §3.2.1);
    ``None``: an empty body."""
    return Response(
        orjson.dumps(document) if document is not None else b"",
        status_code=status,
        media_type="application/json" if document is not None else None,
        headers=dict(NO_STORE),
    )
