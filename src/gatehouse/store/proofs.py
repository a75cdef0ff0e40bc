"""Single use of DPoP proofs across processes (RFC 9449 §11.1), in the database or in Redis.

The token endpoint asks :meth:`first_use` once per proof that passed every other check; a proof
seen before (by this or any other process sharing the database or the Redis server) is refused.
Entries live for the proof window and are pruned as new ones arrive.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError

from gatehouse.store import tables as t

_PRUNE_EVERY = 1000  # inserts between two deletions of expired rows


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class StoreReplayCache:
    """A proof key is inserted once; the primary key refuses the second insert."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._inserts = 0

    def first_use(self, key: str, ttl: float) -> bool:
        now = time.time()
        self._inserts += 1
        try:
            with self.engine.begin() as conn:
                if self._inserts % _PRUNE_EVERY == 1:
                    conn.execute(delete(t.dpop_proofs).where(t.dpop_proofs.c.expires_at < now))
                conn.execute(insert(t.dpop_proofs).values(key=_digest(key), expires_at=now + ttl))
        except IntegrityError:
            return self._expired_then_taken(key, now, ttl)
        return True

    def _expired_then_taken(self, key: str, now: float, ttl: float) -> bool:
        """A row for the key exists: it is a replay unless that row's window is over."""
        digest = _digest(key)
        try:
            with self.engine.begin() as conn:
                gone = conn.execute(
                    delete(t.dpop_proofs).where(
                        t.dpop_proofs.c.key == digest, t.dpop_proofs.c.expires_at < now
                    )
                ).rowcount
                if not gone:
                    return False
                conn.execute(insert(t.dpop_proofs).values(key=digest, expires_at=now + ttl))
        except IntegrityError:  # another process took the expired key at the same moment
            return False
        return True


class RedisReplayCache:
    """``SET key 1 NX EX ttl``: only the first setter of a key succeeds."""

    def __init__(self, url: str, *, prefix: str = "gatehouse:dpop:") -> None:
        import redis

        self._redis: Any = redis.Redis.from_url(url)
        self._prefix = prefix

    def first_use(self, key: str, ttl: float) -> bool:
        name = self._prefix + _digest(key)
        return bool(self._redis.set(name, b"1", nx=True, ex=max(1, int(ttl + 0.999))))
