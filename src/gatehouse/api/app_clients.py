"""App clients, Vectara REST v2 shape: list, create, get, update, delete, rotate, revoke.

Every write goes through :mod:`gatehouse.appclients` (validation and audit) and is then applied
to this process's replica at once (``runtime.changed()``), so a deleted or disabled client's
tokens fail on the very next request.
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
from gatehouse.store.models import AppClientRecord, CorpusRole
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


def app_clients_router() -> APIRouter:
    """The routes; each request's context is the serving app's (``api_context``)."""
    router = APIRouter(
        prefix="/v2/app_clients",
        tags=["App clients"],
        responses=AUTH_RESPONSES,
    )
    auth = Depends(request_principal)
    context = Depends(api_context)

    def load(ctx: ApiContext, principal: Principal, app_id: str) -> AppClientRecord:
        permissions.require_client_manager(principal)
        try:
            return ctx.runtime.store.get_client(app_id=app_id, customer_id=principal.customer_id)
        except NotFound:
            raise not_found("app client", app_id) from None

    def change_client(
        ctx: ApiContext, principal: Principal, app_id: str, action: Callable[[], T]
    ) -> T:
        """Load the client, check the caller may change it, act, and apply the change here."""
        current = load(ctx, principal, app_id)
        permissions.require_may_change_client(principal, current.api_roles)
        try:
            result = action()
        except NotFound:  # deleted meanwhile
            raise not_found("app client", app_id) from None
        ctx.runtime.changed()
        return result

    def corpus_roles(
        ctx: ApiContext, principal: Principal, roles: Iterable[CorpusRoleBody]
    ) -> list[CorpusRole]:
        wanted = [CorpusRole(corpus_key=r.corpus_key, role=r.role) for r in roles]
        keys = {r.corpus_key for r in wanted}
        missing = keys - ctx.corpora.existing_keys(customer_id=principal.customer_id, keys=keys)
        if missing:
            raise bad_request("corpus_roles", f"no corpus with key {sorted(missing)[0]}")
        return wanted

    @router.get("", response_model=ListAppClientsResponse, operation_id="listAppClients")
    def list_app_clients(
        limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
        page_key: str | None = Query(None, max_length=500),
        filter: str | None = Query(None, max_length=MAX_FILTER),
        principal: Principal = auth,
        ctx: ApiContext = context,
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
        return json_response(
            {
                "app_clients": [appclients.client_view(c) for c in page],
                "metadata": {"page_key": next_key},
            }
        )

    @router.post(
        "", status_code=201, response_model=AppClientWithSecret, operation_id="createAppClient"
    )
    def create_app_client(
        body: AppClientCreate, principal: Principal = auth, ctx: ApiContext = context
    ) -> Response:
        """A new client; the response is the one place its secret is shown unasked."""
        runtime = ctx.runtime
        permissions.require_client_manager(principal)
        api_roles = appclients.validate_api_roles(body.api_roles or ())
        permissions.require_may_grant(principal, api_roles)
        record, secret = appclients.create_client(
            runtime.store,
            runtime.master_key,
            customer_id=principal.customer_id,
            name=body.name,
            description=body.description or "",
            api_roles=api_roles,
            corpus_roles=corpus_roles(ctx, principal, body.corpus_roles or ()),
            lifetime=body.token_lifetime_seconds or runtime.settings.token_lifetime,
            keep_secret=runtime.settings.secret_retrieval,
            actor=actor_of(principal),
            auth_fields=body.model_dump(
                include=set(ClientAuthFields.model_fields), exclude_none=True
            ),
            allow_insecure_urls=runtime.settings.allow_insecure_urls,
        )
        runtime.changed()
        return json_response(appclients.client_view(record, secret=secret), status_code=201)

    @router.get(
        "/{app_client_id}",
        response_model=AppClientWithSecret,
        operation_id="getAppClient",
        responses=_NOT_FOUND,
    )
    def get_app_client(
        app_client_id: str, principal: Principal = auth, ctx: ApiContext = context
    ) -> Response:
        """One client; ``client_secret`` when the caller may copy it (else null)."""
        record = load(ctx, principal, app_client_id)
        secret = None
        if permissions.may_copy_secret(principal, record.api_roles):
            secret = appclients.reveal_secret(ctx.runtime.master_key, record)
        view: dict[str, Any] = appclients.client_view(record)
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
        principal: Principal = auth,
        ctx: ApiContext = context,
    ) -> Response:
        current = load(ctx, principal, app_client_id)
        permissions.require_may_change_client(principal, current.api_roles)
        changes: dict[str, Any] = body.model_dump(exclude_none=True, exclude={"corpus_roles"})
        if "api_roles" in changes:
            changes["api_roles"] = appclients.validate_api_roles(changes["api_roles"])
            permissions.require_may_grant(principal, changes["api_roles"])
        if body.corpus_roles is not None:
            changes["corpus_roles"] = corpus_roles(ctx, principal, body.corpus_roles)
        if not changes:
            return json_response(appclients.client_view(current))
        try:
            record = appclients.update_client(
                ctx.runtime.store,
                customer_id=principal.customer_id,
                app_id=app_client_id,
                changes=changes,
                actor=actor_of(principal),
                allow_insecure_urls=ctx.runtime.settings.allow_insecure_urls,
            )
        except NotFound:
            raise not_found("app client", app_client_id) from None
        ctx.runtime.changed()
        return json_response(appclients.client_view(record))

    @router.delete(
        "/{app_client_id}",
        status_code=204,
        response_class=Response,
        operation_id="deleteAppClient",
        responses=_NOT_FOUND,
    )
    def delete_app_client(
        app_client_id: str, principal: Principal = auth, ctx: ApiContext = context
    ) -> Response:
        change_client(
            ctx,
            principal,
            app_client_id,
            lambda: appclients.delete_client(
                ctx.runtime.store,
                customer_id=principal.customer_id,
                app_id=app_client_id,
                actor=actor_of(principal),
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
        principal: Principal = auth,
        ctx: ApiContext = context,
    ) -> Response:
        """A new secret at once; the old one keeps working for ``grace_period_seconds``."""
        record, secret = change_client(
            ctx,
            principal,
            app_client_id,
            lambda: appclients.rotate_secret(
                ctx.runtime.store,
                ctx.runtime.master_key,
                customer_id=principal.customer_id,
                app_id=app_client_id,
                grace_period_seconds=body.grace_period_seconds if body else 0,
                keep_secret=ctx.runtime.settings.secret_retrieval,
                actor=actor_of(principal),
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
        app_client_id: str, principal: Principal = auth, ctx: ApiContext = context
    ) -> Response:
        """Every token issued to the client so far is rejected from now on; later ones work."""
        change_client(
            ctx,
            principal,
            app_client_id,
            lambda: appclients.revoke_tokens(
                ctx.runtime.store,
                customer_id=principal.customer_id,
                app_id=app_client_id,
                actor=actor_of(principal),
            ),
        )
        return Response(status_code=204)

    return router
