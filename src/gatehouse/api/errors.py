"""The v2 API's error bodies: ``{"messages": [...], "request_id": "..."}``, plus ``field_errors``
on a 400 and ``id`` on a 404, and RFC 6750 §3 challenges on bearer failures.

One handler on the error root (``gatehouse.errors.GatehouseError``) renders every server error
in this shape; ``gatehouse.verify``'s errors (the bearer check) and the router's get one each;
anything unexpected becomes a generic 500 body whose detail goes to the log only, tagged with
the same request id.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from gatehouse.errors import NO_STORE, ApiError, GatehouseError
from gatehouse.verify.dpop import DPOP_ALGS
from gatehouse.verify.errors import VerifyError

log = logging.getLogger(__name__)

REALM = "gatehouse"


def new_request_id() -> str:
    return secrets.token_hex(8)


def error_response(
    status_code: int,
    *messages: str,
    field_errors: dict[str, str] | None = None,
    resource_id: str | None = None,
    headers: dict[str, str] | None = None,
    request_id: str | None = None,
) -> Response:
    error = ApiError(
        status_code,
        *messages,
        field_errors=field_errors,
        resource_id=resource_id,
        headers=headers,
    )
    return render(error, request_id=request_id)


def render(error: GatehouseError, *, request_id: str | None = None) -> Response:
    """Any error of the root in the v2 shape: an :class:`ApiError` as it is; another (a 503
    of the store, say) with its status, its description and its own headers."""
    if not isinstance(error, ApiError):
        own = {k: v for k, v in error.headers() if (k, v) not in NO_STORE}
        error = ApiError(error.status_code, error.description, headers=own)
    return Response(
        orjson.dumps(error.document(request_id or new_request_id())),
        status_code=error.status_code,
        media_type="application/json",
        headers=dict(error.headers()),
    )


def not_found(kind: str, resource_id: str) -> ApiError:
    return ApiError(404, f"{kind} {resource_id} not found", resource_id=resource_id)


def _field_name(loc: tuple[Any, ...]) -> str:
    # ("body", "corpus_roles", 0, "role") -> "corpus_roles.0.role"; a whole-body error -> "body".
    parts = [str(p) for p in loc[1:]] if len(loc) > 1 else [str(p) for p in loc]
    return ".".join(parts) or "body"


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    field_errors: dict[str, str] = {}
    for error in exc.errors():
        name = _field_name(tuple(error.get("loc", ())))
        if error.get("type") == "json_invalid":
            name, message = "body", "is not valid JSON"
        else:
            message = str(error.get("msg", "is invalid"))
        field_errors.setdefault(name, message)
    return error_response(400, "The request is invalid", field_errors=field_errors)


async def _gatehouse_error(_request: Request, exc: Exception) -> Response:
    """The one handler of the root: every ApiError, InvalidInput and OAuthError."""
    assert isinstance(exc, GatehouseError)
    return render(exc)


async def _verify_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, VerifyError)
    # RFC 6750 §3: every failure of a bearer-protected request carries the challenge; with no
    # credentials at all it has no error code (RFC 6750 §3.1). RFC 9728 §5.1: it names the
    # resource's metadata.
    metadata = getattr(request.app.state, "resource_metadata", None)
    headers = {
        "www-authenticate": exc.www_authenticate(
            REALM, resource_metadata=metadata, dpop_algs=DPOP_ALGS
        )
    }
    message = exc.description or "Authentication is required"
    return error_response(exc.status_code, message, headers=headers)


def _allowed(request: Request, exc: StarletteHTTPException) -> str:
    """The methods served at this path: the API's (``app.state.methods``: regex -> methods),
    else what the router said."""
    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(
        request.app.state, "methods", None
    )
    if table is None:
        return (exc.headers or {}).get("allow", "")
    path = request.url.path
    found = {m for regex, methods in table if regex.match(path) for m in methods}
    return ", ".join(sorted(found))


async def http_error(request: Request, exc: Exception) -> Response:
    """The router's 404, 405 and the like, in the v2 shape: one 404 body for the API and
    every path outside the OAuth endpoints and the console."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return error_response(404, "Not found", resource_id=request.url.path)
    if exc.status_code == 405:
        # RFC 9110 §15.5.6: a 405 lists every method the target resource supports.
        allow = _allowed(request, exc)
        return error_response(405, "Method not allowed", headers={"allow": allow})
    return error_response(exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))


async def unexpected_error(_request: Request | None, exc: Exception) -> Response:
    """A generic 500; the detail goes to the log only, under the body's request id."""
    request_id = new_request_id()
    log.error("unhandled API error (request_id %s)", request_id, exc_info=exc)
    return error_response(500, "Internal server error", request_id=request_id)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(GatehouseError, _gatehouse_error)
    app.add_exception_handler(VerifyError, _verify_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
