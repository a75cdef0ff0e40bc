"""The bearer check of Gatehouse's own API (RFC 6750 §2.1, §3, §3.1), on ``gatehouse.verify``.

Each customer gets one :class:`~gatehouse.verify.TokenVerifier` whose keys come from this
process's in-memory replica instead of an HTTP fetch of our own JWKS. On top of signature and
claim checks, every request consults the replica (never the database): a token that was revoked
(RFC 7009 deny list), whose client is deleted or disabled, was issued before the client's
``tokens_revoked_before``, or carries a role the client no longer has is rejected at once.

A token seen before skips the parts whose answers cannot have changed: its header's parse
(a function of the header alone) and its standing and principal while the replica's
``version`` is the same (every change the replica applies bumps it). Signature, expiry and
key removal are still checked by the verifier on every request, from its verified-token cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gatehouse.errors import ApiError, TemporarilyUnavailable
from gatehouse.oauth.inspect import (
    ReplicaKeySet,
    ReplicaTokenVerifier,
    TokenChecker,
    check_standing,
    invalid,
)
from gatehouse.oauth.inspect import peek_customer as _peek_customer
from gatehouse.replica import Replica
from gatehouse.settings import Settings
from gatehouse.store.models import CorpusRole
from gatehouse.verify.bearer import extract_bearer

_REMEMBERED = 4096  # tokens per memo; a full memo starts over

# Moved to gatehouse.oauth.inspect (shared with revocation and introspection); kept importable.
__all__ = [
    "Bearer",
    "Principal",
    "ReplicaKeySet",
    "ReplicaTokenVerifier",
    "_peek_customer",
]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who calls the API, whatever proved it (a bearer token here; a console session later)."""

    customer_id: str
    api_roles: frozenset[str]
    corpus_roles: tuple[CorpusRole, ...]
    app_id: str | None  # the acting app client; None for a console user
    actor: str  # for the audit log
    source: str | None = None

    def corpus_role(self, corpus_key: str) -> frozenset[str]:
        return frozenset(r.role for r in self.corpus_roles if r.corpus_key == corpus_key)


class Bearer:
    """Turns an ``Authorization`` header into a :class:`Principal`, or raises a VerifyError.

    Signature, claims and the token's standing are checked by the shared
    :class:`~gatehouse.oauth.inspect.TokenChecker` (also behind revocation and introspection).
    """

    def __init__(self, settings: Settings, replica: Replica) -> None:
        self.settings = settings
        self.replica = replica
        self.checker = TokenChecker(
            issuer_for=settings.issuer,
            audience=settings.default_audience,
            keys=replica,
            standing=replica,
        )
        self._tokens: dict[str, str] = {}  # Authorization header -> its well-formed token
        # (token, customer-id header, source) -> (replica version, principal)
        self._principals: dict[tuple[str, str | None, str | None], tuple[int, Principal]] = {}

    def _verifier(self, customer_id: str) -> ReplicaTokenVerifier:
        return self.checker.verifier(customer_id)

    def authenticate(
        self,
        authorization: Sequence[str],
        *,
        customer_header: str | None = None,
        source: str | None = None,
    ) -> Principal:
        # RFC 6750 §2.1 (header), §3.1 (no credentials / invalid_request / invalid_token).
        token = self._token(authorization)
        # Read before the checks, so a change applied meanwhile voids what they conclude.
        version = self.replica.version
        try:
            claims = self.checker.verify(token)
            key = (token, customer_header, source)
            remembered = self._principals.get(key)
            if remembered is not None and remembered[0] == version:
                return remembered[1]
            principal = self._principal(claims, customer_header, source)
        except TemporarilyUnavailable as exc:  # a cold client or key while the store is away
            raise ApiError(
                503, exc.description, headers={"retry-after": str(exc.retry_after)}
            ) from None
        _remember(self._principals, key, (version, principal))
        return principal

    def _token(self, authorization: Sequence[str]) -> str:
        if len(authorization) != 1:
            return extract_bearer(authorization)  # raises: none, or more than one
        token = self._tokens.get(authorization[0])
        if token is None:
            token = extract_bearer(authorization)
            _remember(self._tokens, authorization[0], token)
        return token

    def _principal(
        self, claims: dict[str, Any], customer_header: str | None, source: str | None
    ) -> Principal:
        customer_id: str = claims["customer_id"]
        # SPEC §3: a customer-id header, when sent, must match the token's customer.
        if customer_header is not None and customer_header != customer_id:
            raise invalid("the customer-id header does not match the token")
        # Deleted or disabled client, revoked jti or cut-off, a role the client lost.
        entry = check_standing(self.replica, claims)
        return Principal(
            customer_id=customer_id,
            api_roles=frozenset(claims.get("scope", "").split()),
            corpus_roles=self.replica.corpus_roles(entry.id),
            app_id=entry.id,
            actor=entry.id,
            source=source,
        )


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) >= _REMEMBERED:
        memo.clear()
    memo[key] = value
