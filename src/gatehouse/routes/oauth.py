"""Web adapters of the authorization server's documents: the JWKS and RFC 8414 metadata (the
endpoints themselves are the endpoint table's routes, ``gatehouse.routes.asgi``)."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatehouse.errors import NotFound, TemporarilyUnavailable, quoted
from gatehouse.oauth.customer_ids import CUSTOMER_ID
from gatehouse.oauth.metadata import server_metadata
from gatehouse.routes.responses import error_response
from gatehouse.runtime import Runtime


def _json(document: object) -> Response:
    return Response(
        orjson.dumps(document),
        media_type="application/json",
        headers={"cache-control": "public, max-age=60"},
    )


def _unknown_customer(customer_id: str) -> Response:
    return error_response(NotFound(quoted(f"no customer {customer_id}", "no such customer")))


def oauth_routes(runtime: Runtime) -> list[BaseRoute]:
    replica = runtime.replica
    settings = runtime.settings

    def known(customer_id: str) -> bool:
        return CUSTOMER_ID.fullmatch(customer_id) is not None and replica.has_customer(customer_id)

    async def jwks(request: Request) -> Response:
        customer_id = request.path_params["customer_id"]
        try:
            keys = replica.key_set(customer_id) if known(customer_id) else None
        except TemporarilyUnavailable as exc:  # a customer not in memory, the store away
            return error_response(exc)
        if keys is None:
            return _unknown_customer(customer_id)
        # RFC 7517 §8.5: the JWK Set media type; short caching so rotations spread quickly.
        return Response(
            keys.jwks_json,
            media_type="application/jwk-set+json",
            headers={"cache-control": "public, max-age=300"},
        )

    async def metadata(request: Request) -> Response:
        customer_id = request.path_params["customer_id"]
        try:
            if not known(customer_id):
                return _unknown_customer(customer_id)
        except TemporarilyUnavailable as exc:
            return error_response(exc)
        keys = replica.key_set(customer_id)
        # Only the algorithms of the keys this issuer publishes (RFC 8414 §2).
        algorithms = sorted({k.alg for k in keys.public_keys}) if keys is not None else []
        return _json(server_metadata(settings.issuer(customer_id), algorithms=algorithms))

    return [
        Route("/customers/{customer_id}/.well-known/jwks.json", jwks, methods=["GET"]),
        Route(
            "/customers/{customer_id}/.well-known/oauth-authorization-server",
            metadata,
            methods=["GET"],
        ),
        Route(
            "/customers/{customer_id}/.well-known/openid-configuration", metadata, methods=["GET"]
        ),
        # RFC 8414 §3.1: the well-known suffix goes between the host and the issuer's path.
        Route(
            "/.well-known/oauth-authorization-server/customers/{customer_id}",
            metadata,
            methods=["GET"],
        ),
    ]
