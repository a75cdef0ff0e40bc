"""The bearer check of Gatehouse's own API (RFC 6750 §2.1, §3, §3.1), on ``gatehouse.verify``.

Each customer gets one :class:`~gatehouse.verify.TokenVerifier` whose keys come from this
process's in-memory replica instead of an HTTP fetch of our own JWKS. On top of signature and
claim checks, every request consults the replica (never the database): a token whose client is
deleted or disabled, was issued before the client's ``tokens_revoked_before``, or carries a role
the client no longer has is rejected at once.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from gatehouse.customers import CUSTOMER_ID
from gatehouse.oauth.tokens import jti_issued_at
from gatehouse.replica import Replica
from gatehouse.settings import Settings
from gatehouse.store.models import CorpusRole
from gatehouse.verify.bearer import extract_bearer
from gatehouse.verify.errors import InvalidToken, KeySetUnavailable
from gatehouse.verify.jws import b64url_decode
from gatehouse.verify.keyset import KeySet
from gatehouse.verify.verifier import TokenVerifier


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


def _invalid(description: str) -> InvalidToken:
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


class ReplicaTokenVerifier(TokenVerifier):
    """A :class:`TokenVerifier` whose keys come from :class:`ReplicaKeySet`."""

    keyset: ReplicaKeySet

    def __init__(self, issuer: str, audience: str, *, source: Callable[[], bytes | None]) -> None:
        super().__init__(issuer, audience)
        self.keyset = ReplicaKeySet(
            issuer, algorithms=self.algorithms, source=source, on_keys_removed=self.clear_cache
        )
        self.keyset.sync()


def _peek_customer(token: str) -> str:
    """The ``customer_id`` claim, unverified: it only picks which issuer's verifier to use."""
    parts = token.split(".")
    if len(parts) != 3:
        raise _invalid("the token is not a compact JWS")
    try:
        claims = orjson.loads(b64url_decode(parts[1]))
    except ValueError:
        raise _invalid("the token payload is not base64url JSON") from None
    customer_id = claims.get("customer_id") if isinstance(claims, dict) else None
    if not isinstance(customer_id, str) or CUSTOMER_ID.fullmatch(customer_id) is None:
        raise _invalid("the token was issued by another issuer")
    return customer_id


class Bearer:
    """Turns an ``Authorization`` header into a :class:`Principal`, or raises a VerifyError."""

    def __init__(self, settings: Settings, replica: Replica) -> None:
        self.settings = settings
        self.replica = replica
        self._verifiers: dict[str, ReplicaTokenVerifier] = {}
        self._lock = threading.Lock()

    def _verifier(self, customer_id: str) -> ReplicaTokenVerifier:
        verifier = self._verifiers.get(customer_id)
        if verifier is None:
            if not self.replica.has_customer(customer_id):
                raise _invalid("the token was issued by another issuer")
            with self._lock:
                verifier = self._verifiers.get(customer_id)
                if verifier is None:
                    verifier = ReplicaTokenVerifier(
                        self.settings.issuer(customer_id),
                        self.settings.default_audience,
                        source=lambda: self._jwks(customer_id),
                    )
                    self._verifiers[customer_id] = verifier
        verifier.keyset.sync()
        return verifier

    def _jwks(self, customer_id: str) -> bytes | None:
        keys = self.replica.key_set(customer_id)
        return keys.jwks_json if keys is not None else None

    def authenticate(
        self,
        authorization: Sequence[str],
        *,
        customer_header: str | None = None,
        source: str | None = None,
    ) -> Principal:
        # RFC 6750 §2.1 (header), §3.1 (no credentials / invalid_request / invalid_token).
        token = extract_bearer(authorization)
        verifier = self._verifier(_peek_customer(token))
        try:
            claims = verifier.verify(token)
        except KeySetUnavailable:
            raise _invalid("the token is signed with an unknown key") from None
        return self._principal(claims, customer_header, source)

    def _principal(
        self, claims: dict[str, Any], customer_header: str | None, source: str | None
    ) -> Principal:
        customer_id: str = claims["customer_id"]
        # SPEC §3: a customer-id header, when sent, must match the token's customer.
        if customer_header is not None and customer_header != customer_id:
            raise _invalid("the customer-id header does not match the token")
        entry = self.replica.find_client(claims["client_id"])
        if entry is None or entry.customer_id != customer_id:
            raise _invalid("the token's client no longer exists")
        if not entry.enabled:
            raise _invalid("the token's client is disabled")
        if entry.tokens_revoked_before is not None:
            issued = jti_issued_at(claims["jti"])
            # The jti carries the issue time in microseconds; iat (whole seconds) is the fallback.
            if issued is None:
                issued = float(claims["iat"])
            if issued < entry.tokens_revoked_before:
                raise _invalid("the token has been revoked")
        scope = claims.get("scope", "")
        roles = frozenset(scope.split())
        if not roles <= frozenset(entry.api_roles):
            raise _invalid("the token carries a role its client no longer has")
        return Principal(
            customer_id=customer_id,
            api_roles=roles,
            corpus_roles=self.replica.corpus_roles(entry.id),
            app_id=entry.id,
            actor=entry.id,
            source=source,
        )
