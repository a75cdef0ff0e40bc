"""Token introspection, RFC 7662: the caller authenticates as any enabled app client of the
token's customer; an active token's claims come back with ``active: true``, anything else —
expired, revoked, of a deleted or disabled client, of another customer, malformed — as exactly
``{"active": false}``. Every check is in memory (signature, claims, deny list, client state).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from gatehouse.errors import JSON, NO_STORE
from gatehouse.oauth.client_auth import ClientAuthenticator
from gatehouse.oauth.inspect import TokenChecker
from gatehouse.oauth.refuse import Refusing
from gatehouse.oauth.request import TokenRequest
from gatehouse.oauth.response import Response
from gatehouse.oauth.revocation import client_and_token
from gatehouse.refusals import RefusalLog
from gatehouse.verify.errors import InvalidToken

log = logging.getLogger("gatehouse.introspection")

HEADERS = (JSON, *NO_STORE)
# RFC 7662 §2.2: for an inactive token the server should not say more than "active": false.
INACTIVE = Response(200, HEADERS, b'{"active":false}')
MEMBERS = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "nbf", "jti")


@dataclass
class IntrospectionEndpoint(Refusing):
    kind = "introspection"
    failure = "the server could not introspect the token"
    log = log

    auth: ClientAuthenticator
    checker: TokenChecker  # any audience: the resource server checks aud (RFC 7662 §4)
    clock: Callable[[], float] = time.time
    refusals: RefusalLog = field(default_factory=RefusalLog)

    def serve(self, request: TokenRequest) -> Response:
        client, token = client_and_token(self.auth, request)
        # RFC 7662 §2.1: token_type_hint is optional; only access tokens exist here.
        try:
            checked = self.checker.check(token)
        except InvalidToken:
            return INACTIVE
        claims = checked.claims
        # SPEC §2: a token of another customer is inactive to this caller.
        if claims.get("customer_id") != client.customer_id:
            return INACTIVE
        now = self.clock()
        # RFC 7662 §4: expired or not yet valid tokens are inactive (no leeway here).
        if claims["exp"] <= now or claims.get("nbf", 0) > now:
            return INACTIVE
        body: dict[str, Any] = {"active": True}
        body.update({name: claims[name] for name in MEMBERS if name in claims})
        cnf = claims.get("cnf")
        if isinstance(cnf, dict):
            # RFC 9449 §6.2, RFC 8705 §3.2: a bound token's cnf is part of the answer.
            body["cnf"] = cnf
        # RFC 9449 §6.2: a DPoP-bound token's token_type is DPoP.
        dpop = isinstance(cnf, dict) and "jkt" in cnf
        body["token_type"] = "DPoP" if dpop else "Bearer"
        return Response(200, HEADERS, orjson.dumps(body))
