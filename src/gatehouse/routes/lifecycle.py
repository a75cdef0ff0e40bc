"""Web adapters of the token lifecycle:

- ``POST {issuer}/oauth2/revoke``, ``POST /oauth2/revoke`` — RFC 7009 revocation;
- ``POST {issuer}/oauth2/introspect``, ``POST /oauth2/introspect`` — RFC 7662 introspection;
- ``GET {issuer}/oauth2/revocations?cursor=`` — the revocation feed for outside verifiers
  (HTTP Basic with an app client of that customer; see :mod:`gatehouse.revocations`);
- ``GET /v2/audit?limit=&page_key=&action=`` — the customer's audit log, newest first, for an
  ``owner`` or ``administrator`` token (or console session), in the v2 API's shapes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from gatehouse.api import permissions
from gatehouse.api.context import ApiContext, SessionResolver
from gatehouse.api.errors import REALM, error_response
from gatehouse.api.listing import bad_request, decode_page_key, encode_page_key
from gatehouse.appclients import iso_time
from gatehouse.errors import ApiError, InvalidRequest, MethodNotAllowed, OAuthError
from gatehouse.oauth.client_auth import authenticate, credentials_from
from gatehouse.oauth.directory import ClientEntry
from gatehouse.oauth.endpoint import Response as CoreResponse
from gatehouse.oauth.endpoint import TokenRequest, render_error
from gatehouse.oauth.inspect import TokenChecker
from gatehouse.oauth.introspection import IntrospectionEndpoint
from gatehouse.oauth.params import MAX_BODY
from gatehouse.oauth.revocation import RevocationEndpoint
from gatehouse.revocations import read_feed, revoke_jti
from gatehouse.routes.oauth import read_body, token_request_from
from gatehouse.runtime import Runtime
from gatehouse.secretless.endpoint import may_carry_assertion
from gatehouse.secretless.lifecycle import with_assertions
from gatehouse.store.models import AuditEvent
from gatehouse.verify.dpop import DPOP_ALGS
from gatehouse.verify.errors import VerifyError

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_CURSOR = re.compile(r"[0-9]{1,18}")
AUDIT_MAX_LIMIT = 1000


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


def lifecycle_routes(
    runtime: Runtime, *, session: SessionResolver | None = None
) -> list[BaseRoute]:
    settings, store, replica = runtime.settings, runtime.store, runtime.replica
    auth = runtime.token_endpoint.auth  # one client-authentication step for every endpoint
    checker = TokenChecker(
        issuer_for=settings.issuer, audience=None, keys=replica, standing=replica
    )

    def revoke(client: ClientEntry, claims: dict[str, Any], address: str) -> None:
        jti: str = claims["jti"]
        added = revoke_jti(
            store,
            customer_id=client.customer_id,
            client_id=client.client_id,
            jti=jti,
            expires_at=float(claims["exp"]),
        )
        if added:
            runtime.audit.record_event(
                AuditEvent(
                    customer_id=client.customer_id,
                    at=time.time(),
                    actor=client.client_id,
                    action="token.revoke",
                    target=client.id,
                    source=address,
                    detail={"jti": jti},
                )
            )
        # This process rejects the token from the next request on; the others within a second.
        runtime.changed()

    revocation = RevocationEndpoint(auth=auth, checker=checker, revoke=revoke)
    introspection = IntrospectionEndpoint(auth=auth, checker=checker)
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

    ctx = ApiContext.build(runtime, session=session)

    async def audit(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return error_response(405, "Method not allowed", headers={"allow": "GET"})
        try:
            principal = await ctx.principal(request)
            permissions.require_client_manager(principal)
            limit, before, action = _audit_query(request)
        except VerifyError as exc:
            message = exc.description or "Authentication is required"
            headers = {"www-authenticate": exc.www_authenticate(REALM, dpop_algs=DPOP_ALGS)}
            return error_response(exc.status_code, message, headers=headers)
        except ApiError as exc:
            return error_response(exc.status_code, *exc.messages, field_errors=exc.field_errors)
        events = await run_in_threadpool(
            store.list_audit,
            customer_id=principal.customer_id,
            limit=limit + 1,
            before_id=before,
            action=action,
        )
        page, more = events[:limit], len(events) > limit
        next_key = encode_page_key([page[-1].id]) if more and page else None
        return _json(
            {
                "audit_events": [_audit_view(e) for e in page],
                "metadata": {"page_key": next_key},
            }
        )

    return [
        Route("/oauth2/revoke", revoke_app),
        Route("/customers/{customer_id}/oauth2/revoke", revoke_app),
        Route("/oauth2/introspect", introspect_app),
        Route("/customers/{customer_id}/oauth2/introspect", introspect_app),
        Route("/customers/{customer_id}/oauth2/revocations", feed, methods=ALL_METHODS),
        Route("/v2/audit", audit, methods=ALL_METHODS),
    ]


def _audit_query(request: Request) -> tuple[int, int | None, str | None]:
    params = request.query_params
    raw_limit = params.get("limit", "100")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= AUDIT_MAX_LIMIT:
        raise bad_request("limit", f"must be between 1 and {AUDIT_MAX_LIMIT}")
    position = decode_page_key(params.get("page_key"))
    before: int | None = None
    if position is not None:
        if len(position) != 1 or type(position[0]) is not int:
            raise bad_request("page_key", "is not a page key returned by this API")
        before = position[0]
    action = params.get("action") or None
    if action is not None and len(action) > 60:
        raise bad_request("action", "must be at most 60 characters")
    return int(raw_limit), before, action


def _audit_view(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": iso_time(event.at),
        "actor": event.actor,
        "action": event.action,
        "target": event.target,
        "source": event.source,
        "detail": event.detail,
    }
