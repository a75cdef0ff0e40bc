"""Federated credentials of an app client (docs/secretless.md): list, add, get, change, delete,
and ``test``, which explains per credential why an outside token matches or not (and issues
nothing). Every write goes through :mod:`gatehouse.services.federated_credentials`
(validation, the write with its audit row, the notice)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from gatehouse import federation
from gatehouse.api import permissions
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
from gatehouse.services import federated_credentials as service
from gatehouse.services.federated_credentials import CredentialChanges
from gatehouse.store import federated
from gatehouse.store.models import AppClientRecord
from gatehouse.store.store import NotFound

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": NotFoundBody, "description": "No such app client or credential"}
}


class FederatedCredentialCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=200)
    issuer: str = Field(max_length=1000, description="https URL of the outside issuer")
    audience: str | None = Field(
        default=None, max_length=1000, description="default: the customer's issuer URL"
    )
    subject: str = Field(
        min_length=1, max_length=1000, description="exact, or * (no ':' '/') and ** patterns"
    )
    claims: dict[str, str] = Field(default_factory=dict)
    single_use: bool = False
    allow_any_subject: bool = False


class FederatedCredentialUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    issuer: str | None = Field(default=None, max_length=1000)
    audience: str | None = Field(default=None, max_length=1000)
    subject: str | None = Field(default=None, min_length=1, max_length=1000)
    claims: dict[str, str] | None = None
    single_use: bool | None = None
    allow_any_subject: bool | None = None


class FederatedCredential(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    issuer: str
    audience: str | None
    subject: str
    claims: dict[str, str]
    single_use: bool
    allow_any_subject: bool


class ListFederatedCredentialsResponse(BaseModel):
    federated_credentials: list[FederatedCredential]


class TestTokenRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    token: str = Field(min_length=1, max_length=8192)


class TestResult(BaseModel):
    credential_id: str
    name: str
    matched: bool
    failed_check: str | None
    claim: str | None
    reason: str


class TestTokenResponse(BaseModel):
    results: list[TestResult]


router = APIRouter(
    prefix="/v2/app_clients/{app_client_id}/federated_credentials",
    tags=["Federated credentials"],
    responses={**AUTH_RESPONSES, **_NOT_FOUND},
)


def _load_changeable(ctx: ApiContext, principal: Principal, app_id: str) -> AppClientRecord:
    record = load_client(ctx, principal, app_id)
    permissions.require_may_change_client(principal, record.api_roles)
    return record


@router.get(
    "", response_model=ListFederatedCredentialsResponse, operation_id="listFederatedCredentials"
)
def list_credentials(
    app_client_id: str,
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    record = load_client(ctx, principal, app_client_id)
    records = federated.list_credentials(ctx.runtime.store, app_id=record.id)
    return json_response({"federated_credentials": [federation.view(r) for r in records]})


@router.post(
    "",
    status_code=201,
    response_model=FederatedCredential,
    operation_id="createFederatedCredential",
)
def create_credential(
    app_client_id: str,
    body: FederatedCredentialCreate,
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    record = _load_changeable(ctx, principal, app_client_id)
    try:
        credential = service.add_credential(
            ctx.runtime.store,
            customer_id=principal.customer_id,
            app_id=record.id,
            fields=body.model_dump(),
            allow_insecure=ctx.runtime.settings.allow_insecure_urls,
            actor=actor_of(principal),
            notify=ctx.runtime,
        )
    except NotFound:
        raise not_found("app client", app_client_id) from None
    return json_response(federation.view(credential), status_code=201)


@router.post(
    "/test",
    response_model=TestTokenResponse,
    operation_id="testFederatedCredentials",
    name="test_token",  # the summary in the OpenAPI document ("Test Token")
)
async def try_token(
    app_client_id: str,
    body: TestTokenRequest,
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    """Which credential the outside token matches, and why the others do not."""
    runtime = ctx.runtime
    record = await run_in_threadpool(load_client, ctx, principal, app_client_id)
    records = await run_in_threadpool(federated.list_credentials, runtime.store, app_id=record.id)
    assert runtime.assertions is not None
    audience = runtime.settings.issuer(record.customer_id)
    results = [
        (
            await federation.evaluate(
                runtime.assertions.fetcher, credential, body.token, default_audience=audience
            )
        ).as_result()
        for credential in records
    ]
    return json_response({"results": results})


@router.get(
    "/{credential_id}",
    response_model=FederatedCredential,
    operation_id="getFederatedCredential",
)
def get_credential(
    app_client_id: str,
    credential_id: str,
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    record = load_client(ctx, principal, app_client_id)
    try:
        credential = federated.get_credential(
            ctx.runtime.store,
            customer_id=principal.customer_id,
            app_id=record.id,
            credential_id=credential_id,
        )
    except NotFound:
        raise not_found("federated credential", credential_id) from None
    return json_response(federation.view(credential))


@router.patch(
    "/{credential_id}",
    response_model=FederatedCredential,
    operation_id="updateFederatedCredential",
)
def update_credential(
    app_client_id: str,
    credential_id: str,
    body: FederatedCredentialUpdate,
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    record = _load_changeable(ctx, principal, app_client_id)
    try:
        credential = service.change_credential(
            ctx.runtime.store,
            customer_id=principal.customer_id,
            app_id=record.id,
            credential_id=credential_id,
            changes=CredentialChanges(**body.model_dump()),
            allow_insecure=ctx.runtime.settings.allow_insecure_urls,
            actor=actor_of(principal),
            notify=ctx.runtime,
        )
    except NotFound:
        raise not_found("federated credential", credential_id) from None
    return json_response(federation.view(credential))


@router.delete(
    "/{credential_id}",
    status_code=204,
    response_class=Response,
    operation_id="deleteFederatedCredential",
)
def delete_credential(
    app_client_id: str,
    credential_id: str,
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    record = _load_changeable(ctx, principal, app_client_id)
    try:
        service.remove_credential(
            ctx.runtime.store,
            customer_id=principal.customer_id,
            app_id=record.id,
            credential_id=credential_id,
            actor=actor_of(principal),
            notify=ctx.runtime,
        )
    except NotFound:
        raise not_found("federated credential", credential_id) from None
    return Response(status_code=204)
