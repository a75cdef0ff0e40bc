"""A client's grants on APIs: ``GET /v2/app_clients/{id}/grants``, ``PUT`` and ``DELETE``
``/v2/app_clients/{id}/grants/{api_id}``. For ``owner`` and ``administrator`` tokens only.

The built-in API's grant is the client's ``api_roles``: listed first, and a ``PUT`` on it sets
the roles (with the same rule as changing them: only an owner grants or touches ``owner``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from gatehouse import apis
from gatehouse.api import permissions
from gatehouse.api.api_schemas import Grant, GrantPut, ListGrantsResponse
from gatehouse.api.apis import apis_of, load_api
from gatehouse.api.app_clients import load_client
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
from gatehouse.api.schemas import NotFoundBody
from gatehouse.services import apis as api_service
from gatehouse.store.store import NotFound

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": NotFoundBody, "description": "No such app client or API"}
}


router = APIRouter(
    prefix="/v2/app_clients/{app_client_id}/grants",
    tags=["App clients"],
    responses={**AUTH_RESPONSES, **_NOT_FOUND},
)


@router.get("", response_model=ListGrantsResponse, operation_id="listAppClientGrants")
def list_grants(
    app_client_id: str,
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    """Which scopes of which API the client may get; the built-in API (its roles) first."""
    client = load_client(ctx, principal, app_client_id)
    return json_response({"grants": apis.grant_views(apis_of(ctx), client)})


@router.put("/{api_id}", response_model=Grant, operation_id="putAppClientGrant")
def put_grant(
    app_client_id: str,
    api_id: str,
    body: GrantPut,
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    """Create or replace the client's grant on one API."""
    client = load_client(ctx, principal, app_client_id)
    api = load_api(ctx, principal, api_id)
    permissions.require_may_change_client(principal, client.api_roles)
    if api.builtin:
        permissions.require_may_grant(principal, body.scopes)
    store = apis_of(ctx)
    try:
        scopes = api_service.put_grant(
            store,
            client=client,
            api=api,
            scopes=body.scopes,
            actor=actor_of(principal),
            notify=ctx.runtime,
        )
    except NotFound:
        raise not_found("app client", app_client_id) from None
    identifier = apis.api_identifier(store, api)
    return json_response({"api_id": api.id, "api_identifier": identifier, "scopes": list(scopes)})


@router.delete(
    "/{api_id}", status_code=204, response_class=Response, operation_id="deleteAppClientGrant"
)
def delete_grant(
    app_client_id: str,
    api_id: str,
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    """Remove the client's grant on one API; its tokens for it stop working."""
    client = load_client(ctx, principal, app_client_id)
    api = load_api(ctx, principal, api_id)
    permissions.require_may_change_client(principal, client.api_roles)
    try:
        api_service.delete_grant(
            apis_of(ctx), client=client, api=api, actor=actor_of(principal), notify=ctx.runtime
        )
    except NotFound:
        raise not_found("grant", api_id) from None
    return Response(status_code=204)
