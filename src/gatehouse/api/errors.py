"""The v2 API's error bodies: ``{"messages": [...], "request_id": "..."}``, plus ``field_errors``
on a 400 and ``id`` on a 404, and RFC 6750 §3 challenges on bearer failures.

One handler per exception family, registered on the API app; anything unexpected becomes a
generic 500 body whose detail goes to the log only, tagged with the same request id.
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

from gatehouse.errors import ApiError, InvalidInput
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
    body: dict[str, Any] = {
        "messages": list(messages),
        "request_id": request_id or new_request_id(),
    }
    if status_code == 400:
        body["field_errors"] = field_errors or {}
    if status_code == 404:
        body["id"] = resource_id or ""
    return Response(
        orjson.dumps(body),
        status_code=status_code,
        media_type="application/json",
        headers={"cache-control": "no-store", **(headers or {})},
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


async def _invalid_input(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidInput)
    return error_response(400, "The request is invalid", field_errors=exc.field_errors)


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(
        exc.status_code,
        *exc.messages,
        field_errors=exc.field_errors,
        resource_id=exc.resource_id,
        headers=exc.headers,
    )


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


def _allowed(request: Request) -> str:
    """The methods the API serves at this path (``app.state.methods``: regex -> methods)."""
    table: list[tuple[re.Pattern[str], set[str]]] = request.app.state.methods
    path = request.url.path
    found = {m for regex, methods in table if regex.match(path) for m in methods}
    return ", ".join(sorted(found))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return error_response(404, "Not found", resource_id=request.url.path)
    if exc.status_code == 405:
        # RFC 9110 §15.5.6: a 405 lists every method the target resource supports.
        return error_response(405, "Method not allowed", headers={"allow": _allowed(request)})
    return error_response(exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))


async def unexpected_error(_request: Request | None, exc: Exception) -> Response:
    """A generic 500; the detail goes to the log only, under the body's request id."""
    request_id = new_request_id()
    log.error("unhandled API error (request_id %s)", request_id, exc_info=exc)
    return error_response(500, "Internal server error", request_id=request_id)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(InvalidInput, _invalid_input)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(VerifyError, _verify_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, unexpected_error)
