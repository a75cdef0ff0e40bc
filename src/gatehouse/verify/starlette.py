"""Starlette / FastAPI adapters: turn :class:`TokenVerifier` results into RFC 6750 responses.

RFC 6750 §3 (``WWW-Authenticate: Bearer`` challenges), §3.1 (401 without an error code when
credentials are absent; 401 ``invalid_token``; 403 ``insufficient_scope``; 400
``invalid_request``). Two ways in, one rendering:

* :class:`BearerTokenMiddleware` - pure ASGI; puts the claims in ``scope["state"]["claims"]``
  (``request.state.claims``) or answers the error itself.
With ``resource=ProtectedResource(...)`` (RFC 9728) the challenges carry
``resource_metadata`` and the middleware serves the metadata document; FastAPI apps add
:func:`protected_resource_route` to their routes.

* :class:`BearerAuth` - a FastAPI dependency returning the claims; ``.require_roles(...)`` adds a
  role check. Failures raise :class:`BearerAuthError`; register :func:`bearer_error_handler`
  for the configured body (without it, Starlette/FastAPI still send the right status and
  ``WWW-Authenticate``, with their own ``{"detail": ...}`` body).

The body is produced by a ``render(conn, error) -> Response`` callable so the server can plug in
its own shape; the status code and challenge headers are always set here.
"""

# No ``from __future__ import annotations`` here: FastAPI resolves the parameter annotations of
# a dependency's ``__call__`` at run time, and a class instance has no ``__globals__`` for that.

from collections.abc import Callable, Iterable
from typing import Any

from cryptography import x509
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatehouse.verify.bearer import extract_token, form_access_tokens
from gatehouse.verify.dpop import DPoPContext
from gatehouse.verify.errors import InvalidDPoPProof, MissingToken, VerifyError
from gatehouse.verify.resource import ProtectedResource
from gatehouse.verify.verifier import TokenVerifier, check_roles

__all__ = [
    "BearerAuth",
    "BearerAuthError",
    "BearerTokenMiddleware",
    "ErrorRenderer",
    "bearer_error_handler",
    "error_response",
    "protected_resource_route",
    "render_json_error",
    "require_roles",
]

ErrorRenderer = Callable[[HTTPConnection, VerifyError], Response]


def render_json_error(conn: HTTPConnection, error: VerifyError) -> Response:
    """Default body: ``{"error": ..., "error_description": ...}`` (``"unauthorized"`` if none)."""
    body = {"error": error.error or "unauthorized", "error_description": error.description}
    return JSONResponse(body, status_code=error.status_code)


def error_response(
    conn: HTTPConnection,
    error: VerifyError,
    *,
    realm: str,
    render: ErrorRenderer,
    resource: ProtectedResource | None = None,
    dpop_algs: str | None = None,
) -> Response:
    """Render ``error`` and force its status and RFC 6750 §3 headers onto the response."""
    response = render(conn, error)
    response.status_code = error.status_code
    metadata = resource.metadata_url if resource is not None else None
    # RFC 6750 §3: every bearer-token failure carries a WWW-Authenticate challenge.
    if error.status_code in (400, 401, 403):
        response.headers["WWW-Authenticate"] = error.www_authenticate(
            realm, resource_metadata=metadata, dpop_algs=dpop_algs
        )
    response.headers["Cache-Control"] = "no-store"
    return response


class BearerAuthError(HTTPException):
    """Raised by the dependencies; carries the ready :attr:`response` and the :attr:`error`."""

    def __init__(self, error: VerifyError, response: Response) -> None:
        headers = {k: v for k, v in response.headers.items() if k.lower() == "www-authenticate"}
        super().__init__(error.status_code, error.description or None, headers or None)
        self.error = error
        self.response = response


async def bearer_error_handler(request: Request, exc: Exception) -> Response:
    """Exception handler for :class:`BearerAuthError`: send the prepared response."""
    if not isinstance(exc, BearerAuthError):  # pragma: no cover - registered for that class
        raise exc
    return exc.response


def _request_token(
    conn: HTTPConnection, body: bytes | None, *, allow_query: bool, allow_form: bool
) -> tuple[str, str]:
    return extract_token(
        conn.headers.getlist("authorization"),
        query_tokens=conn.query_params.getlist("access_token"),
        form_tokens=form_access_tokens(conn.headers.get("content-type"), body or b""),
        allow_query=allow_query,
        allow_form=allow_form,
    )


def dpop_context(conn: HTTPConnection, public_url: str | None = None) -> DPoPContext:
    """The request's proof, method and URL (``public_url`` + path when given: the URL the
    clients use, e.g. behind a proxy; else the URL the request was addressed to)."""
    proofs = conn.headers.getlist("dpop")
    # RFC 9449 §4.3 (1): not more than one DPoP header.
    if len(proofs) > 1:
        raise InvalidDPoPProof("send one DPoP header")
    url = conn.url
    base = public_url.rstrip("/") if public_url else f"{url.scheme}://{url.netloc}"
    method = conn.scope.get("method", "GET")
    return DPoPContext(proofs[0] if proofs else None, method, base + url.path)


def peer_certificate(conn: HTTPConnection) -> bytes | None:
    """The DER client certificate of the connection, from the ASGI TLS extension, if any."""
    tls = conn.scope.get("extensions", {}).get("tls")
    chain = tls.get("client_cert_chain") if isinstance(tls, dict) else None
    if not chain:
        return None
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_pem_x509_certificate(chain[0].encode()).public_bytes(Encoding.DER)


async def _verified_claims(
    conn: HTTPConnection,
    verifier: TokenVerifier,
    body: bytes | None,
    *,
    allow_query: bool,
    allow_form: bool,
    public_url: str | None,
) -> dict[str, Any]:
    """Token, proof and certificate of the request, verified; a DPoP request's errors carry
    the DPoP challenge (RFC 9449 §7.1)."""
    scheme, token = _request_token(conn, body, allow_query=allow_query, allow_form=allow_form)
    try:
        dpop = dpop_context(conn, public_url) if scheme == "DPoP" else None
        return await verifier.averify(token, dpop=dpop, certificate=peer_certificate(conn))
    except VerifyError as error:
        if scheme == "DPoP":
            error.scheme = "DPoP"
        raise


def _needs_body(conn: HTTPConnection, allow_form: bool) -> bool:
    # The body is read only when it may hold a token: a form post that either may carry the
    # token (allow_form) or already has a header token we must not see twice.
    content_type = conn.headers.get("content-type", "")
    is_form = content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded"
    return is_form and (allow_form or "authorization" in conn.headers)


class _BearerCheck:
    """What the dependency and the middleware share: the checks of one request and the RFC
    6750 answer when they fail."""

    verifier: TokenVerifier
    realm: str
    render: ErrorRenderer
    allow_query_token: bool
    allow_form_token: bool
    resource: ProtectedResource | None
    public_url: str | None
    dpop_algs: str | None

    async def _claims(
        self, conn: HTTPConnection, body: bytes | None, roles: tuple[str, ...]
    ) -> dict[str, Any]:
        claims = await _verified_claims(
            conn,
            self.verifier,
            body,
            allow_query=self.allow_query_token,
            allow_form=self.allow_form_token,
            public_url=self.public_url,
        )
        check_roles(claims, roles)
        return claims

    def _refusal(self, conn: HTTPConnection, exc: VerifyError) -> Response:
        return error_response(
            conn,
            exc,
            realm=self.realm,
            render=self.render,
            resource=self.resource,
            dpop_algs=self.dpop_algs,
        )


class BearerAuth(_BearerCheck):
    """FastAPI dependency: ``claims: dict = Depends(BearerAuth(verifier))``."""

    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        roles: Iterable[str] = (),
        realm: str = "gatehouse",
        render: ErrorRenderer = render_json_error,
        allow_query_token: bool = False,
        allow_form_token: bool = False,
        resource: ProtectedResource | None = None,
        public_url: str | None = None,
    ) -> None:
        self.verifier = verifier
        self.roles = tuple(roles)
        self.realm = realm
        self.render = render
        self.allow_query_token = allow_query_token
        self.allow_form_token = allow_form_token
        self.resource = resource
        self.public_url = public_url
        self.dpop_algs = " ".join(verifier.dpop_algorithms) or None

    def require_roles(self, *roles: str) -> "BearerAuth":
        """A copy of this dependency that also requires every one of ``roles``."""
        return BearerAuth(
            self.verifier,
            roles=(*self.roles, *roles),
            realm=self.realm,
            render=self.render,
            allow_query_token=self.allow_query_token,
            allow_form_token=self.allow_form_token,
            resource=self.resource,
            public_url=self.public_url,
        )

    async def __call__(self, request: Request) -> dict[str, Any]:
        try:
            body = await request.body() if _needs_body(request, self.allow_form_token) else None
            claims = await self._claims(request, body, self.roles)
        except VerifyError as exc:
            raise BearerAuthError(exc, self._refusal(request, exc)) from None
        request.state.claims = claims
        return claims


def require_roles(
    *roles: str,
    realm: str = "gatehouse",
    render: ErrorRenderer = render_json_error,
    resource: ProtectedResource | None = None,
) -> Callable[[Request], dict[str, Any]]:
    """Dependency for apps behind :class:`BearerTokenMiddleware`: the claims, with ``roles``."""

    def dependency(request: Request) -> dict[str, Any]:
        claims: dict[str, Any] | None = getattr(request.state, "claims", None)
        try:
            if claims is None:
                raise MissingToken("a bearer token is required")
            check_roles(claims, roles)
        except VerifyError as exc:
            response = error_response(request, exc, realm=realm, render=render, resource=resource)
            raise BearerAuthError(exc, response) from None
        return claims

    return dependency


class BearerTokenMiddleware(_BearerCheck):
    """ASGI middleware requiring a valid bearer token on every path but ``exclude_paths``.

    An ``exclude_paths`` entry ending in ``*`` is a prefix (``"/public/*"``); others are exact.
    With ``resource``, its RFC 9728 metadata is served (without a token) at its well-known path.
    """

    def __init__(
        self,
        app: ASGIApp,
        verifier: TokenVerifier,
        *,
        exclude_paths: Iterable[str] = (),
        required_roles: Iterable[str] = (),
        realm: str = "gatehouse",
        render: ErrorRenderer = render_json_error,
        allow_query_token: bool = False,
        allow_form_token: bool = False,
        resource: ProtectedResource | None = None,
        public_url: str | None = None,
    ) -> None:
        self.app = app
        self.resource = resource
        self._metadata = _metadata_endpoint(resource) if resource is not None else None
        self.verifier = verifier
        self.public_url = public_url
        self.dpop_algs = " ".join(verifier.dpop_algorithms) or None
        paths = tuple(exclude_paths)
        self.exact = frozenset(p for p in paths if not p.endswith("*"))
        self.prefixes = tuple(p[:-1] for p in paths if p.endswith("*"))
        self.required_roles = tuple(required_roles)
        self.realm = realm
        self.render = render
        self.allow_query_token = allow_query_token
        self.allow_form_token = allow_form_token

    def is_excluded(self, path: str) -> bool:
        return path in self.exact or path.startswith(self.prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.is_excluded(scope["path"]):
            await self.app(scope, receive, send)
            return
        if (
            self._metadata is not None
            and self.resource is not None
            and scope["path"] == self.resource.metadata_path
        ):
            await self._metadata(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        body: bytes | None = None
        if scope["type"] == "http" and _needs_body(conn, self.allow_form_token):
            body, receive = await _buffer_body(receive)
        try:
            claims = await self._claims(conn, body, self.required_roles)
        except VerifyError as exc:
            if scope["type"] == "websocket":
                # RFC 6455 §7.4.1: 1008 policy violation; closing before accept means HTTP 403.
                await send({"type": "websocket.close", "code": 1008, "reason": exc.description})
                return
            await self._refusal(conn, exc)(scope, receive, send)
            return
        scope.setdefault("state", {})["claims"] = claims
        await self.app(scope, receive, send)


async def _buffer_body(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole request body and return it with a ``receive`` that replays it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


def _metadata_endpoint(resource: ProtectedResource) -> Callable[[Scope, Receive, Send], Any]:
    document = resource.metadata()

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        # RFC 9728 §3.2: the metadata is a JSON object served with 200.
        response = JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})
        await response(scope, receive, send)

    return endpoint


def protected_resource_route(resource: ProtectedResource) -> Route:
    """A route serving ``resource``'s RFC 9728 metadata at its well-known path (no token)."""
    document = resource.metadata()

    async def endpoint(_request: Request) -> Response:
        return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})

    return Route(resource.metadata_path, endpoint, methods=["GET"])
