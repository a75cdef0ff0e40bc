"""Wake-ups that carry a change from the process that made it to every other process at once.

The replica polls the change feed every ``GATEHOUSE_CHANGE_POLL_INTERVAL`` seconds anyway (the
only way on SQLite without Redis). On PostgreSQL, every change is followed by
``NOTIFY gatehouse_changes`` in the same transaction (delivered on commit); a listener thread
holds a ``LISTEN`` connection and wakes the replica. With ``GATEHOUSE_REDIS_URL``, a process
also publishes on a Redis channel after each write it makes, and a subscriber thread in every
process wakes its replica. A wake-up only makes the replica read the feed now; a lost one costs
at most one poll interval.

A change that grants more but that no request can find missing — a longer token lifetime, a new
active signing key — must not wait for the feed: every serving process records in the store the
cursor it has applied (``change_readers``, a heartbeat every second, see
``Replica.report``), and the writer, once its change committed and the wake-ups went out, waits
(:func:`await_readers`, at most five seconds) until every process heard from in the last
:data:`FRESH` seconds has applied it (docs/scale.md "What the feed carries").
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import redis

from gatehouse.settings import Settings
from gatehouse.store.store import Store

log = logging.getLogger(__name__)

PG_CHANNEL = "gatehouse_changes"
REDIS_CHANNEL = "gatehouse:changes"
_WAIT = 0.25  # seconds a listener blocks before it looks at its stop flag
_RETRY = (0.5, 1.0, 2.0, 5.0)  # reconnect back-off
FRESH = 3.0  # seconds: a reader not heard from for longer is taken for stopped or lost
SETTLE_TIMEOUT = 5.0  # seconds a writer waits at most for the readers (a loaded one)
_SETTLE_STEP = 0.005  # seconds between two looks at the readers' cursors


def await_readers(
    store: Store, *, timeout: float = SETTLE_TIMEOUT, except_reader: str | None = None
) -> bool:
    """Wait until every live serving process has applied the changes committed so far (at most
    ``timeout`` seconds); False if one had not by then (it applies them within a second)."""
    change_id = store.latest_change_id()
    deadline = time.monotonic() + timeout
    while store.readers_behind(
        change_id=change_id, seen_since=time.time() - FRESH, except_reader=except_reader
    ):
        if time.monotonic() >= deadline:
            log.warning("a server had not applied change %d after %.1fs", change_id, timeout)
            return False
        time.sleep(_SETTLE_STEP)
    return True


def postgres_dsn(database_url: str) -> str | None:
    """The libpq URL of a PostgreSQL ``GATEHOUSE_DATABASE_URL``; None for SQLite."""
    for prefix in ("postgresql+psycopg://", "postgresql://"):
        if database_url.startswith(prefix):
            return "postgresql://" + database_url.removeprefix(prefix)
    return None


class _Listener:
    """A daemon thread that runs ``listen_once`` again and again, reconnecting on errors."""

    name = "gatehouse-listener"

    def __init__(self, wake: Callable[[], None]) -> None:
        self.wake = wake
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._thread.join(timeout=_WAIT + 5)

    def listen_once(self) -> None:
        raise NotImplementedError  # pragma: no cover

    def _run(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            try:
                self.listen_once()
                failures = 0
            except Exception as exc:  # the server may be away for a while; keep trying
                self.connected.clear()
                delay = _RETRY[min(failures, len(_RETRY) - 1)]
                failures += 1
                log.warning("%s: %s; retrying in %.1fs", self.name, exc.__class__.__name__, delay)
                self.stopping.wait(delay)


class PostgresListener(_Listener):
    name = "gatehouse-pg-listen"

    def __init__(self, dsn: str, wake: Callable[[], None]) -> None:
        super().__init__(wake)
        self.dsn = dsn

    def listen_once(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"LISTEN {PG_CHANNEL}")
            self.connected.set()
            self.wake()  # whatever was announced while we were not listening
            while not self.stopping.is_set():
                for _notify in conn.notifies(timeout=_WAIT, stop_after=1):
                    self.wake()


class RedisListener(_Listener):
    name = "gatehouse-redis-sub"

    def __init__(self, client: redis.Redis, wake: Callable[[], None]) -> None:
        super().__init__(wake)
        self.client = client

    def listen_once(self) -> None:
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        try:
            pubsub.subscribe(REDIS_CHANNEL)
            self.connected.set()
            self.wake()
            while not self.stopping.is_set():
                message: Any = pubsub.get_message(timeout=_WAIT)
                if message is not None:
                    self.wake()
        finally:
            pubsub.close()


class Propagation:
    """The listeners of one process, and the Redis publisher of its own writes."""

    def __init__(self, settings: Settings, wake: Callable[[], None]) -> None:
        self.listeners: list[_Listener] = []
        self._redis: redis.Redis | None = None
        dsn = postgres_dsn(settings.database_url)
        if dsn is not None:
            self.listeners.append(PostgresListener(dsn, wake))
        if settings.redis_url:
            self._redis = redis.Redis.from_url(
                settings.redis_url, socket_timeout=5, socket_connect_timeout=5
            )
            self.listeners.append(RedisListener(self._redis, wake))

    def start(self) -> None:
        for listener in self.listeners:
            listener.start()

    def publish(self) -> None:
        """After a local write: tell the other processes through Redis (PostgreSQL's NOTIFY is
        sent by the store itself, and covers writes made by the CLI too)."""
        if self._redis is None:
            return
        try:
            self._redis.publish(REDIS_CHANNEL, b"1")
        except redis.RedisError as exc:  # the poll still carries the change
            log.warning("cannot publish a change to Redis: %s", exc.__class__.__name__)

    def stop(self) -> None:
        for listener in self.listeners:
            listener.stopping.set()
        for listener in self.listeners:
            listener.stop()
        if self._redis is not None:
            self._redis.close()
