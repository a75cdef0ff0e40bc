"""What the OpenAPI document of ``/v2`` says beyond the FastAPI routes: how to get a token (an
OAuth 2.0 ``clientCredentials`` security scheme, OpenAPI 3.1 §4.8.27) and ``GET /v2/audit``,
which is served beside the API app (``gatehouse.routes.lifecycle``) rather than by it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gatehouse.api.schemas import ListMetadata
from gatehouse.apis import ROLE_DESCRIPTIONS
from gatehouse.oauth.metadata import API_ROLES


class AuditEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    at: str = Field(description="RFC 3339 UTC time")
    actor: str = Field(description="An app client's client_id, a console user, or cli")
    action: str = Field(description="e.g. token.issue, app_client.create, api.create")
    target: str | None
    source: str | None = Field(description="The caller's address, or cli")
    detail: dict[str, Any]


class ListAuditEventsResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audit_events: list[AuditEvent]
    metadata: ListMetadata


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def add_extras(document: dict[str, Any], token_url: str) -> None:
    """Add the OAuth 2.0 security scheme and ``GET /v2/audit`` to ``document`` in place."""
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {})["oauth2"] = {
        "type": "oauth2",
        "description": "The client credentials grant (RFC 6749 §4.4); scopes are the roles.",
        "flows": {
            "clientCredentials": {
                "tokenUrl": token_url,
                "scopes": {role: ROLE_DESCRIPTIONS[role] for role in API_ROLES},
            }
        },
    }
    # Either scheme: a bearer token, got through the clientCredentials flow.
    document["security"] = [{"bearerAuth": []}, {"oauth2": []}]
    schemas = components.setdefault("schemas", {})
    for model in (AuditEvent, ListAuditEventsResponse):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schema.pop("$defs", None)
        schemas[model.__name__] = schema
    schemas.setdefault("ListMetadata", ListMetadata.model_json_schema())
    errors = {
        "400": _json(_ref("BadRequestBody"), "Invalid limit, page_key or action"),
        "401": _json(_ref("ErrorBody"), "Missing, invalid, expired or revoked token"),
        "403": _json(_ref("ErrorBody"), "The token lacks the owner or administrator role"),
    }
    document.setdefault("paths", {})["/v2/audit"] = {
        "get": {
            "tags": ["Audit"],
            "summary": "List audit events",
            "description": "The customer's audit log, newest first (owner or administrator).",
            "operationId": "listAuditEvents",
            "parameters": [
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                },
                {
                    "name": "page_key",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                },
                {
                    "name": "action",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 60},
                },
            ],
            "responses": {
                "200": _json(_ref("ListAuditEventsResponse"), "One page of audit events"),
                **errors,
            },
        }
    }
