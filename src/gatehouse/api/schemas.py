"""Request and response schemas of the v2 API, one class per direction.

Input schemas (``*Create``, ``*Update``) ignore unknown members, as the Vectara API does (the
official SDK sends fields such as ``save_history`` that Gatehouse does not model); ``null``
in an update means "leave unchanged". Output schemas are what the OpenAPI document promises:
only :class:`AppClientWithSecret` carries ``client_secret``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CORPUS_KEY_PATTERN = r"^[a-zA-Z0-9_=-]{1,50}$"
MAX_FILTER = 200


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Output(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors --------------------------------------------------------------------------------------


class ErrorBody(_Output):
    """Every error of the API: human-readable messages and the request's id."""

    messages: list[str]
    request_id: str


class BadRequestBody(ErrorBody):
    field_errors: dict[str, str] = Field(default_factory=dict)


class NotFoundBody(ErrorBody):
    id: str


# -- corpora -------------------------------------------------------------------------------------


class CorpusCreate(_Input):
    key: str = Field(pattern=CORPUS_KEY_PATTERN, description="Unique per customer.")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class CorpusUpdate(_Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    enabled: bool | None = None


class Corpus(_Output):
    id: str = Field(description="crp_ followed by digits")
    key: str
    name: str
    description: str
    enabled: bool
    created_at: str = Field(description="RFC 3339 UTC time")


class ListMetadata(_Output):
    page_key: str | None = Field(
        default=None, description="Pass as page_key for the next page; null on the last page."
    )


class ListCorporaResponse(_Output):
    corpora: list[Corpus]
    metadata: ListMetadata


# -- app clients ---------------------------------------------------------------------------------


class CorpusRoleBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    corpus_key: str = Field(pattern=CORPUS_KEY_PATTERN)
    role: str


AuthMethod = Literal[
    "client_secret_basic", "private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth"
]


class ClientAuthFields(_Input):
    """How the client authenticates (RFC 7591 §2, RFC 8705 §2.1.2, RFC 9449 §5.2): checked by
    ``gatehouse.authmethods``; in an update, ``null`` leaves a field unchanged."""

    token_endpoint_auth_method: AuthMethod | None = None
    jwks: dict[str, Any] | None = Field(default=None, description="RFC 7517 JWK Set, public")
    jwks_uri: str | None = Field(default=None, max_length=1000)
    tls_client_auth_subject_dn: str | None = Field(default=None, max_length=1000)
    tls_client_auth_san_dns: str | None = Field(default=None, max_length=1000)
    tls_client_auth_san_uri: str | None = Field(default=None, max_length=1000)
    tls_client_auth_san_ip: str | None = Field(default=None, max_length=1000)
    tls_client_auth_san_email: str | None = Field(default=None, max_length=1000)
    dpop_bound_access_tokens: bool | None = None
    tls_client_certificate_bound_access_tokens: bool | None = None


class AppClientCreate(ClientAuthFields):
    type: Literal["client_credentials"] = "client_credentials"
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    api_roles: list[str] | None = None
    corpus_roles: list[CorpusRoleBody] | None = None
    token_lifetime_seconds: int | None = Field(default=None, ge=300, le=86400)


class AppClientUpdate(ClientAuthFields):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    api_roles: list[str] | None = None
    corpus_roles: list[CorpusRoleBody] | None = None
    enabled: bool | None = None
    token_lifetime_seconds: int | None = Field(default=None, ge=300, le=86400)


class RotateSecretRequest(_Input):
    grace_period_seconds: int = Field(default=0, ge=0, le=7 * 86400)


class CorpusRoleOut(_Output):
    corpus_key: str
    role: str


class AppClient(_Output):
    id: str
    type: Literal["client_credentials"]
    name: str
    description: str
    client_id: str
    api_roles: list[str]
    corpus_roles: list[CorpusRoleOut]
    enabled: bool
    token_lifetime_seconds: int
    created_at: str
    last_used_at: str | None
    token_endpoint_auth_method: AuthMethod
    jwks: dict[str, Any] | None
    jwks_uri: str | None
    tls_client_auth_subject_dn: str | None
    tls_client_auth_san_dns: str | None
    tls_client_auth_san_uri: str | None
    tls_client_auth_san_ip: str | None
    tls_client_auth_san_email: str | None
    dpop_bound_access_tokens: bool
    tls_client_certificate_bound_access_tokens: bool


class AppClientWithSecret(AppClient):
    client_secret: str | None = Field(
        default=None,
        description="Present on create and rotate; on get only for callers who may copy it "
        "and only when secret retrieval is on (null in show-once mode). Never present for a "
        "client whose token_endpoint_auth_method is not client_secret_basic.",
    )


class ListAppClientsResponse(_Output):
    app_clients: list[AppClient]
    metadata: ListMetadata


# -- v1 ------------------------------------------------------------------------------------------


class V1ListCorporaRequest(_Input):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    num_results: int = Field(default=10, ge=0, le=100, alias="numResults")
    filter: str | None = Field(default=None, max_length=MAX_FILTER)
    page_key: str | None = Field(default=None, alias="pageKey")


class V1Corpus(_Output):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: int
    key: str
    name: str
    description: str
    enabled: bool
    dt_provision: str = Field(alias="dtProvision", description="creation time, epoch ms")


class V1Status(_Output):
    code: Literal["OK"]


class V1ListCorporaResponse(_Output):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    corpus: list[V1Corpus]
    page_key: str = Field(alias="pageKey", description="empty on the last page")
    status: V1Status
