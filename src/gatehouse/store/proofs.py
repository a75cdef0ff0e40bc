"""Single use of DPoP proofs across processes (RFC 9449 §11.1), in the database or in Redis.

The token endpoint asks once per batch of requests (:meth:`first_uses`, one transaction or one
Redis pipeline for all the proofs of an event-loop turn); a proof seen before, by this or any
other process sharing the database or the Redis server, is refused. A key holds the proof's
``jkt`` and ``jti`` and lives for twice the proof window; a proof older than the window is
refused by its ``iat`` anyway, so an expired row never needs to be taken over. Expired rows are
pruned as new ones arrive.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, delete
from sqlalchemy.dialects import postgresql, sqlite

from gatehouse.store import tables as t

_PRUNE_EVERY = 1000  # batches between two deletions of expired rows


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class StoreReplayCache:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING key``: the keys that come back are new."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._batches = 0
        dialect = sqlite if engine.dialect.name == "sqlite" else postgresql
        self._insert: Any = dialect.insert

    def first_use(self, key: str, ttl: float) -> bool:
        return bool(self.first_uses([key], ttl)[0])

    def first_uses(self, keys: Sequence[str], ttl: float) -> list[bool]:
        """For each key, whether this is its first use (in one transaction)."""
        now = time.time()
        digests = [_digest(key) for key in keys]
        rows = [{"key": digest, "expires_at": now + ttl} for digest in dict.fromkeys(digests)]
        statement = (
            self._insert(t.dpop_proofs)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(t.dpop_proofs.c.key)
        )
        self._batches += 1
        with self.engine.begin() as conn:
            if self._batches % _PRUNE_EVERY == 1:
                conn.execute(delete(t.dpop_proofs).where(t.dpop_proofs.c.expires_at < now))
            fresh = set(conn.execute(statement).scalars())
        result = []
        for digest in digests:  # a key twice in one batch: only its first occurrence is new
            result.append(digest in fresh)
            fresh.discard(digest)
        return result


class RedisReplayCache:
    """``SET key 1 NX EX ttl``: only the first setter of a key succeeds."""

    def __init__(self, url: str, *, prefix: str = "gatehouse:dpop:") -> None:
        import redis

        self._redis: Any = redis.Redis.from_url(url)
        self._prefix = prefix

    def first_use(self, key: str, ttl: float) -> bool:
        return self.first_uses([key], ttl)[0]

    def first_uses(self, keys: Sequence[str], ttl: float) -> list[bool]:
        seconds = max(1, int(ttl + 0.999))
        pipeline = self._redis.pipeline(transaction=False)
        for key in keys:
            pipeline.set(self._prefix + _digest(key), b"1", nx=True, ex=seconds)
        return [bool(answer) for answer in pipeline.execute()]
