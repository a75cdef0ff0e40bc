"""App clients, Vectara REST v2 shape: list, create, get, update, delete, rotate, revoke.

The handlers parse, check the caller's roles, call :mod:`gatehouse.services.app_clients` and
render. The service validates, writes with the audit row and notifies the runtime, which
applies the change to this process's replica at once, so a deleted or disabled client's tokens
fail on the very next request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from gatehouse import appclients, authmethods
from gatehouse.api import permissions
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
from gatehouse.api.listing import (
    DEFAULT_LIMIT,
    MAX_FILTER,
    MAX_LIMIT,
    any_match,
    bad_request,
    compile_filter,
    decode_page_key,
    encode_page_key,
    take_page,
)
from gatehouse.api.schemas import (
    AppClient,
    AppClientCreate,
    AppClientUpdate,
    AppClientWithSecret,
    ClientAuthFields,
    CorpusRoleBody,
    ListAppClientsResponse,
    NotFoundBody,
    RotateSecretRequest,
)
from gatehouse.services import app_clients
from gatehouse.services.app_clients import ClientChanges
from gatehouse.store.models import AppClientRecord, CorpusRole
from gatehouse.store.registrations import RegistrationStore
from gatehouse.store.store import NotFound

_SCAN_BATCH = 200
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": NotFoundBody, "description": "No such app client"}
}


T = TypeVar("T")


def _position(page_key: str | None) -> tuple[float, str] | None:
    position = decode_page_key(page_key)
    if position is None:
        return None
    if len(position) != 2 or not isinstance(position[0], float | int):
        raise bad_request("page_key", "is not a page key")
    if not isinstance(position[1], str):
        raise bad_request("page_key", "is not a page key")
    return float(position[0]), position[1]


router = APIRouter(prefix="/v2/app_clients", tags=["App clients"], responses=AUTH_RESPONSES)


def load_client(ctx: ApiContext, principal: Principal, app_id: str) -> AppClientRecord:
    """The caller's client ``app_id`` for an owner or administrator (404 if not theirs)."""
    permissions.require_client_manager(principal)
    try:
        return ctx.runtime.store.get_client(app_id=app_id, customer_id=principal.customer_id)
    except NotFound:
        raise not_found("app client", app_id) from None


def _change_client(
    ctx: ApiContext, principal: Principal, app_id: str, action: Callable[[], T]
) -> T:
    """Load the client, check the caller may change it, and act (the service notifies)."""
    current = load_client(ctx, principal, app_id)
    permissions.require_may_change_client(principal, current.api_roles)
    try:
        return action()
    except NotFound:  # deleted meanwhile
        raise not_found("app client", app_id) from None


def _corpus_roles(
    ctx: ApiContext, principal: Principal, roles: Iterable[CorpusRoleBody]
) -> list[CorpusRole]:
    wanted = [CorpusRole(corpus_key=r.corpus_key, role=r.role) for r in roles]
    keys = {r.corpus_key for r in wanted}
    missing = keys - ctx.corpora.existing_keys(customer_id=principal.customer_id, keys=keys)
    if missing:
        raise bad_request("corpus_roles", f"no corpus with key {sorted(missing)[0]}")
    return wanted


def _auth_fields(body: ClientAuthFields) -> dict[str, Any]:
    return body.model_dump(include=set(ClientAuthFields.model_fields), exclude_none=True)


@router.get("", response_model=ListAppClientsResponse, operation_id="listAppClients")
def list_app_clients(
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    page_key: str | None = Query(None, max_length=500),
    filter: str | None = Query(None, max_length=MAX_FILTER),
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    """The customer's app clients, oldest first; ``filter`` is a regex on the name."""
    store = ctx.runtime.store
    permissions.require_client_manager(principal)
    matcher = compile_filter(filter)
    after = _position(page_key)
    batch_size = limit + 1 if matcher is None else max(limit + 1, _SCAN_BATCH)

    def batches() -> Iterator[list[AppClientRecord]]:
        cursor = after
        while True:
            batch = store.list_clients(
                customer_id=principal.customer_id, limit=batch_size, after=cursor
            )
            yield batch
            if len(batch) < batch_size:
                return
            cursor = (batch[-1].created_at, batch[-1].id)

    page, more = take_page(batches(), lambda c: any_match(matcher, (c.name,)), limit)
    next_key = encode_page_key([page[-1].created_at, page[-1].id]) if more and page else None
    registered = RegistrationStore(store.engine).registered_app_ids(
        customer_id=principal.customer_id
    )
    return json_response(
        {
            "app_clients": [appclients.client_view(c, registered=c.id in registered) for c in page],
            "metadata": {"page_key": next_key},
        }
    )


@router.post(
    "", status_code=201, response_model=AppClientWithSecret, operation_id="createAppClient"
)
def create_app_client(
    body: AppClientCreate,
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    """A new client; the response is the one place its secret is shown unasked."""
    runtime = ctx.runtime
    permissions.require_client_manager(principal)
    api_roles = appclients.validate_api_roles(body.api_roles or ())
    permissions.require_may_grant(principal, api_roles)
    record, secret = app_clients.create_client(
        runtime.store,
        runtime.master_key,
        customer_id=principal.customer_id,
        name=body.name,
        description=body.description or "",
        api_roles=api_roles,
        corpus_roles=_corpus_roles(ctx, principal, body.corpus_roles or ()),
        lifetime=body.token_lifetime_seconds or runtime.settings.token_lifetime,
        keep_secret=runtime.settings.secret_retrieval,
        actor=actor_of(principal),
        notify=runtime,
        auth_fields=_auth_fields(body),
        allow_insecure_urls=runtime.settings.allow_insecure_urls,
    )
    return json_response(appclients.client_view(record, secret=secret), status_code=201)


@router.get(
    "/{app_client_id}",
    response_model=AppClientWithSecret,
    operation_id="getAppClient",
    responses=_NOT_FOUND,
)
def get_app_client(
    app_client_id: str,
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    """One client; ``client_secret`` when the caller may copy it (else null)."""
    record = load_client(ctx, principal, app_client_id)
    secret = None
    if permissions.may_copy_secret(principal, record.api_roles):
        secret = appclients.reveal_secret(ctx.runtime.master_key, record)
    registrations = RegistrationStore(ctx.runtime.store.engine)
    registered = record.id in registrations.registered_app_ids(customer_id=record.customer_id)
    view: dict[str, Any] = appclients.client_view(record, registered=registered)
    if authmethods.has_secret(record.token_endpoint_auth_method):
        view["client_secret"] = secret
    return json_response(view)


@router.patch(
    "/{app_client_id}",
    response_model=AppClient,
    operation_id="updateAppClient",
    responses=_NOT_FOUND,
)
def update_app_client(
    app_client_id: str,
    body: AppClientUpdate,
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    current = load_client(ctx, principal, app_client_id)
    permissions.require_may_change_client(principal, current.api_roles)
    api_roles = None
    if body.api_roles is not None:
        api_roles = appclients.validate_api_roles(body.api_roles)
        permissions.require_may_grant(principal, api_roles)
    corpus_roles = None
    if body.corpus_roles is not None:
        corpus_roles = _corpus_roles(ctx, principal, body.corpus_roles)
    changes = ClientChanges(
        name=body.name,
        description=body.description,
        api_roles=api_roles,
        corpus_roles=corpus_roles,
        enabled=body.enabled,
        token_lifetime_seconds=body.token_lifetime_seconds,
        auth=_auth_fields(body),
    )
    if changes.empty():
        return json_response(appclients.client_view(current))
    try:
        record = app_clients.update_client(
            ctx.runtime.store,
            customer_id=principal.customer_id,
            app_id=app_client_id,
            changes=changes,
            actor=actor_of(principal),
            notify=ctx.runtime,
            allow_insecure_urls=ctx.runtime.settings.allow_insecure_urls,
        )
    except NotFound:
        raise not_found("app client", app_client_id) from None
    return json_response(appclients.client_view(record))


@router.delete(
    "/{app_client_id}",
    status_code=204,
    response_class=Response,
    operation_id="deleteAppClient",
    responses=_NOT_FOUND,
)
def delete_app_client(
    app_client_id: str,
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    _change_client(
        ctx,
        principal,
        app_client_id,
        lambda: app_clients.delete_client(
            ctx.runtime.store,
            customer_id=principal.customer_id,
            app_id=app_client_id,
            actor=actor_of(principal),
            notify=ctx.runtime,
        ),
    )
    return Response(status_code=204)


@router.post(
    "/{app_client_id}/rotate_secret",
    response_model=AppClientWithSecret,
    operation_id="rotateAppClientSecret",
    responses=_NOT_FOUND,
)
def rotate_secret(
    app_client_id: str,
    body: RotateSecretRequest | None = None,
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    """A new secret at once; the old one keeps working for ``grace_period_seconds``."""
    record, secret = _change_client(
        ctx,
        principal,
        app_client_id,
        lambda: app_clients.rotate_secret(
            ctx.runtime.store,
            ctx.runtime.master_key,
            customer_id=principal.customer_id,
            app_id=app_client_id,
            grace_period_seconds=body.grace_period_seconds if body else 0,
            keep_secret=ctx.runtime.settings.secret_retrieval,
            actor=actor_of(principal),
            notify=ctx.runtime,
        ),
    )
    return json_response(appclients.client_view(record, secret=secret))


@router.post(
    "/{app_client_id}/revoke_tokens",
    status_code=204,
    response_class=Response,
    operation_id="revokeAppClientTokens",
    responses=_NOT_FOUND,
)
def revoke_tokens(
    app_client_id: str,
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    """Every token issued to the client so far is rejected from now on; later ones work."""
    _change_client(
        ctx,
        principal,
        app_client_id,
        lambda: app_clients.revoke_tokens(
            ctx.runtime.store,
            customer_id=principal.customer_id,
            app_id=app_client_id,
            actor=actor_of(principal),
            notify=ctx.runtime,
        ),
    )
    return Response(status_code=204)
