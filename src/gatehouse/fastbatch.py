"""The fast lane's batch: the token requests of one event-loop turn, answered together at its end.

Each connection keeps its own queue of parsed token requests; the batch keeps the connections
that have some, in arrival order. At the end of a turn it takes at most ``PER_CONNECTION``
requests from each connection and ``MAX_BATCH`` in all, signs them back to back and writes each
response to its connection. What is left waits for the next turn, so one connection's pipeline
never holds the event loop for more than one turn's worth of signatures, and other connections
are served in between.

A request whose client is cold is *parked* (docs/scale.md "Cold clients off the event loop"):
its store read is made in a worker thread while the batches go on, and it is answered when the
read lands. A connection's answers leave in request order (HTTP/1.1 pipelining, RFC 9112
§9.3.2): those behind a parked request wait in the connection's ``held`` slots.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

from gatehouse.coldreads import ColdRead, ColdReads
from gatehouse.oauth.endpoint import Parked, Response, TokenEndpoint, TokenRequest

# At most this many signatures per loop turn (~50 µs each: a few milliseconds of the loop).
MAX_BATCH = 128
# At most this many of one connection's requests per turn.
PER_CONNECTION = 16


Queued = tuple["Connection", TokenRequest, bool]  # (connection, request, keep-alive)


class Slot:
    """An answer that waits behind a parked request of its connection (None while parked)."""

    __slots__ = ("keep_alive", "request", "response")

    def __init__(self, request: TokenRequest, response: Response | None, keep_alive: bool) -> None:
        self.request = request
        self.response = response
        self.keep_alive = keep_alive


class Connection(Protocol):
    """What the batch needs of a fast-lane connection."""

    queue: deque[Queued]  # in request order
    in_batch: bool
    held: deque[Slot]  # answered or parked, behind a parked request, in request order

    def deliver(self, response: Response, keep_alive: bool) -> None: ...


class Batch:
    """One per server (all its connections share it)."""

    def __init__(
        self,
        endpoint: TokenEndpoint,
        loop: asyncio.AbstractEventLoop,
        cold: ColdReads | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.loop = loop
        self.cold = cold  # None: a cold client is read on the loop
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
        ASGI way, or at shutdown), in order: a parked request is read on the loop here (the
        ASGI answer must not overtake it)."""
        if connection.in_batch:
            connection.in_batch = False
            self.waiting = [c for c in self.waiting if c is not connection]
        for slot in connection.held:
            if slot.response is None:
                slot.response = self.endpoint.handle(slot.request)
        self._release(connection)
        taken = list(connection.queue)
        connection.queue.clear()
        self._answer(taken, defer=False)

    def _answer(self, taken: list[Queued], *, defer: bool = True) -> None:
        if not taken:
            return
        self.queued -= len(taken)
        requests = [request for _, request, _ in taken]
        cold = self.cold if defer else None
        if cold is None:
            responses = self.endpoint.handle_batch(requests)
        else:
            with cold.deferring():
                responses = self.endpoint.handle_batch(requests)
        for (connection, request, keep_alive), response in zip(taken, responses, strict=True):
            if isinstance(response, Parked) and cold is not None:
                slot = Slot(request, None, keep_alive)
                connection.held.append(slot)
                self._park(cold, connection, slot, response)
            elif connection.held:
                connection.held.append(Slot(request, response, keep_alive))
            else:
                connection.deliver(response, keep_alive)

    def _park(self, cold: ColdReads, connection: Connection, slot: Slot, parked: Parked) -> None:
        def landed(read: asyncio.Future[ColdRead]) -> None:
            if slot.response is not None:
                return  # answered meanwhile (flush_connection)
            if read.cancelled() or read.exception() is not None:
                slot.response = self.endpoint.handle(slot.request)  # as without deferral
            else:
                slot.response = cold.answer_again(
                    self.endpoint, slot.request, parked, read.result()
                )
            self._release(connection)

        cold.read_later(parked.cold).add_done_callback(landed)

    @staticmethod
    def _release(connection: Connection) -> None:
        """Write the answers at the head of ``connection``'s slots, up to a parked one."""
        held = connection.held
        while held and held[0].response is not None:
            slot = held.popleft()
            assert slot.response is not None
            connection.deliver(slot.response, slot.keep_alive)
