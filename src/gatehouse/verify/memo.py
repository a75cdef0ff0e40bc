"""``Memo``: a dict bounded in entries and in bytes, that forgets its oldest entries first.

The verifier and the server's bearer check remember what they concluded about a token string
they have already verified. Each entry is charged a cost in bytes (the caller's estimate of its
key and value); an insert evicts the oldest entries until both bounds hold, so a flood of long
values can never hold more than ``max_bytes``. A lookup is a plain ``dict.get`` on
:attr:`Memo.entries` (hot paths bind it once).
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

__all__ = ["Memo"]


class Memo(Generic[K, V]):
    """At most ``max_entries`` entries costing at most ``max_bytes`` together."""

    def __init__(self, *, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.entries: dict[K, V] = {}  # read it freely; write through put/pop/clear
        self._costs: dict[K, int] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def bytes(self) -> int:
        """The summed cost of the entries held."""
        return self._bytes

    def get(self, key: K) -> V | None:
        return self.entries.get(key)

    def put(self, key: K, value: V, cost: int) -> None:
        """Remember ``value`` (an entry costlier than the whole budget is not kept)."""
        if cost > self.max_bytes or self.max_entries <= 0:
            return
        with self._lock:
            self._drop(key)
            entries = self.entries
            while entries and (
                len(entries) >= self.max_entries or self._bytes + cost > self.max_bytes
            ):
                self._drop(next(iter(entries)))
            entries[key] = value
            self._costs[key] = cost
            self._bytes += cost

    def pop(self, key: K) -> None:
        with self._lock:
            self._drop(key)

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()
            self._costs.clear()
            self._bytes = 0

    def _drop(self, key: K) -> None:
        if self.entries.pop(key, _MISSING) is not _MISSING:
            self._bytes -= self._costs.pop(key)


_MISSING = object()
