"""The built-in API as an RFC 9728 protected resource, and the shared authorization server
metadata it points to.

``{PUBLIC_URL}/.well-known/oauth-protected-resource`` names the built-in API (its identifier
is ``GATEHOUSE_AUDIENCE``), the authorization server (``PUBLIC_URL``), the roles as scopes and
the header as the only bearer method. ``{PUBLIC_URL}/.well-known/oauth-authorization-server``
describes the shared endpoints (``/oauth2/token`` ...), which find the customer from the
authenticated client; it has no ``jwks_uri`` (each customer's issuer has its own) and lists no
customer.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatehouse.oauth.metadata import API_ROLES, server_metadata
from gatehouse.settings import Settings
from gatehouse.verify.resource import WELL_KNOWN

BUILTIN_RESOURCE_NAME = "Gatehouse API"


def builtin_metadata_url(settings: Settings) -> str:
    return f"{settings.base_url}{WELL_KNOWN}"


def builtin_resource_metadata(settings: Settings) -> dict[str, Any]:
    """RFC 9728 §2 metadata of the built-in API."""
    return {
        "resource": settings.default_audience,
        "authorization_servers": [settings.base_url],
        "scopes_supported": list(API_ROLES),
        "bearer_methods_supported": ["header"],
        "resource_name": BUILTIN_RESOURCE_NAME,
        "resource_documentation": f"{settings.base_url}/v2/openapi.json",
    }


def shared_server_metadata(settings: Settings) -> dict[str, Any]:
    """RFC 8414 metadata of the shared endpoints under ``PUBLIC_URL``."""
    document = server_metadata(settings.base_url)
    # Each customer's issuer publishes its own keys; the shared endpoints have none.
    document.pop("jwks_uri", None)
    document.pop("registration_endpoint", None)  # registration is per customer only
    return document


def _json(document: dict[str, Any]) -> Response:
    return Response(
        orjson.dumps(document),
        media_type="application/json",
        headers={"cache-control": "public, max-age=300"},
    )


def resource_routes(settings: Settings) -> list[BaseRoute]:
    resource = builtin_resource_metadata(settings)
    server = shared_server_metadata(settings)

    async def protected_resource(_request: Request) -> Response:
        return _json(resource)

    async def authorization_server(_request: Request) -> Response:
        return _json(server)

    return [
        Route(WELL_KNOWN, protected_resource, methods=["GET"]),
        Route("/.well-known/oauth-authorization-server", authorization_server, methods=["GET"]),
    ]
