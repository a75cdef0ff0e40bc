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
    MAX_TOKEN_LENGTH,
    MEMO_BYTES,
    MEMO_ENTRIES,
    TokenChecker,
    check_standing,
    invalid,
)
from gatehouse.replica import Replica
from gatehouse.settings import Settings
from gatehouse.store.models import CorpusRole
from gatehouse.store.proofs import RedisReplayCache
from gatehouse.verify.bearer import extract_token
from gatehouse.verify.dpop import DPoPContext
from gatehouse.verify.errors import InvalidDPoPProof, VerifyError
from gatehouse.verify.memo import Memo

# "Bearer " and the blanks RFC 7235 allows around a token of the longest length checked.
_MAX_AUTHORIZATION = MAX_TOKEN_LENGTH + 64

__all__ = ["Bearer", "Principal"]


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
            # RFC 9449 §11.1: proofs are single-use across processes when Redis is shared.
            dpop_replay=(
                RedisReplayCache(settings.redis_url, prefix="gatehouse:dpop-api:")
                if settings.redis_url
                else None
            ),
        )
        # Both memos hold verified tokens only, bounded in bytes: a flood of distinct invalid
        # values never enters them. Authorization header -> (scheme, its token):
        self._tokens: Memo[str, tuple[str, str]] = Memo(
            max_entries=MEMO_ENTRIES, max_bytes=MEMO_BYTES
        )
        self._token_of = self._tokens.entries
        # (token, customer-id header, source) -> (replica version, principal)
        self._principals: Memo[tuple[str, str | None, str | None], tuple[int, Principal]] = Memo(
            max_entries=MEMO_ENTRIES, max_bytes=MEMO_BYTES
        )
        self._principal_of = self._principals.entries

    def authenticate(
        self,
        authorization: Sequence[str],
        *,
        customer_header: str | None = None,
        source: str | None = None,
        dpop: Sequence[str] = (),
        method: str = "GET",
        path: str = "",
        certificate: bytes | None = None,
    ) -> Principal:
        """``dpop``: the request's DPoP header values; ``path``: its path, which with
        GATEHOUSE_PUBLIC_URL makes the expected ``htu``; ``certificate``: the DER client
        certificate, when the connection (or a trusted proxy) presented one."""
        # RFC 6750 §2.1 (header), §3.1 (no credentials / invalid_request / invalid_token).
        header = authorization[0] if len(authorization) == 1 else None
        found = self._token_of.get(header) if header is not None else None
        fresh = found is None
        if found is None:
            if header is not None and len(header) > _MAX_AUTHORIZATION:
                raise invalid("the token is too large")  # before anything parses or keeps it
            found = extract_token(authorization)
        scheme, token = found
        # Read before the checks, so a change applied meanwhile voids what they conclude.
        version = self.replica.version
        try:
            if scheme == "Bearer":
                claims = self.checker.verify(token, certificate=certificate)
            else:
                claims = self._verify_dpop(token, dpop, method, path, certificate)
            if fresh and header is not None:
                self._tokens.put(header, found, len(header))
            key = (token, customer_header, source)
            remembered = self._principal_of.get(key)
            if remembered is not None and remembered[0] == version:
                return remembered[1]
            try:
                principal = self._principal(claims, customer_header, source)
            except VerifyError as error:
                error.scheme = scheme
                raise
        except TemporarilyUnavailable as exc:  # a cold client or key while the store is away
            raise ApiError(
                503, exc.description, headers={"retry-after": str(exc.retry_after)}
            ) from None
        self._principals.put(key, (version, principal), 2 * len(token))
        return principal

    def _verify_dpop(
        self,
        token: str,
        dpop: Sequence[str],
        method: str,
        path: str,
        certificate: bytes | None,
    ) -> dict[str, Any]:
        """RFC 9449 §7.1: a DPoP-bound token with a fresh proof; errors get a DPoP challenge."""
        try:
            # RFC 9449 §4.3 (1): not more than one DPoP header.
            if len(dpop) > 1:
                raise InvalidDPoPProof("send one DPoP header")
            # htu comes from GATEHOUSE_PUBLIC_URL, never from a Host or forwarding header.
            context = DPoPContext(dpop[0] if dpop else None, method, self.settings.base_url + path)
            return self.checker.verify(token, dpop=context, certificate=certificate)
        except VerifyError as error:
            error.scheme = "DPoP"
            raise

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
