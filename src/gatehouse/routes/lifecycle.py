"""Web adapters of the token lifecycle:

- ``POST {issuer}/oauth2/revoke``, ``POST /oauth2/revoke`` — RFC 7009 revocation;
- ``POST {issuer}/oauth2/introspect``, ``POST /oauth2/introspect`` — RFC 7662 introspection;
- ``GET {issuer}/oauth2/revocations?cursor=`` — the revocation feed for outside verifiers
  (HTTP Basic with an app client of that customer; see :mod:`gatehouse.revocations`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from gatehouse.errors import InvalidRequest, MethodNotAllowed, OAuthError
from gatehouse.oauth.client_auth import authenticate, credentials_from
from gatehouse.oauth.directory import ClientEntry
from gatehouse.oauth.endpoint import Response as CoreResponse
from gatehouse.oauth.endpoint import TokenRequest, render_error
from gatehouse.oauth.inspect import TokenChecker
from gatehouse.oauth.introspection import IntrospectionEndpoint
from gatehouse.oauth.params import MAX_BODY
from gatehouse.oauth.revocation import RevocationEndpoint
from gatehouse.revocations import read_feed
from gatehouse.routes.oauth import read_body, token_request_from
from gatehouse.runtime import Runtime
from gatehouse.secretless.endpoint import may_carry_assertion
from gatehouse.secretless.lifecycle import with_assertions
from gatehouse.services.revocation import revoke_token

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_CURSOR = re.compile(r"[0-9]{1,18}")


class GetOnly(MethodNotAllowed):
    def headers(self) -> list[tuple[str, str]]:
        return [("cache-control", "no-store"), ("pragma", "no-cache"), ("allow", "GET")]


class CoreASGI:
    """A framework-free form-POST endpoint as a raw ASGI app; ``threaded`` runs it off the loop
    (the revocation endpoint writes to the database)."""

    def __init__(
        self,
        handle: Callable[[TokenRequest], CoreResponse],
        *,
        threaded: bool,
        with_assertion: Callable[[TokenRequest], Awaitable[CoreResponse]] | None = None,
    ) -> None:
        self.handle = handle
        self.threaded = threaded
        self.with_assertion = with_assertion  # docs/secretless.md

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive, MAX_BODY)
        client = scope.get("client")
        request = token_request_from(
            scope["method"],
            scope["headers"],
            body,
            client[0] if client else "",
            scope.get("path_params", {}).get("customer_id"),
            False,
        )
        if self.with_assertion is not None and may_carry_assertion(body):
            response = await self.with_assertion(request)
        elif self.threaded:
            response = await run_in_threadpool(self.handle, request)
        else:
            response = self.handle(request)
        headers = [(k.encode(), v.encode()) for k, v in response.headers]
        headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})


def _core(response: CoreResponse) -> Response:
    return Response(response.body, status_code=response.status, headers=dict(response.headers))


def _json(document: Any) -> Response:
    return Response(
        orjson.dumps(document),
        media_type="application/json",
        headers={"cache-control": "no-store", "pragma": "no-cache"},
    )


def lifecycle_routes(runtime: Runtime) -> list[BaseRoute]:
    settings, store, replica = runtime.settings, runtime.store, runtime.replica
    auth = runtime.token_endpoint.auth  # one client-authentication step for every endpoint
    checker = TokenChecker(
        issuer_for=settings.issuer, audience=None, keys=replica, standing=replica
    )

    def revoke(client: ClientEntry, claims: dict[str, Any], address: str) -> None:
        revoke_token(
            store,
            customer_id=client.customer_id,
            client_id=client.client_id,
            app_id=client.id,
            jti=claims["jti"],
            expires_at=float(claims["exp"]),
            source=address,
            notifier=runtime,
        )

    refusals = runtime.token_endpoint.refusals  # one sampled log for the process
    revocation = RevocationEndpoint(auth=auth, checker=checker, revoke=revoke, refusals=refusals)
    introspection = IntrospectionEndpoint(auth=auth, checker=checker, refusals=refusals)
    assertions = runtime.assertions
    revoke_app = CoreASGI(
        revocation.handle,
        threaded=True,
        with_assertion=with_assertions(revocation, assertions, threaded=True)
        if assertions
        else None,
    )
    introspect_app = CoreASGI(
        introspection.handle,
        threaded=False,
        with_assertion=with_assertions(introspection, assertions, threaded=False)
        if assertions
        else None,
    )

    def feed_caller(request: Request) -> tuple[str, int | None]:
        if request.method != "GET":
            raise GetOnly("the revocation feed takes GET")
        authorization = request.headers.getlist("authorization")
        if len(authorization) > 1:
            raise InvalidRequest("send one Authorization header")
        customer_id: str = request.path_params["customer_id"]
        client_id, secret, _ = credentials_from(authorization[0] if authorization else None, {})
        address = request.client.host if request.client else ""
        auth.guard.check(address, client_id)
        try:
            authenticate(
                replica,
                client_id=client_id,
                secret=secret,
                hasher=auth.hasher,
                customer_id=customer_id,
            )
        except OAuthError:
            auth.guard.record_failure(address, client_id)
            raise
        raw = request.query_params.get("cursor")
        if raw is not None and _CURSOR.fullmatch(raw) is None:
            raise InvalidRequest("cursor must be a value returned by this feed")
        return customer_id, int(raw) if raw is not None else None

    async def feed(request: Request) -> Response:
        try:
            customer_id, cursor = feed_caller(request)
        except OAuthError as error:
            return _core(render_error(error))
        page = await run_in_threadpool(read_feed, store, customer_id=customer_id, cursor=cursor)
        return _json(page.document())

    return [
        Route("/oauth2/revoke", revoke_app),
        Route("/customers/{customer_id}/oauth2/revoke", revoke_app),
        Route("/oauth2/introspect", introspect_app),
        Route("/customers/{customer_id}/oauth2/introspect", introspect_app),
        Route("/customers/{customer_id}/oauth2/revocations", feed, methods=ALL_METHODS),
    ]
