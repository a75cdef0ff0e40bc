"""The fast lane's batch: the token requests of one event-loop turn, answered together at its end.

Each connection keeps its own queue of parsed token requests; the batch keeps the connections
that have some, in arrival order. At the end of a turn it takes at most ``PER_CONNECTION``
requests from each connection and ``MAX_BATCH`` in all, signs them back to back and writes each
response to its connection. What is left waits for the next turn, so one connection's pipeline
never holds the event loop for more than one turn's worth of signatures, and other connections
are served in between.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

from gatehouse.oauth.endpoint import Response, TokenEndpoint, TokenRequest

# At most this many signatures per loop turn (~50 µs each: a few milliseconds of the loop).
MAX_BATCH = 128
# At most this many of one connection's requests per turn.
PER_CONNECTION = 16


Queued = tuple["Connection", TokenRequest, bool]  # (connection, request, keep-alive)


class Connection(Protocol):
    """What the batch needs of a fast-lane connection."""

    queue: deque[Queued]  # in request order
    in_batch: bool

    def deliver(self, response: Response, keep_alive: bool) -> None: ...


class Batch:
    """One per server (all its connections share it)."""

    def __init__(self, endpoint: TokenEndpoint, loop: asyncio.AbstractEventLoop) -> None:
        self.endpoint = endpoint
        self.loop = loop
        self.waiting: list[Connection] = []
        self.queued = 0  # requests queued on every connection, not answered yet
        self._scheduled = False

    def add(self, connection: Connection, request: TokenRequest, keep_alive: bool) -> None:
        connection.queue.append((connection, request, keep_alive))
        self.queued += 1
        if not connection.in_batch:
            connection.in_batch = True
            self.waiting.append(connection)
        if not self._scheduled:
            self._scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        """Answer one turn's worth: the first requests of every waiting connection."""
        self._scheduled = False
        waiting, leftover = self.waiting, []
        taken: list[Queued] = []
        for connection in waiting:
            queue = connection.queue
            if len(queue) == 1 and len(taken) < MAX_BATCH:  # the usual case: one request
                taken.append(queue.popleft())
            else:
                for _ in range(min(len(queue), PER_CONNECTION, MAX_BATCH - len(taken))):
                    taken.append(queue.popleft())
            if queue:
                leftover.append(connection)
            else:
                connection.in_batch = False
        # Connections that queue more while their answers are written join behind these.
        self.waiting = leftover
        self._answer(taken)
        if self.waiting and not self._scheduled:
            self._scheduled = True
            self.loop.call_soon(self.flush)

    def flush_connection(self, connection: Connection) -> None:
        """Answer everything ``connection`` has queued now (before one of its requests goes the
        ASGI way, or at shutdown), in order."""
        if connection.in_batch:
            connection.in_batch = False
            self.waiting = [c for c in self.waiting if c is not connection]
        taken = list(connection.queue)
        connection.queue.clear()
        self._answer(taken)

    def _answer(self, taken: list[Queued]) -> None:
        if not taken:
            return
        self.queued -= len(taken)
        responses = self.endpoint.handle_batch([request for _, request, _ in taken])
        for (connection, _, keep_alive), response in zip(taken, responses, strict=True):
            connection.deliver(response, keep_alive)
