"""Single use of assertion ids (RFC 7523 §3 item 7, ``jti``) across every process: a row in the
store, or a Redis key (``SET NX`` with the assertion's expiry) when ``GATEHOUSE_REDIS_URL`` is
set. Called from a worker thread, never on the event loop."""

from __future__ import annotations

import hashlib
import time

import redis

from gatehouse.store import federated
from gatehouse.store.store import Store

_PRUNE_EVERY = 60.0
_PREFIX = "gatehouse:jti:"


def assertion_key(scope: str, jti: str) -> str:
    """A fixed-size key for the id ``jti`` of one client or one outside issuer."""
    return hashlib.sha256(f"{scope}\x00{jti}".encode()).hexdigest()


class AssertionIds:
    def __init__(self, store: Store, redis_url: str | None = None) -> None:
        self._store = store
        self._redis = (
            redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
            if redis_url
            else None
        )
        self._pruned = time.monotonic()

    def use(self, key: str, expires_at: float) -> bool:
        """True the first time ``key`` is used before ``expires_at``; False for a replay."""
        # Kept a minute past exp: the assertion's checks allow 60 s of clock leeway.
        until = max(expires_at, time.time()) + 60
        if self._redis is not None:
            return bool(self._redis.set(_PREFIX + key, b"1", nx=True, exat=int(until) + 1))
        if time.monotonic() - self._pruned > _PRUNE_EVERY:
            self._pruned = time.monotonic()
            federated.prune_assertion_ids(self._store, before=time.time())
        return federated.use_assertion_id(self._store, key=key, expires_at=until)
