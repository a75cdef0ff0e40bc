"""The server-side token check shared by the v2 API's bearer check, RFC 7009 revocation and
RFC 7662 introspection: signature and claims against a customer's keys in this process's memory,
then the token's standing (revoked ``jti``, deleted or disabled client, a per-client cut-off, a
role the client lost). Every step is an in-memory lookup; no database read, no web framework.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from gatehouse.customers import CUSTOMER_ID
from gatehouse.oauth.directory import ClientEntry
from gatehouse.oauth.tokens import jti_issued_at
from gatehouse.verify.dpop import DPoPContext, ReplayCache
from gatehouse.verify.errors import InvalidToken, KeySetUnavailable
from gatehouse.verify.jws import b64url_decode
from gatehouse.verify.keyset import KeySet
from gatehouse.verify.verifier import TokenVerifier


class Standing(Protocol):
    """What the standing check reads (the replica implements it from memory)."""

    def find_client(self, client_id: str) -> ClientEntry | None: ...

    def is_jti_revoked(self, jti: str) -> bool: ...


class Keys(Protocol):
    """Where the published keys of each customer come from (the replica)."""

    def has_customer(self, customer_id: str) -> bool: ...

    def jwks_json(self, customer_id: str) -> bytes | None: ...


def invalid(description: str) -> InvalidToken:
    return InvalidToken("invalid_token", description)


class ReplicaKeySet(KeySet):
    """A :class:`KeySet` loaded from a local JWKS document source; it never does network I/O.

    ``source`` returns the current JWKS bytes (a new object whenever the keys change), so
    :meth:`sync` is an identity check on the hot path.
    """

    def __init__(
        self,
        issuer: str,
        *,
        algorithms: frozenset[str],
        source: Callable[[], bytes | None],
        on_keys_removed: Callable[[], None],
    ) -> None:
        super().__init__(
            issuer,
            algorithms=algorithms,
            refresh_min_interval=0.0,
            max_age=math.inf,
            on_keys_removed=on_keys_removed,
        )
        self._source = source
        self._document: bytes | None = None

    def sync(self) -> None:
        document = self._source()
        if document is not None and document is not self._document:
            self.load(orjson.loads(document))
            self._document = document

    def refresh(self, kid: str | None = None, *, wait: bool = True) -> None:
        self.sync()

    async def arefresh(self, kid: str | None = None, *, wait: bool = True) -> None:
        self.sync()


class _AnyAudience(frozenset[str]):
    """An audience set that holds every value: introspection and revocation answer for tokens
    of any audience (the resource server checks ``aud`` itself, RFC 7662 §4)."""

    def __contains__(self, item: object) -> bool:
        return True


class ReplicaTokenVerifier(TokenVerifier):
    """A :class:`TokenVerifier` whose keys come from :class:`ReplicaKeySet`.

    ``audience=None`` accepts a token of any audience.
    """

    keyset: ReplicaKeySet

    def __init__(
        self,
        issuer: str,
        audience: str | None,
        *,
        source: Callable[[], bytes | None],
        dpop_replay: ReplayCache | None = None,
    ) -> None:
        super().__init__(issuer, audience if audience is not None else "*", dpop_replay=dpop_replay)
        if audience is None:
            self.audiences = _AnyAudience({"*"})
        self.keyset = ReplicaKeySet(
            issuer, algorithms=self.algorithms, source=source, on_keys_removed=self.clear_cache
        )
        self.keyset.sync()

    def verify_unbound(self, token: str) -> dict[str, Any]:
        """Signature and claims without the sender check: for revocation and introspection,
        which answer for bound tokens without their proof (RFC 7009, RFC 7662)."""
        return self._authorize(self._claims(token))


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


# The customer of a token already seen: peeking decodes the payload, which costs half of a cached
# token's whole check, and its answer depends on the token string alone.
_peek_seen = functools.lru_cache(maxsize=4096)(peek_customer)


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
    if not frozenset(scope.split()) <= frozenset(entry.api_roles):
        raise invalid("the token carries a role its client no longer has")
    return entry


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
        self._verifiers: dict[str, ReplicaTokenVerifier] = {}
        self._lock = threading.Lock()

    def verifier(self, customer_id: str) -> ReplicaTokenVerifier:
        verifier = self._verifiers.get(customer_id)
        if verifier is None:
            if not self.keys.has_customer(customer_id):
                raise invalid("the token was issued by another issuer")
            with self._lock:
                verifier = self._verifiers.get(customer_id)
                if verifier is None:
                    verifier = ReplicaTokenVerifier(
                        self.issuer_for(customer_id),
                        self.audience,
                        source=lambda: self.keys.jwks_json(customer_id),
                        dpop_replay=self.dpop_replay,
                    )
                    self._verifiers[customer_id] = verifier
        verifier.keyset.sync()
        return verifier

    def verify(
        self, token: str, *, dpop: DPoPContext | None = None, certificate: bytes | None = None
    ) -> dict[str, Any]:
        """Signature, claims and key binding (not the standing); :class:`InvalidToken` if they
        fail."""
        verifier = self.verifier(_peek_seen(token))
        try:
            return verifier.verify(token, dpop=dpop, certificate=certificate)
        except KeySetUnavailable:
            raise invalid("the token is signed with an unknown key") from None

    def verify_unbound(self, token: str) -> dict[str, Any]:
        """Signature and claims, not asking a bound token for its proof or certificate."""
        verifier = self.verifier(_peek_seen(token))
        try:
            return verifier.verify_unbound(token)
        except KeySetUnavailable:
            raise invalid("the token is signed with an unknown key") from None

    def check(self, token: str) -> CheckedToken:
        """Signature, claims and standing; a bound token's proof is not asked for."""
        claims = self.verify_unbound(token)
        return CheckedToken(claims, check_standing(self.standing, claims))
