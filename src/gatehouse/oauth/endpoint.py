"""The token endpoint (RFC 6749 §3.2, §4.4) as a pipeline of named steps, free of any web
framework: parse the body, authenticate the client, check the grant, narrow the scope, issue,
render. The ASGI route calls :meth:`TokenEndpoint.handle`; the fast lane of
``gatehouse.fastlane`` calls :meth:`TokenEndpoint.handle_batch` with the requests of one event
loop turn, which signs their tokens back to back: the signing code and its tables stay in the
CPU caches, which nearly halves the cost of an ES256 signature in a busy server."""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from gatehouse.errors import (
    JSON,
    NO_STORE,
    InvalidClient,
    InvalidDPoPProof,
    InvalidScope,
    InvalidTarget,
    OAuthError,
    ServerError,
    TemporarilyUnavailable,
    UnsupportedGrantType,
)
from gatehouse.oauth.bruteforce import BruteForceGuard
from gatehouse.oauth.client_auth import ClientAuthenticator
from gatehouse.oauth.directory import ClientEntry, ColdClient, Directory
from gatehouse.oauth.dpop import TokenDPoP
from gatehouse.oauth.exchange import ACCESS_TOKEN_TYPE, TokenExchange
from gatehouse.oauth.exchange import GRANT_TYPE as TOKEN_EXCHANGE
from gatehouse.oauth.grant import check_grant_type, narrow_scope
from gatehouse.oauth.mtls import CertificateAuthenticator, certificate_binding
from gatehouse.oauth.quota import TokenQuota
from gatehouse.oauth.refuse import render_error as render_error  # re-exported
from gatehouse.oauth.request import TokenRequest as TokenRequest  # re-exported
from gatehouse.oauth.response import Response as Response  # re-exported
from gatehouse.oauth.target import match_key, requested_target, resolve_target
from gatehouse.oauth.tokens import IssuedToken, PendingToken, prepare_access_token
from gatehouse.refusals import RefusalLog
from gatehouse.verify.dpop import DPoPProof

log = logging.getLogger("gatehouse.token")

# RFC 6749 §5.1: the response carries Cache-Control: no-store and Pragma: no-cache.
TOKEN_HEADERS = (JSON, *NO_STORE)

IssuedHook = Callable[[ClientEntry, IssuedToken, str], None]


@dataclass(slots=True)
class Parked(Response):
    """The answer to a request whose client must first be read from the store, while the
    directory defers such reads (docs/scale.md "Cold clients off the event loop"): the caller
    reads ``cold`` off the event loop and asks again. Rendered as it is, it is a 503
    ``temporarily_unavailable``, never a 500."""

    cold: ColdClient


_PARKED = TemporarilyUnavailable("the client is being read; retry shortly")
_PARKED_HEADERS = (JSON, *_PARKED.headers())


@dataclass
class TokenEndpoint:
    directory: Directory
    hasher: Callable[[str], bytes] = field(repr=False)
    issuer_for: Callable[[str], str]
    default_audience: str
    guard: BruteForceGuard
    on_issued: IssuedHook
    quota: TokenQuota = field(default_factory=TokenQuota)
    exchange: TokenExchange | None = None  # RFC 8693, when the server offers it
    errors: Counter[str] = field(default_factory=Counter)
    refusals: RefusalLog = field(default_factory=RefusalLog)  # sampled refusal log lines
    dpop: TokenDPoP | None = None  # RFC 9449; None: DPoP headers are ignored
    mtls: CertificateAuthenticator | None = None  # RFC 8705; None: no certificate methods
    auth: ClientAuthenticator = field(init=False)
    _builtin_key: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.auth = ClientAuthenticator(self.directory, self.hasher, self.guard)
        self._builtin_key = match_key(self.default_audience)

    def handle(self, request: TokenRequest) -> Response:
        return self.handle_batch([request])[0]

    def handle_batch(self, requests: list[TokenRequest]) -> list[Response]:
        """Answer several requests: check them all, sign all their tokens, then render."""
        staged: list[_Staged | Response] = [self._stage(request) for request in requests]
        # The single-use check of the batch's DPoP proofs runs while its tokens are signed; a
        # token whose proof is then refused is dropped unsent.
        settled = self._begin_settle(staged)
        signatures = [self._sign(item) if isinstance(item, _Staged) else None for item in staged]
        staged = settled()
        return [
            self._complete(item, signature) if isinstance(item, _Staged) else item
            for item, signature in zip(staged, signatures, strict=True)
        ]

    def _stage(self, request: TokenRequest) -> _Staged | Response:
        try:
            return self._check(request)
        except OAuthError as error:
            return self._refuse(error, request.client_addr)
        except ColdClient as cold:
            return Parked(503, _PARKED_HEADERS, _PARKED.body(), cold)
        except Exception:  # anything unexpected renders as a generic server_error
            log.exception("token request failed")
            return render_error(ServerError("the server could not issue a token"))

    def _refuse(self, error: OAuthError, client_addr: str) -> Response:
        self.errors[error.error] += 1
        self.refusals.refused(
            "token",
            log,
            "token request refused: %s (%s) from %s",
            error.error,
            error.log_detail or error.description,
            client_addr,
        )
        return render_error(error)

    @staticmethod
    def _sign(item: _Staged) -> bytes | None:
        try:
            return item.pending.signer.sign(item.pending.signing_input)
        except Exception:
            log.exception("signing failed")
            return None

    def _complete(
        self, item: _Staged, signature: bytes | None, on_issued: IssuedHook | None = None
    ) -> Response:
        if signature is None:
            return render_error(ServerError("the server could not issue a token"))
        token = item.pending.finish(signature)
        (on_issued or self.on_issued)(item.client, token, item.client_addr)
        document = {
            "access_token": token.access_token,
            "token_type": item.token_type,
            "expires_in": token.expires_in,
            "scope": token.scope,
        }
        if item.exchanged:
            # RFC 8693 §2.2.1: issued_token_type is REQUIRED in a token exchange response.
            document["issued_token_type"] = ACCESS_TOKEN_TYPE
        return Response(200, item.headers, orjson.dumps(document))

    def _check(self, request: TokenRequest) -> _Staged:
        """Every step before signing; raises an :class:`OAuthError` for a refused request."""
        client_id, secret, params = self.auth.read(request, what="the token endpoint")
        try:
            check_grant_type(params)
        except UnsupportedGrantType:
            if self.exchange is None or params.get("grant_type") != TOKEN_EXCHANGE:
                raise
            return self._check_exchange(request, client_id, secret, params, self.exchange)
        if secret is None and request.client_cert is not None and self.mtls is not None:
            # RFC 8705 §2: a client of a TLS method authenticates with its certificate.
            client = self.mtls.authenticate(
                client_id,
                request.client_cert,
                client_addr=request.client_addr,
                customer_id=request.path_customer,
            )
            return self._stage_for(client, params, request.client_addr, request, True)
        client = self.auth.verify(request, client_id, secret)
        return self._stage_for(client, params, request.client_addr, request)

    def issue_for(
        self,
        client: ClientEntry,
        params: dict[str, str],
        client_addr: str,
        *,
        on_issued: IssuedHook | None = None,
        request: TokenRequest | None = None,
    ) -> Response:
        """A token for a client authenticated otherwise (an assertion, docs/secretless.md):
        the same scope, audience, quota, signing and response as for a secret."""
        try:
            staged = self._stage_for(client, params, client_addr, request)
        except OAuthError as error:
            return self._refuse(error, client_addr)
        settled = self._settle([staged])[0]
        if not isinstance(settled, _Staged):
            return settled
        return self._complete(settled, self._sign(settled), on_issued)

    def _settle(self, staged: list[_Staged | Response]) -> list[_Staged | Response]:
        return self._begin_settle(staged)()

    def _begin_settle(
        self, staged: list[_Staged | Response]
    ) -> Callable[[], list[_Staged | Response]]:
        """RFC 9449 §4.3 (6) and §11.1: the batch's DPoP proof signatures, verified back to
        back, and their single use across processes, in one round trip; the callable returned
        waits for that and gives the batch with refused proofs as error responses."""
        proofs = [i.proof for i in staged if isinstance(i, _Staged) and i.proof is not None]
        if not proofs or self.dpop is None:
            return lambda: staged
        dpop = self.dpop

        def settled() -> list[_Staged | Response]:
            try:
                refusals = iter(finish())
            except Exception:
                log.exception("the DPoP replay check failed")
                error: OAuthError = ServerError("the server could not check the DPoP proof")
                return [
                    render_error(error) if isinstance(i, _Staged) and i.proof else i for i in staged
                ]
            result: list[_Staged | Response] = []
            for item in staged:
                if isinstance(item, _Staged) and item.proof is not None:
                    refusal = next(refusals)
                    if refusal is not None:
                        item = self._refuse(InvalidDPoPProof(refusal), item.client_addr)
                result.append(item)
            return result

        try:
            finish = dpop.begin_settle(proofs)
        except Exception as error:  # raised again, and logged, when the batch is settled
            finish = functools.partial(_reraise, error)
        return settled

    def refuse(self, error: OAuthError, client_addr: str) -> Response:
        """Count, log and render a refused request (for the assertion lane)."""
        return self._refuse(error, client_addr)

    def _stage_for(
        self,
        client: ClientEntry,
        params: dict[str, str],
        client_addr: str,
        request: TokenRequest | None = None,
        by_certificate: bool = False,
    ) -> _Staged:
        signer = self.directory.signer_for(client.customer_id)
        if signer is None:
            raise ServerError(
                "no signing key", log_detail=f"customer {client.customer_id} has no key"
            )
        try:
            audience, scope, lifetime = self._target_of(client, params)
        except (InvalidScope, InvalidTarget):
            # A role or grant added by another process a moment ago: read the client once more.
            client = self._recheck_roles(client)
            audience, scope, lifetime = self._target_of(client, params)
        cnf: dict[str, str] | None = None
        proof: DPoPProof | None = None
        wants_dpop = request is not None and (
            request.dpop is not None or client.dpop_bound_access_tokens
        )
        if self.dpop is not None and wants_dpop:
            assert request is not None
            cnf, proof = self._bind_dpop(request, client)
        if request is not None and (
            by_certificate or client.tls_client_certificate_bound_access_tokens
        ):
            x5t = certificate_binding(client, request.client_cert, by_certificate)
            if x5t is not None:
                cnf = {**(cnf or {}), "x5t#S256": x5t}
        self.quota.consume(client)
        pending = prepare_access_token(
            signer,
            issuer=self.issuer_for(client.customer_id),
            client_id=client.client_id,
            customer_id=client.customer_id,
            audience=audience,
            scope=scope,
            lifetime=lifetime,
            cnf=cnf,
        )
        if cnf is None:
            return _Staged(client, pending, client_addr)
        return _Staged(client, pending, client_addr, *self._bound_response(cnf), proof)

    def _bind_dpop(
        self, request: TokenRequest, client: ClientEntry
    ) -> tuple[dict[str, str], DPoPProof]:
        """RFC 9449 §5: check the proof; the token will carry its key's thumbprint."""
        assert self.dpop is not None
        proof = self.dpop.check(
            request.dpop,
            method=request.method,
            path=request.path,
            required=client.dpop_bound_access_tokens,
            duplicate=request.duplicate_dpop,
        )
        assert proof is not None
        # RFC 9449 §6.1: the token is bound by the JWK SHA-256 thumbprint in cnf.jkt.
        return {"jkt": proof.jkt}, proof

    def _bound_response(self, cnf: dict[str, str]) -> tuple[str, tuple[tuple[str, str], ...]]:
        nonce = self.dpop.response_nonce() if self.dpop is not None and "jkt" in cnf else None
        headers = TOKEN_HEADERS if nonce is None else (*TOKEN_HEADERS, ("dpop-nonce", nonce))
        # RFC 9449 §5: a DPoP-bound access token has token_type DPoP.
        return ("DPoP" if "jkt" in cnf else "Bearer"), headers

    def _target_of(self, client: ClientEntry, params: dict[str, str]) -> tuple[str, str, int]:
        """The audience, the granted scope and the lifetime of a token for ``client``:
        RFC 8707 ``resource`` (or ``audience``) names a registered API the client has a grant
        on; without one, the built-in API, whose grant is the client's roles."""
        audience = self.default_audience
        scope_source = client.api_roles
        lifetime = client.token_lifetime_seconds
        requested = requested_target(params)
        if requested is not None:
            target = resolve_target(
                requested, client, self.directory, self._builtin_key, self.default_audience
            )
            audience = target.audience
            if target.api is not None:
                scope_source = client.grants[target.api.id]
                cap = target.api.token_lifetime_seconds
                if cap is not None and cap < lifetime:
                    lifetime = cap
        return audience, narrow_scope(params.get("scope"), scope_source), lifetime

    def _recheck_roles(self, client: ClientEntry) -> ClientEntry:
        fresh = self.directory.recheck_client(client.client_id, client)
        if fresh is None or not fresh.enabled:
            raise InvalidClient("client authentication failed", log_detail="changed meanwhile")
        return fresh

    def _check_exchange(
        self,
        request: TokenRequest,
        client_id: str,
        secret: str | None,
        params: dict[str, str],
        exchange: TokenExchange,
    ) -> _Staged:
        """RFC 8693: the requesting client authenticates as usual, then the exchange rules."""
        client = self.auth.verify(request, client_id, secret)
        signer = self.directory.signer_for(client.customer_id)
        if signer is None:
            raise ServerError(
                "no signing key", log_detail=f"customer {client.customer_id} has no key"
            )
        pending = exchange.prepare(client, params, signer)
        self.quota.consume(client)
        return _Staged(client, pending, request.client_addr, exchanged=True)


@dataclass(slots=True)
class _Staged:
    """A request that passed every check, with its token waiting for a signature."""

    client: ClientEntry
    pending: PendingToken
    client_addr: str
    token_type: str = "Bearer"  # noqa: S105 - a token type, not a secret
    headers: tuple[tuple[str, str], ...] = TOKEN_HEADERS
    proof: DPoPProof | None = None  # a DPoP proof whose signature and single use are pending
    exchanged: bool = False  # RFC 8693: the answer names the issued token type


def _reraise(error: Exception) -> list[str | None]:
    raise error
