"""Brute-force protection for client authentication (RFC 6749 §2.3.1, §10.10), using ``limits``.

Failures are counted per (address, client_id) and per address in fixed windows; while either
count is over its threshold, token requests from that address (for that client) get 429. Only
addresses that have failed are ever looked up, so a well-behaved request costs one set lookup.
"""

from __future__ import annotations

import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from gatehouse.errors import TooManyRequests


class BruteForceGuard:
    def __init__(
        self,
        *,
        client_failures: int,
        address_failures: int,
        window_seconds: int,
        storage_url: str | None = None,
    ) -> None:
        storage = storage_from_string(storage_url) if storage_url else MemoryStorage()
        if not isinstance(storage, Storage):
            raise TypeError("a synchronous limits storage is required")
        self._limiter = FixedWindowRateLimiter(storage)
        self._per_client = RateLimitItemPerSecond(client_failures, window_seconds)
        self._per_address = RateLimitItemPerSecond(address_failures, window_seconds)
        self._window = window_seconds
        # Addresses that failed recently in this process, with when they last failed.
        self._suspects: dict[str, float] = {}

    def check(self, address: str, client_id: str | None) -> None:
        """Raise :class:`TooManyRequests` while ``address`` (for ``client_id``) is blocked."""
        last = self._suspects.get(address)
        if last is None:
            return
        now = time.time()
        if now - last > self._window:
            del self._suspects[address]
            return
        if not self._limiter.test(self._per_address, "addr", address):
            raise TooManyRequests(
                "too many failed client authentications from this address",
                retry_after=self._retry_after(self._per_address, "addr", address),
            )
        if client_id is not None and not self._limiter.test(
            self._per_client, "client", address, client_id
        ):
            raise TooManyRequests(
                "too many failed authentications for this client from this address",
                retry_after=self._retry_after(self._per_client, "client", address, client_id),
            )

    def record_failure(self, address: str, client_id: str | None) -> None:
        self._suspects[address] = time.time()
        self._limiter.hit(self._per_address, "addr", address)
        if client_id is not None:
            self._limiter.hit(self._per_client, "client", address, client_id)

    def _retry_after(self, item: RateLimitItemPerSecond, *keys: str) -> int:
        reset_at = self._limiter.get_window_stats(item, *keys).reset_time
        return int(reset_at - time.time()) + 1
