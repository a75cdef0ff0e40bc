"""Web adapters of the authorization server: token endpoint, JWKS and RFC 8414 metadata."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from gatehouse.coldreads import ColdReads
from gatehouse.errors import TemporarilyUnavailable, quoted
from gatehouse.oauth.customer_ids import CUSTOMER_ID
from gatehouse.oauth.endpoint import TokenEndpoint, TokenRequest
from gatehouse.oauth.metadata import server_metadata
from gatehouse.oauth.params import MAX_BODY
from gatehouse.peers import CLIENT_CERT
from gatehouse.runtime import Runtime
from gatehouse.secretless.endpoint import AssertionEndpoint, may_carry_assertion


def token_request_from(
    method: str,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    client_addr: str,
    path_customer: str | None,
    json_allowed: bool,
    path: str = "",
) -> TokenRequest:
    """Build the core's request from raw ASGI-style headers (shared with the fast lane)."""
    content_type: str | None = None
    authorization: str | None = None
    duplicate = False
    dpop: str | None = None
    duplicate_dpop = False
    for name, value in headers:
        if name == b"content-type":
            content_type = value.decode("latin-1")
        elif name == b"authorization":
            duplicate = authorization is not None
            authorization = value.decode("latin-1")
        elif name == b"dpop":
            duplicate_dpop = dpop is not None
            dpop = value.decode("latin-1")
    return TokenRequest(
        method=method,
        body=body,
        content_type=content_type,
        authorization=authorization,
        client_addr=client_addr,
        path_customer=path_customer,
        json_allowed=json_allowed,
        duplicate_authorization=duplicate,
        path=path,
        dpop=dpop,
        duplicate_dpop=duplicate_dpop,
    )


async def read_body(receive: Receive, limit: int) -> bytes:
    """The request body, cut off just past ``limit`` bytes (enough to know it is too large)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        if size <= limit:
            chunks.append(chunk)
            size += len(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class TokenASGI:
    """The token endpoint as a raw ASGI app (no Request object: this is the hot path)."""

    def __init__(
        self,
        endpoint: TokenEndpoint,
        *,
        json_allowed: bool,
        assertions: AssertionEndpoint | None = None,
        cold: ColdReads | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.json_allowed = json_allowed
        self.assertions = assertions
        self.cold = cold  # a cold client is read off the event loop (docs/scale.md)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        customer = scope.get("path_params", {}).get("customer_id")
        body = await read_body(receive, MAX_BODY)
        client = scope.get("client")
        request = token_request_from(
            scope["method"],
            scope["headers"],
            body,
            client[0] if client else "",
            customer,
            self.json_allowed,
            scope["path"],
        )
        request.client_cert = scope.get(CLIENT_CERT)  # RFC 8705 §2: the TLS or proxy cert
        if self.assertions is not None and may_carry_assertion(body):
            response = await self.assertions.handle(request)  # docs/secretless.md
        elif self.cold is not None:
            response = await self.cold.answer(self.endpoint, request)
        else:
            response = self.endpoint.handle(request)
        headers = [(k.encode(), v.encode()) for k, v in response.headers]
        headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})


def _json(document: object, *, status: int = 200, cache: str = "public, max-age=60") -> Response:
    return Response(
        orjson.dumps(document),
        status_code=status,
        media_type="application/json",
        headers={"cache-control": cache},
    )


def _unknown_customer(customer_id: str) -> Response:
    return _json(
        {
            "error": "not_found",
            "error_description": quoted(f"no customer {customer_id}", "no such customer"),
        },
        status=404,
        cache="no-store",
    )


def _unavailable(error: TemporarilyUnavailable) -> Response:
    return Response(
        error.body(), status_code=503, headers=dict(error.headers()), media_type="application/json"
    )


def oauth_routes(runtime: Runtime) -> list[BaseRoute]:
    endpoint = runtime.token_endpoint
    assertions = runtime.assertions
    replica = runtime.replica
    settings = runtime.settings

    def known(customer_id: str) -> bool:
        return CUSTOMER_ID.fullmatch(customer_id) is not None and replica.has_customer(customer_id)

    async def jwks(request: Request) -> Response:
        customer_id = request.path_params["customer_id"]
        try:
            keys = replica.key_set(customer_id) if known(customer_id) else None
        except TemporarilyUnavailable as exc:  # a customer not in memory, the store away
            return _unavailable(exc)
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
            return _unavailable(exc)
        keys = replica.key_set(customer_id)
        # Only the algorithms of the keys this issuer publishes (RFC 8414 §2).
        algorithms = sorted({k.alg for k in keys.public_keys}) if keys is not None else []
        return _json(server_metadata(settings.issuer(customer_id), algorithms=algorithms))

    def token_asgi(*, json_allowed: bool) -> TokenASGI:
        cold = replica.cold
        return TokenASGI(endpoint, json_allowed=json_allowed, assertions=assertions, cold=cold)

    # Every method reaches TokenASGI: anything but POST gets a JSON 405 (RFC 6749 §5.2).
    return [
        Route("/oauth2/token", token_asgi(json_allowed=False)),
        Route("/oauth/token", token_asgi(json_allowed=True)),
        Route("/customers/{customer_id}/oauth2/token", token_asgi(json_allowed=False)),
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
