"""Request and response schemas of ``/v2/apis`` and ``/v2/app_clients/{id}/grants``, one class
per direction (input schemas ignore unknown members, as the rest of the v2 API does)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gatehouse.api.schemas import ListMetadata


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Output(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApiScopeBody(_Input):
    value: str = Field(min_length=1, max_length=100, description="An RFC 6749 §3.3 scope token.")
    description: str = Field(default="", max_length=500)


class ApiCreate(_Input):
    identifier: str = Field(
        min_length=1,
        max_length=255,
        description="An absolute URI, unique per customer; it becomes the tokens' aud.",
    )
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    scopes: list[ApiScopeBody] | None = None
    token_lifetime_seconds: int | None = Field(
        default=None, ge=300, le=86400, description="A cap: tokens live min(client's, this)."
    )


class ApiUpdate(_Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    scopes: list[ApiScopeBody] | None = Field(
        default=None, description="Replaces the scopes; removed ones leave every grant too."
    )
    token_lifetime_seconds: int | None = Field(default=None, ge=300, le=86400)


class ApiScopeOut(_Output):
    value: str
    description: str


class Api(_Output):
    id: str
    identifier: str
    name: str
    description: str
    scopes: list[ApiScopeOut]
    token_lifetime_seconds: int | None
    builtin: bool = Field(description="The built-in API: renamable, never deleted.")
    created_at: str
    updated_at: str


class ListApisResponse(_Output):
    apis: list[Api]
    metadata: ListMetadata


class GrantPut(_Input):
    scopes: list[str] = Field(max_length=100)


class Grant(_Output):
    api_id: str
    api_identifier: str
    scopes: list[str]


class ListGrantsResponse(_Output):
    grants: list[Grant]
