"""Per-client token quotas (SPEC §6): off unless a client has ``token_quota_per_hour`` set.

Counted with ``limits`` in a one-hour moving window, in memory or in Redis when
``GATEHOUSE_REDIS_URL`` is set (then every process shares the count). A client without a quota
costs one attribute check.
"""

from __future__ import annotations

import time

from limits import RateLimitItemPerHour
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from gatehouse.errors import TooManyRequests
from gatehouse.oauth.directory import ClientEntry


class TokenQuota:
    def __init__(self, *, storage_url: str | None = None) -> None:
        storage = storage_from_string(storage_url) if storage_url else MemoryStorage()
        if not isinstance(storage, Storage):
            raise TypeError("a synchronous limits storage is required")
        self._limiter = MovingWindowRateLimiter(storage)
        self._items: dict[int, RateLimitItemPerHour] = {}

    def consume(self, client: ClientEntry) -> None:
        """Count one token for ``client``; :class:`TooManyRequests` once its quota is spent."""
        quota = client.token_quota_per_hour
        if quota is None:
            return
        item = self._items.get(quota)
        if item is None:
            item = self._items[quota] = RateLimitItemPerHour(quota)
        if not self._limiter.hit(item, "quota", client.id):
            reset_at = self._limiter.get_window_stats(item, "quota", client.id).reset_time
            raise TooManyRequests(
                f"this client's quota of {quota} tokens per hour is spent",
                retry_after=int(reset_at - time.time()) + 1,
            )
