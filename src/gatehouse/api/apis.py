"""Registered APIs (resource servers): list, create, get, update, delete under ``/v2/apis``.

For ``owner`` and ``administrator`` tokens only (others: 403). Every write goes through
:mod:`gatehouse.services.apis` (validation, the write with its audit row, and the notice that
applies it to this process's replica at once).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from gatehouse import apis
from gatehouse.api import permissions
from gatehouse.api.api_schemas import Api, ApiCreate, ApiUpdate, ListApisResponse
from gatehouse.api.bearer import Principal
from gatehouse.api.context import (
    ApiContext,
    actor_of,
    api_context,
    json_response,
    request_principal,
)
from gatehouse.api.corpora import AUTH_RESPONSES
from gatehouse.api.errors import not_found
from gatehouse.api.schemas import ErrorBody, NotFoundBody
from gatehouse.errors import ApiError
from gatehouse.services import apis as api_service
from gatehouse.services.apis import ApiChanges
from gatehouse.store.apis import ApiRecord, ApiScope
from gatehouse.store.store import Conflict, NotFound

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": NotFoundBody, "description": "No such API"}
}


def apis_of(ctx: ApiContext) -> apis.Apis:
    return apis.Apis.of(ctx.runtime.store, ctx.runtime.settings.default_audience)


def load_api(ctx: ApiContext, principal: Principal, api_id: str) -> ApiRecord:
    try:
        return apis_of(ctx).apis.get_api(customer_id=principal.customer_id, api_id=api_id)
    except NotFound:
        raise not_found("API", api_id) from None


router = APIRouter(prefix="/v2/apis", tags=["APIs"], responses=AUTH_RESPONSES)


@router.get("", response_model=ListApisResponse, operation_id="listApis")
def list_apis(
    principal: Principal = Depends(request_principal), ctx: ApiContext = Depends(api_context)
) -> Response:
    """The customer's APIs, the built-in API first."""
    permissions.require_client_manager(principal)
    store = apis_of(ctx)
    records = store.apis.list_apis(customer_id=principal.customer_id)
    return json_response(
        {"apis": [apis.api_view(store, r) for r in records], "metadata": {"page_key": None}}
    )


@router.post(
    "",
    status_code=201,
    response_model=Api,
    operation_id="createApi",
    responses={409: {"model": ErrorBody, "description": "The identifier is taken"}},
)
def create_api(
    body: ApiCreate,
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    """Register an API: its identifier becomes the ``aud`` of tokens requested for it."""
    permissions.require_client_manager(principal)
    store = apis_of(ctx)
    try:
        record = api_service.create_api(
            store,
            customer_id=principal.customer_id,
            identifier=body.identifier,
            name=body.name,
            description=body.description or "",
            scopes=[ApiScope(s.value, s.description) for s in body.scopes or ()],
            token_lifetime_seconds=body.token_lifetime_seconds,
            actor=actor_of(principal),
            notify=ctx.runtime,
        )
    except Conflict:
        raise ApiError(409, f"An API with identifier {body.identifier} already exists") from None
    return json_response(apis.api_view(store, record), status_code=201)


@router.get("/{api_id}", response_model=Api, operation_id="getApi", responses=_NOT_FOUND)
def get_api(
    api_id: str,
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    permissions.require_client_manager(principal)
    return json_response(apis.api_view(apis_of(ctx), load_api(ctx, principal, api_id)))


@router.patch("/{api_id}", response_model=Api, operation_id="updateApi", responses=_NOT_FOUND)
def update_api(
    api_id: str,
    body: ApiUpdate,
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    """Rename, describe, replace the scopes or the lifetime cap (built-in: name and
    description only)."""
    permissions.require_client_manager(principal)
    load_api(ctx, principal, api_id)
    changes = ApiChanges(
        name=body.name,
        description=body.description,
        scopes=(
            [ApiScope(s.value, s.description) for s in body.scopes]
            if body.scopes is not None
            else None
        ),
        token_lifetime_seconds=body.token_lifetime_seconds,
    )
    store = apis_of(ctx)
    try:
        record = api_service.update_api(
            store,
            customer_id=principal.customer_id,
            api_id=api_id,
            changes=changes,
            actor=actor_of(principal),
            notify=ctx.runtime,
        )
    except NotFound:
        raise not_found("API", api_id) from None
    return json_response(apis.api_view(store, record))


@router.delete(
    "/{api_id}",
    status_code=204,
    response_class=Response,
    operation_id="deleteApi",
    responses=_NOT_FOUND,
)
def delete_api(
    api_id: str,
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    """Delete an API and every grant on it (the built-in API cannot be deleted: 400)."""
    permissions.require_client_manager(principal)
    load_api(ctx, principal, api_id)
    try:
        api_service.delete_api(
            apis_of(ctx),
            customer_id=principal.customer_id,
            api_id=api_id,
            actor=actor_of(principal),
            notify=ctx.runtime,
        )
    except NotFound:
        raise not_found("API", api_id) from None
    return Response(status_code=204)
