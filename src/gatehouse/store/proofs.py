"""Single use of DPoP proofs across processes (RFC 9449 §11.1), in the database or in Redis.

The token endpoint asks once per batch of requests (:meth:`first_uses`, one statement in one
transaction, or one Redis pipeline, for all the proofs of an event-loop turn); a proof seen
before, by this or any other process sharing the database or the Redis server, is refused. A key
lives for twice the proof window; a proof older than the window is refused by its ``iat``
anyway, so an expired row never needs to be taken over. Expired rows are pruned as new ones
arrive.

The row key is the key's first 8 characters followed by 56 hex digits of the SHA-256 of the
whole key. The token endpoint's keys start with the proof's ``iat`` second in hex
(``gatehouse.oauth.dpop.replay_key``), so a batch's new rows sort together at the end of the
primary-key index instead of landing on as many random index pages as there are proofs (at
5,000 proofs a second the table holds 600,000 live rows; ``bench/README.md``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, delete

from gatehouse.store import tables as t

_PRUNE_EVERY = 1000  # batches between two deletions of expired rows
_PREFIX = 8  # characters of a key kept in front of its digest


def row_key(key: str) -> str:
    """The ``dpop_proofs.key`` of ``key`` (64 characters)."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return key[:_PREFIX].ljust(_PREFIX, "-") + digest[: 64 - _PREFIX]


class StoreReplayCache:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING key``: the keys that come back are new.

    The statement text for each batch size is made once and sent as it is (the token path
    pays no SQL compilation per batch); both SQLite (3.35+) and PostgreSQL accept it.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._batches = 0
        self._marker = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._statements: dict[int, str] = {}

    def _statement(self, rows: int) -> str:
        statement = self._statements.get(rows)
        if statement is None:
            # Only placeholders are spliced in: every value is a bound parameter.
            values = ", ".join([f"({self._marker}, {self._marker})"] * rows)
            statement = self._statements[rows] = (
                f"INSERT INTO dpop_proofs (key, expires_at) VALUES {values} "  # noqa: S608
                "ON CONFLICT (key) DO NOTHING RETURNING key"
            )
        return statement

    def first_use(self, key: str, ttl: float) -> bool:
        return bool(self.first_uses([key], ttl)[0])

    def first_uses(self, keys: Sequence[str], ttl: float) -> list[bool]:
        """For each key, whether this is its first use (in one transaction)."""
        now = time.time()
        expires = now + ttl
        rows = [row_key(key) for key in keys]
        unique = list(dict.fromkeys(rows))
        parameters: list[Any] = []
        for row in unique:
            parameters += (row, expires)
        self._batches += 1
        with self.engine.begin() as conn:
            if self._batches % _PRUNE_EVERY == 1:
                conn.execute(delete(t.dpop_proofs).where(t.dpop_proofs.c.expires_at < now))
            result = conn.exec_driver_sql(self._statement(len(unique)), tuple(parameters))
            fresh = {found for (found,) in result}
        answers = []
        for row in rows:  # a key twice in one batch: only its first occurrence is new
            answers.append(row in fresh)
            fresh.discard(row)
        return answers


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
            digest = hashlib.sha256(key.encode("utf-8")).hexdigest()  # no index to keep in order
            pipeline.set(self._prefix + digest, b"1", nx=True, ex=seconds)
        return [bool(answer) for answer in pipeline.execute()]
