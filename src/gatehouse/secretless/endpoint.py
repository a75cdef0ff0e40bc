"""The token endpoint's assertion lane: ``private_key_jwt`` client authentication (RFC 7523
§2.2), outside tokens as client assertions (federated credentials) and the JWT bearer grant
(RFC 7523 §2.1).

Only requests that carry an assertion come here (the web layer routes them; the secret path
never does): they may need keys fetched over the network, so this lane is asynchronous, and it
hands the authenticated client to :meth:`TokenEndpoint.issue_for` for the same scope, audience,
quota, signing and response as a secret. A failure is one ``invalid_client`` (or
``invalid_grant`` for the grant) whatever went wrong; the cause goes to the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gatehouse.auditlog import AuditWriter
from gatehouse.errors import (
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    MethodNotAllowed,
    OAuthError,
    RequestTooLarge,
)
from gatehouse.federation import Outcome, evaluate
from gatehouse.oauth.assertions import (
    CLIENT_ASSERTION_TYPE,
    JWT_BEARER_GRANT,
    SIGNING_ALGS,
    AssertionRejected,
    Jwt,
    check_client_assertion,
    parse_jwt,
    verify_signature,
    wanted_kid,
)
from gatehouse.oauth.client_auth import FAILED
from gatehouse.oauth.directory import ClientEntry
from gatehouse.oauth.endpoint import Response, TokenEndpoint
from gatehouse.oauth.grant import check_grant_type
from gatehouse.oauth.params import MAX_BODY, parse_body, required
from gatehouse.oauth.request import TokenRequest
from gatehouse.secretless.keyfetch import FetchFailed, KeyFetcher
from gatehouse.secretless.replay import AssertionIds, assertion_key
from gatehouse.store import federated
from gatehouse.store.models import FederatedCredentialRecord
from gatehouse.store.store import Store
from gatehouse.verify.jws import PinnedKey, load_jwks

log = logging.getLogger("gatehouse.token")

GRANT_FAILED = "the assertion is not valid"
_CACHE_LIMIT = 10_000


def may_carry_assertion(body: bytes) -> bool:
    """Whether a token request body may hold an assertion (a cheap test of the raw bytes; a
    false positive only costs the request the slower lane)."""
    return b"assertion" in body


@dataclass
class AssertionEndpoint:
    token: TokenEndpoint
    store: Store
    fetcher: KeyFetcher
    replay: AssertionIds
    audit: AuditWriter
    issuer_for: Callable[[str], str]
    version: Callable[[], int]  # the replica's version: the credential cache's key
    _credentials: dict[str, tuple[int, list[FederatedCredentialRecord]]] = field(
        default_factory=dict
    )
    _inline_keys: dict[str, tuple[object, dict[str, PinnedKey]]] = field(default_factory=dict)

    async def handle(self, request: TokenRequest) -> Response:
        try:
            return await self._handle(request)
        except OAuthError as error:
            return self.token.refuse(error, request.client_addr)

    async def _handle(self, request: TokenRequest) -> Response:
        params = self._read(request)
        grant_type = params.get("grant_type")
        if grant_type == JWT_BEARER_GRANT:
            return await self._bearer_grant(request, params)
        if "client_assertion" not in params and "client_assertion_type" not in params:
            return self.token.handle(request)  # no assertion after all: the ordinary path
        # RFC 7521 §4.2: client_assertion_type and client_assertion are both required.
        if "client_assertion" not in params or "client_assertion_type" not in params:
            raise InvalidRequest("send client_assertion_type and client_assertion together")
        # RFC 6749 §2.3: a client must not use more than one authentication method.
        if request.authorization is not None or "client_secret" in params:
            raise InvalidRequest("use one client authentication method, not several")
        check_grant_type(params)
        if params["client_assertion_type"] != CLIENT_ASSERTION_TYPE:
            raise InvalidClient(FAILED, log_detail="unsupported client_assertion_type")
        return await self._client_assertion(request, params)

    def _read(self, request: TokenRequest) -> dict[str, str]:
        if request.method != "POST":
            raise MethodNotAllowed("the token endpoint takes POST")
        if len(request.body) > MAX_BODY:
            raise RequestTooLarge(f"the request body is larger than {MAX_BODY} bytes")
        if request.duplicate_authorization:
            raise InvalidRequest("send one Authorization header")
        return parse_body(request.body, request.content_type, json_allowed=request.json_allowed)

    # -- client authentication by assertion ------------------------------------------------------

    async def authenticate(self, request: TokenRequest) -> tuple[ClientEntry, dict[str, str]]:
        """The client a request's assertion proves, and the body parameters: the client
        authentication of the revocation and introspection endpoints (RFC 7009 §2.1, RFC 7662
        §2.1 authenticate clients as the token endpoint does)."""
        params = self._read(request)
        # RFC 7521 §4.2: client_assertion_type and client_assertion are both required.
        if "client_assertion" not in params or "client_assertion_type" not in params:
            raise InvalidRequest("send client_assertion_type and client_assertion together")
        # RFC 6749 §2.3: a client must not use more than one authentication method.
        if request.authorization is not None or "client_secret" in params:
            raise InvalidRequest("use one client authentication method, not several")
        if params["client_assertion_type"] != CLIENT_ASSERTION_TYPE:
            raise InvalidClient(FAILED, log_detail="unsupported client_assertion_type")
        client, _detail = await self._assertion_client(request, params)
        return client, params

    async def _client_assertion(self, request: TokenRequest, params: dict[str, str]) -> Response:
        client, detail = await self._assertion_client(request, params)
        return self._issue(client, params, request, detail)

    async def _assertion_client(
        self, request: TokenRequest, params: dict[str, str]
    ) -> tuple[ClientEntry, dict[str, Any]]:
        assertion = params["client_assertion"]
        try:
            jwt = parse_jwt(assertion)
        except AssertionRejected as exc:
            raise InvalidClient(FAILED, log_detail=f"client assertion: {exc}") from None
        iss, sub = jwt.claims.get("iss"), jwt.claims.get("sub")
        client_id = params.get("client_id")
        own = isinstance(iss, str) and iss == sub
        if client_id is None:
            # Many clients may trust one outside issuer: its token cannot name the client.
            if not own:
                raise InvalidRequest("client_id is required with an outside token")
            client_id = str(iss)
        # RFC 7523 §3 item 2 (private_key_jwt): a client_id sent must be the assertion's sub.
        own = own and iss == client_id
        self.token.guard.check(request.client_addr, client_id)
        try:
            client = self._client(client_id, request)
            if own:
                detail = await self._private_key_jwt(client, jwt)
            else:
                detail = await self._federated(client, assertion)
        except AssertionRejected as exc:
            self.token.guard.record_failure(request.client_addr, client_id)
            raise InvalidClient(FAILED, log_detail=f"client assertion: {exc}") from None
        return client, detail

    def _client(self, client_id: str, request: TokenRequest) -> ClientEntry:
        client = self.token.directory.find_client(client_id)
        if client is None:
            raise AssertionRejected("issuer", "unknown client_id")
        if not client.enabled:
            raise AssertionRejected("issuer", "client disabled")
        if request.path_customer is not None and client.customer_id != request.path_customer:
            raise AssertionRejected("issuer", "client belongs to another customer")
        return client

    async def _private_key_jwt(self, client: ClientEntry, jwt: Jwt) -> dict[str, Any]:
        # A client accepts only its registered method (a secret client never a signed JWT).
        if client.auth_method != "private_key_jwt":
            raise AssertionRejected("issuer", f"client uses {client.auth_method}")
        keys = await self._client_keys(client, wanted_kid(jwt))
        verify_signature(jwt, keys)
        issuer = self.issuer_for(client.customer_id)
        # RFC 7523 §3 item 3: the issuer or the token endpoint, whichever URL was posted to.
        exp = check_client_assertion(
            jwt.claims, client_id=client.client_id, audiences=(issuer, f"{issuer}/oauth2/token")
        )
        key = assertion_key("client " + client.client_id, str(jwt.claims["jti"]))
        # RFC 7523 §3 item 7: a jti already used is a replay.
        if not await asyncio.to_thread(self.replay.use, key, exp):
            raise AssertionRejected("replay", "jti already used")
        return {"auth_method": "private_key_jwt"}

    async def _client_keys(self, client: ClientEntry, kid: str | None) -> dict[str, PinnedKey]:
        if client.jwks is not None:
            # Parsed once per registered key set (a changed client is a new entry).
            cached = self._inline_keys.get(client.id)
            if cached is None or cached[0] is not client.jwks:
                if len(self._inline_keys) >= _CACHE_LIMIT:
                    self._inline_keys.clear()
                cached = self._inline_keys[client.id] = (
                    client.jwks,
                    load_jwks(client.jwks, SIGNING_ALGS),
                )
            return cached[1]
        if client.jwks_uri is not None:
            try:
                return await self.fetcher.jwks(client.jwks_uri, kid=kid)
            except FetchFailed as exc:
                raise AssertionRejected("signature", str(exc)) from None
        raise AssertionRejected("signature", "the client has no keys of its own")

    async def _federated(self, client: ClientEntry, token: str) -> dict[str, Any]:
        credentials, cached = await self._credentials_of(client)
        outcomes = await self._evaluate_all(client, credentials, token)
        if outcomes and outcomes[-1].matched:
            return await self._accept(client, outcomes[-1])
        if cached:
            # Read your writes: a credential added by another process a moment ago may not be
            # in the cache yet; a failed attempt looks in the store once more.
            fresh = await self._load_credentials(client)
            if fresh != credentials:
                outcomes = await self._evaluate_all(client, fresh, token)
                if outcomes and outcomes[-1].matched:
                    return await self._accept(client, outcomes[-1])
        if not outcomes:
            raise AssertionRejected("issuer", "the client has no federated credentials")
        reasons = "; ".join(f"{o.credential.id}: {o.failed_check}: {o.reason}" for o in outcomes)
        raise AssertionRejected("subject", f"no federated credential matches ({reasons})")

    async def _accept(self, client: ClientEntry, outcome: Outcome) -> dict[str, Any]:
        credential, claims = outcome.credential, outcome.claims
        if credential.single_use:
            jti = claims.get("jti")
            # A single-use credential cannot tell a replay without a jti: it refuses the token.
            if not isinstance(jti, str) or not jti:
                raise AssertionRejected("claim", "single-use credential: no jti", claim="jti")
            key = assertion_key("issuer " + credential.issuer, jti)
            if not await asyncio.to_thread(self.replay.use, key, outcome.exp):
                raise AssertionRejected("replay", "single-use credential: jti already used")
        return {
            "auth_method": "federated",
            "federated_credential_id": credential.id,
            "outside_iss": claims.get("iss"),
            "outside_sub": claims.get("sub"),
        }

    async def _evaluate_all(
        self, client: ClientEntry, credentials: list[FederatedCredentialRecord], token: str
    ) -> list[Outcome]:
        """The outcomes up to the first match (then last), or of every credential."""
        outcomes: list[Outcome] = []
        default_audience = self.issuer_for(client.customer_id)
        for credential in credentials:
            outcome = await evaluate(
                self.fetcher, credential, token, default_audience=default_audience
            )
            outcomes.append(outcome)
            if outcome.matched:
                break
        return outcomes

    async def _credentials_of(
        self, client: ClientEntry
    ) -> tuple[list[FederatedCredentialRecord], bool]:
        """The client's credentials, and whether they came from the cache."""
        cached = self._credentials.get(client.id)
        if cached is not None and cached[0] == self.version():
            return cached[1], True
        return await self._load_credentials(client), False

    async def _load_credentials(self, client: ClientEntry) -> list[FederatedCredentialRecord]:
        version = self.version()
        records = await asyncio.to_thread(federated.list_credentials, self.store, app_id=client.id)
        if len(self._credentials) >= _CACHE_LIMIT:
            self._credentials.clear()
        self._credentials[client.id] = (version, records)
        return records

    # -- the JWT bearer grant --------------------------------------------------------------------

    async def _bearer_grant(self, request: TokenRequest, params: dict[str, str]) -> Response:
        if request.authorization is not None or "client_assertion" in params:
            raise InvalidRequest("the jwt-bearer grant takes the outside token as assertion only")
        # RFC 7523 §2.1: the assertion parameter holds a single JWT.
        assertion = required(params, "assertion")
        client_id = params.get("client_id")
        if client_id is None:
            raise InvalidRequest("client_id is required with an outside token")
        self.token.guard.check(request.client_addr, client_id)
        try:
            client = self._client(client_id, request)
            detail = await self._federated(client, assertion)
        except AssertionRejected as exc:
            self.token.guard.record_failure(request.client_addr, client_id)
            # RFC 7523 §3.1: an assertion that is not valid is invalid_grant.
            raise InvalidGrant(GRANT_FAILED, log_detail=f"jwt-bearer grant: {exc}") from None
        return self._issue(client, params, request, detail | {"grant": "jwt-bearer"})

    def _issue(
        self,
        client: ClientEntry,
        params: dict[str, str],
        request: TokenRequest,
        detail: dict[str, Any],
    ) -> Response:
        def audited(entry: ClientEntry, token: Any, addr: str) -> None:
            self.audit.record_issued_with(entry, token, addr, detail)

        # The request goes along for its DPoP proof (RFC 9449 §5, docs/sender-constrained.md).
        return self.token.issue_for(
            client, params, request.client_addr, on_issued=audited, request=request
        )
