"""The app clients a process keeps in memory: a bounded LRU cache, a negative cache of unknown
``client_id``\\ s, and the per-second budget of store reads that found nothing usable.

A hit is two dictionary operations and no store statement. A miss is read through to the store
by :class:`gatehouse.replica.Replica`; this module only decides whether that read may happen and
remembers what it found. Everything here is bounded: at most ``size`` clients, at most ``size``
unknown ids, at most ``reads_per_second`` fruitless store reads a second (an unauthenticated
caller picks the ``client_id``, so it must not pick how much memory or how many reads it costs).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from gatehouse.oauth.directory import ClientEntry
from gatehouse.store.models import CorpusRole

NEGATIVE_TTL = 5.0  # seconds an unknown client_id is answered from memory
# Fruitless reads may take at most this share of each second, however slow the store is: a slow
# or loaded database must not let a flood of unknown ids stall the event loop.
READ_TIME_SHARE = 0.1


class ClientCache:
    """``client_id`` -> :class:`ClientEntry`, least recently used first out."""

    def __init__(self, *, size: int, reads_per_second: int) -> None:
        self.size = size
        self.reads_per_second = reads_per_second
        # client_id -> entry, least recently used first (read directly by Replica.find_client)
        self.entries: OrderedDict[str, ClientEntry] = OrderedDict()
        self._app_ids: dict[str, str] = {}  # app id -> client_id
        self._corpus_roles: dict[str, tuple[CorpusRole, ...]] = {}  # app id -> roles
        self._unknown: OrderedDict[str, float] = OrderedDict()  # client_id -> until (monotonic)
        self._window = 0  # the second the budget counts in
        self._spent = 0
        self._spent_time = 0.0
        self._lock = threading.Lock()
        self._flights: dict[str, threading.Lock] = {}
        self.reads = 0  # store reads made for misses and rechecks
        self.refused = 0  # misses answered without a read: the budget was spent

    # -- the hot path ----------------------------------------------------------------------------

    def get(self, client_id: str) -> ClientEntry | None:
        entry = self.entries.get(client_id)
        if entry is not None:
            try:  # noqa: SIM105 - contextlib.suppress costs more on the hot path
                self.entries.move_to_end(client_id)
            except KeyError:  # evicted by another thread meanwhile
                pass
        return entry

    # -- reads -----------------------------------------------------------------------------------

    def by_app_id(self, app_id: str) -> ClientEntry | None:
        client_id = self._app_ids.get(app_id)
        return self.entries.get(client_id) if client_id is not None else None

    def corpus_roles(self, app_id: str) -> tuple[CorpusRole, ...]:
        return self._corpus_roles.get(app_id, ())

    def __len__(self) -> int:
        return len(self.entries)

    def is_known_unknown(self, client_id: str) -> bool:
        """Whether a recent store read found no such client (the negative cache)."""
        until = self._unknown.get(client_id)
        if until is None:
            return False
        if until > time.monotonic():
            return True
        self._unknown.pop(client_id, None)
        return False

    # -- the budget ------------------------------------------------------------------------------

    def _turn(self) -> None:
        second = int(time.monotonic())
        if second != self._window:
            self._window, self._spent, self._spent_time = second, 0, 0.0

    def may_read(self) -> bool:
        """Whether a store read for a miss may happen now: fewer than ``reads_per_second``
        fruitless ones so far in this second, which took less than a tenth of it."""
        self._turn()
        if self._spent >= self.reads_per_second or self._spent_time >= READ_TIME_SHARE:
            self.refused += 1
            return False
        return True

    def spend(self, seconds: float = 0.0) -> None:
        """A store read (of ``seconds``) found nothing usable: it counts against this second's
        budget."""
        self._turn()
        self._spent += 1
        self._spent_time += seconds

    @contextmanager
    def flight(self, client_id: str) -> Iterator[None]:
        """One store read per ``client_id`` at a time; later callers wait for the first."""
        with self._lock:
            lock = self._flights.get(client_id)
            if lock is None:
                lock = self._flights[client_id] = threading.Lock()
        with lock:
            try:
                yield
            finally:
                with self._lock:
                    if self._flights.get(client_id) is lock:
                        del self._flights[client_id]

    # -- writes ----------------------------------------------------------------------------------

    def put(self, entry: ClientEntry, corpus_roles: tuple[CorpusRole, ...]) -> None:
        with self._lock:
            old_client_id = self._app_ids.get(entry.id)
            if old_client_id is not None and old_client_id != entry.client_id:
                self.entries.pop(old_client_id, None)
            self.entries[entry.client_id] = entry
            self.entries.move_to_end(entry.client_id)
            self._app_ids[entry.id] = entry.client_id
            self._corpus_roles[entry.id] = corpus_roles
            self._unknown.pop(entry.client_id, None)
            while len(self.entries) > self.size:
                _, evicted = self.entries.popitem(last=False)
                self._app_ids.pop(evicted.id, None)
                self._corpus_roles.pop(evicted.id, None)

    def forget(self, app_id: str) -> None:
        """Drop a client (deleted, or changed in a way that must be read again)."""
        with self._lock:
            client_id = self._app_ids.pop(app_id, None)
            self._corpus_roles.pop(app_id, None)
            if client_id is not None:
                self.entries.pop(client_id, None)

    def remember_unknown(self, client_id: str) -> None:
        with self._lock:
            self._unknown[client_id] = time.monotonic() + NEGATIVE_TTL
            self._unknown.move_to_end(client_id)
            while len(self._unknown) > self.size:
                self._unknown.popitem(last=False)

    def forget_unknown(self) -> None:
        """A client was created or imported somewhere: unknown ids may exist now."""
        with self._lock:
            self._unknown.clear()

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()
            self._app_ids.clear()
            self._corpus_roles.clear()
            self._unknown.clear()
