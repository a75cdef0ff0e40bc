"""The server-side token check shared by the v2 API's bearer check, RFC 7009 revocation and
RFC 7662 introspection: signature and claims against a customer's keys in this process's memory,
then the token's standing (revoked ``jti``, deleted or disabled client, a per-client cut-off, a
role the client lost). Every step is an in-memory lookup; no database read, no web framework.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from gatehouse.oauth.customer_ids import CUSTOMER_ID
from gatehouse.oauth.directory import ApiEntry, ClientEntry
from gatehouse.oauth.exchange import chain_clients
from gatehouse.oauth.target import match_key
from gatehouse.oauth.tokens import jti_issued_at
from gatehouse.verify.dpop import DPoPContext, ReplayCache
from gatehouse.verify.errors import InvalidToken, KeySetUnavailable
from gatehouse.verify.jws import b64url_decode
from gatehouse.verify.keyset import JwksSource
from gatehouse.verify.memo import Memo
from gatehouse.verify.verifier import ANY_AUDIENCE, TokenVerifier

# The longest token checked at all (the verifier's own default limit): anything longer is refused
# before it is decoded or remembered anywhere.
MAX_TOKEN_LENGTH = 8192
# What the server's memos of verified tokens may hold, each (a token counted at its length).
MEMO_ENTRIES = 4096
MEMO_BYTES = 8 * 1024 * 1024


class Standing(Protocol):
    """What the standing check reads (the replica implements it from memory)."""

    def find_client(self, client_id: str) -> ClientEntry | None: ...

    def is_jti_revoked(self, jti: str) -> bool: ...

    def find_api(self, customer_id: str, match_key: str) -> ApiEntry | None: ...


class Keys(Protocol):
    """Where the published keys of each customer come from (the replica)."""

    def has_customer(self, customer_id: str) -> bool: ...

    def jwks_json(self, customer_id: str) -> bytes | None: ...

    def reload_keys(self, customer_id: str) -> None: ...


def invalid(description: str) -> InvalidToken:
    return InvalidToken("invalid_token", description)


def peek_customer(token: str) -> str:
    """The ``customer_id`` claim, unverified: it only picks which issuer's verifier to use."""
    parts = token.split(".")
    if len(parts) != 3:
        raise invalid("the token is not a compact JWS")
    try:
        claims = orjson.loads(b64url_decode(parts[1]))
    except ValueError:
        raise invalid("the token payload is not base64url JSON") from None
    customer_id = claims.get("customer_id") if isinstance(claims, dict) else None
    if not isinstance(customer_id, str) or CUSTOMER_ID.fullmatch(customer_id) is None:
        raise invalid("the token was issued by another issuer")
    return customer_id


def issued_at(claims: Mapping[str, Any]) -> float:
    """When the token was issued: the microseconds in its ``jti``, else the whole-second ``iat``."""
    jti = claims.get("jti")
    issued = jti_issued_at(jti) if isinstance(jti, str) else None
    return issued if issued is not None else float(claims["iat"])


def check_standing(directory: Standing, claims: Mapping[str, Any]) -> ClientEntry:
    """The token's client if the token still stands; :class:`InvalidToken` otherwise."""
    entry = directory.find_client(claims["client_id"])
    if entry is None or entry.customer_id != claims.get("customer_id"):
        raise invalid("the token's client no longer exists")
    if not entry.enabled:
        raise invalid("the token's client is disabled")
    # RFC 7009 §2: a revoked token must not be accepted any more (the deny list, by jti).
    if directory.is_jti_revoked(claims["jti"]):
        raise invalid("the token has been revoked")
    # revoke_tokens: every token issued before the cut-off, to the microsecond.
    if entry.tokens_revoked_before is not None and issued_at(claims) < entry.tokens_revoked_before:
        raise invalid("the token has been revoked")
    scope = claims.get("scope", "")
    if not frozenset(scope.split()) <= frozenset(entry.api_roles) and not _granted(
        directory, entry, claims, scope
    ):
        raise invalid("the token carries a role its client no longer has")
    if "act" in claims or claims.get("sub") != entry.client_id:
        check_chain(directory, claims)
    return entry


def check_chain(directory: Standing, claims: Mapping[str, Any]) -> None:
    """An exchanged token (RFC 8693) stands only while every client of its chain does: the
    ``sub``'s, every ``act.sub``'s — none deleted, disabled or cut off after the token's iat."""
    issued = issued_at(claims)
    for client_id in chain_clients(claims):
        entry = directory.find_client(client_id)
        if entry is None or entry.customer_id != claims.get("customer_id"):
            raise invalid("a client of the token's chain no longer exists")
        if not entry.enabled:
            raise invalid("a client of the token's chain is disabled")
        if entry.tokens_revoked_before is not None and issued < entry.tokens_revoked_before:
            raise invalid("the token has been revoked")


def _granted(
    directory: Standing, entry: ClientEntry, claims: Mapping[str, Any], scope: str
) -> bool:
    """Whether a token for a registered API carries only scopes its client still holds there."""
    audience = claims.get("aud")
    if not isinstance(audience, str) or not entry.grants:
        return False
    api = directory.find_api(entry.customer_id, match_key(audience))
    granted = entry.grants.get(api.id) if api is not None else None
    return granted is not None and frozenset(scope.split()) <= frozenset(granted)


@dataclass(frozen=True, slots=True)
class CheckedToken:
    claims: dict[str, Any]
    client: ClientEntry


class TokenChecker:
    """Verifies tokens of any customer of this issuer, one cached verifier per customer.

    ``audience`` is what the token's ``aud`` must hold; ``None`` accepts any audience.
    """

    def __init__(
        self,
        *,
        issuer_for: Callable[[str], str],
        audience: str | None,
        keys: Keys,
        standing: Standing,
        dpop_replay: ReplayCache | None = None,
    ) -> None:
        self.issuer_for = issuer_for
        self.dpop_replay = dpop_replay  # None: per verifier, in this process
        self.audience = audience
        self.keys = keys
        self.standing = standing
        self._verifiers: dict[str, TokenVerifier] = {}
        self._lock = threading.Lock()
        # The customer of a token already verified: peeking decodes the payload, which costs
        # half of a cached token's whole check, and its answer depends on the token alone.
        self._customers: Memo[str, str] = Memo(max_entries=MEMO_ENTRIES, max_bytes=MEMO_BYTES)
        self._customer_of = self._customers.entries

    def verifier(self, customer_id: str) -> TokenVerifier:
        """The customer's verifier, its keys those of this process's memory as they are now."""
        verifier = self._verifiers.get(customer_id)
        if verifier is None:
            if not self.keys.has_customer(customer_id):
                raise invalid("the token was issued by another issuer")
            with self._lock:
                verifier = self._verifiers.get(customer_id)
                if verifier is None:
                    verifier = TokenVerifier(
                        self.issuer_for(customer_id),
                        self.audience if self.audience is not None else ANY_AUDIENCE,
                        keys=self._key_source(customer_id),
                        dpop_replay=self.dpop_replay,
                    )
                    self._verifiers[customer_id] = verifier
        verifier.sync_keys()
        return verifier

    def _key_source(self, customer_id: str) -> JwksSource:
        """The customer's JWKS in memory (a new object whenever its keys change, so syncing is
        an identity check); a kid not in it first reloads the customer's keys from the store,
        since another process may have made that key a moment ago (read your writes)."""
        keys = self.keys

        def source(kid: str | None) -> bytes | None:
            if kid is not None:
                keys.reload_keys(customer_id)
            return keys.jwks_json(customer_id)

        return source

    def verify(
        self, token: str, *, dpop: DPoPContext | None = None, certificate: bytes | None = None
    ) -> dict[str, Any]:
        """Signature, claims and key binding (not the standing); :class:`InvalidToken` if they
        fail."""
        return self._verify(token, lambda v: v.verify(token, dpop=dpop, certificate=certificate))

    def verify_unbound(self, token: str) -> dict[str, Any]:
        """Signature and claims, not asking a bound token for its proof or certificate."""
        return self._verify(token, lambda v: v.verify_unbound(token))

    def _verify(
        self, token: str, check: Callable[[TokenVerifier], dict[str, Any]]
    ) -> dict[str, Any]:
        # The customer of a token verified before; a new one is peeked at (bounded first) and
        # remembered only once its signature held.
        customer_id = self._customer_of.get(token)
        seen = customer_id is not None
        if customer_id is None:
            if len(token) > MAX_TOKEN_LENGTH:
                raise invalid("the token is too large")
            customer_id = peek_customer(token)
        try:
            claims = check(self.verifier(customer_id))
        except KeySetUnavailable:
            raise invalid("the token is signed with an unknown key") from None
        if not seen:
            self._customers.put(token, customer_id, len(token))
        return claims

    def check(self, token: str) -> CheckedToken:
        """Signature, claims and standing; a bound token's proof is not asked for."""
        claims = self.verify_unbound(token)
        return CheckedToken(claims, check_standing(self.standing, claims))
