"""The token endpoint (RFC 6749 §3.2, §4.4) as a pipeline of named steps, free of any web
framework: parse the body, authenticate the client, check the grant, narrow the scope, issue,
render. Both the ASGI route and the fast lane of ``gatehouse.fastlane`` call :meth:`handle`."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from gatehouse.errors import (
    InvalidClient,
    MethodNotAllowed,
    OAuthError,
    RequestTooLarge,
    ServerError,
)
from gatehouse.oauth.bruteforce import BruteForceGuard
from gatehouse.oauth.client_auth import authenticate, credentials_from
from gatehouse.oauth.directory import ClientEntry, Directory
from gatehouse.oauth.grant import check_grant_type, choose_audience, narrow_scope
from gatehouse.oauth.params import MAX_BODY, parse_body
from gatehouse.oauth.quota import TokenQuota
from gatehouse.oauth.tokens import IssuedToken, issue_access_token

log = logging.getLogger("gatehouse.token")

# RFC 6749 §5.1: the response carries Cache-Control: no-store and Pragma: no-cache.
TOKEN_HEADERS = (
    ("content-type", "application/json"),
    ("cache-control", "no-store"),
    ("pragma", "no-cache"),
)

IssuedHook = Callable[[ClientEntry, IssuedToken, str], None]


@dataclass(slots=True)
class TokenRequest:
    """A token request as the web layer received it."""

    method: str
    body: bytes
    content_type: str | None
    authorization: str | None
    client_addr: str
    path_customer: str | None = None
    json_allowed: bool = False
    duplicate_authorization: bool = False


@dataclass(slots=True)
class Response:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass
class TokenEndpoint:
    directory: Directory
    hasher: Callable[[str], bytes] = field(repr=False)
    issuer_for: Callable[[str], str]
    default_audience: str
    guard: BruteForceGuard
    on_issued: IssuedHook
    quota: TokenQuota = field(default_factory=TokenQuota)
    errors: Counter[str] = field(default_factory=Counter)

    def handle(self, request: TokenRequest) -> Response:
        try:
            return self._issue(request)
        except OAuthError as error:
            self.errors[error.error] += 1
            log.info(
                "token request refused: %s (%s) from %s",
                error.error,
                error.log_detail or error.description,
                request.client_addr,
            )
            return render_error(error)
        except Exception:  # anything unexpected renders as a generic server_error
            log.exception("token request failed")
            return render_error(ServerError("the server could not issue a token"))

    def _issue(self, request: TokenRequest) -> Response:
        if request.method != "POST":
            raise MethodNotAllowed("the token endpoint takes POST")
        if len(request.body) > MAX_BODY:
            raise RequestTooLarge(f"the request body is larger than {MAX_BODY} bytes")
        if request.duplicate_authorization:
            raise OAuthError("send one Authorization header")
        params = parse_body(request.body, request.content_type, json_allowed=request.json_allowed)
        client_id, secret, _method = credentials_from(request.authorization, params)
        self.guard.check(request.client_addr, client_id)
        check_grant_type(params)
        try:
            client = authenticate(
                self.directory,
                client_id=client_id,
                secret=secret,
                hasher=self.hasher,
                customer_id=request.path_customer,
            )
        except InvalidClient:
            self.guard.record_failure(request.client_addr, client_id)
            raise
        signer = self.directory.signer_for(client.customer_id)
        if signer is None:
            raise ServerError(
                "no signing key", log_detail=f"customer {client.customer_id} has no key"
            )
        audience = choose_audience(params, self.default_audience)
        scope = narrow_scope(params.get("scope"), client.api_roles)
        self.quota.consume(client)
        token = issue_access_token(
            signer,
            issuer=self.issuer_for(client.customer_id),
            client_id=client.client_id,
            customer_id=client.customer_id,
            audience=audience,
            scope=scope,
            lifetime=client.token_lifetime_seconds,
        )
        self.on_issued(client, token, request.client_addr)
        body = orjson.dumps(
            {
                "access_token": token.access_token,
                "token_type": "Bearer",
                "expires_in": token.expires_in,
                "scope": token.scope,
            }
        )
        return Response(200, TOKEN_HEADERS, body)


def render_error(error: OAuthError) -> Response:
    """RFC 6749 §5.2: a JSON error body with the error's own status and headers."""
    headers = (("content-type", "application/json"), *error.headers())
    return Response(error.status_code, headers, error.body())
