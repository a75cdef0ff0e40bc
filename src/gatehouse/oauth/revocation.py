"""Token revocation, RFC 7009, for access tokens: parse the body, authenticate the client as at
the token endpoint (RFC 6749 §2.3.1), verify the token, check that it was issued to that client,
put its ``jti`` on the deny list, answer 200. Free of any web framework and of the database: the
deny-list write is the ``revoke`` hook the server passes in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gatehouse.errors import (
    NO_STORE,
    InvalidRequest,
    UnauthorizedClient,
)
from gatehouse.oauth.client_auth import ClientAuthenticator
from gatehouse.oauth.directory import ClientEntry
from gatehouse.oauth.inspect import TokenChecker
from gatehouse.oauth.refuse import Refusing
from gatehouse.oauth.request import TokenRequest
from gatehouse.oauth.response import Response
from gatehouse.refusals import RefusalLog
from gatehouse.verify.errors import InvalidToken

log = logging.getLogger("gatehouse.revocation")

# RFC 7009 §2.2: 200 with an empty body; like every response about tokens, never cached.
REVOKED = Response(200, NO_STORE, b"")

RevokeHook = Callable[[ClientEntry, dict[str, Any], str], None]


def client_and_token(auth: ClientAuthenticator, request: TokenRequest) -> tuple[ClientEntry, str]:
    """The authenticated client (RFC 6749 §2.3.1) and the token it asks about."""
    client, params = auth.authenticate(request)
    token = params.get("token")
    # RFC 7009 §2.1, RFC 7662 §2.1: the token parameter is REQUIRED.
    if token is None:
        raise InvalidRequest("the token parameter is required")
    return client, token


@dataclass
class RevocationEndpoint(Refusing):
    kind = "revocation"
    failure = "the server could not revoke the token"
    log = log

    auth: ClientAuthenticator
    checker: TokenChecker  # any audience: a token is revocable whatever its aud
    revoke: RevokeHook
    clock: Callable[[], float] = time.time
    refusals: RefusalLog = field(default_factory=RefusalLog)

    def serve(self, request: TokenRequest) -> Response:
        client, token = client_and_token(self.auth, request)
        # RFC 7009 §2.1: token_type_hint is optional and the server may ignore it; only access
        # tokens exist here, so every hint (refresh_token or unknown) searches them (§2.1).
        try:
            claims = self.checker.verify_unbound(token)
        except InvalidToken:
            # RFC 7009 §2.2: an invalid token (unknown, malformed, expired) is not an error.
            return REVOKED
        # RFC 7009 §2.1: verify that the token was issued to the client making the request;
        # if not, the request is refused and the token stays valid.
        if claims["client_id"] != client.client_id or claims.get("customer_id") != (
            client.customer_id
        ):
            raise UnauthorizedClient("the token was issued to another client")
        # An expired token is already invalid: nothing to keep on the deny list.
        if claims["exp"] > self.clock():
            self.revoke(client, claims, request.client_addr)
        return REVOKED
