"""Connection limits of the server: how long a connection may take to send a request, and how
many connections a process keeps open.

uvicorn closes a kept-alive connection that sends nothing after a response
(``timeout_keep_alive``), but a connection that never sends a request, or sends half of one,
stays open for good, and each holds a file descriptor. Here every connection of the fast-lane
protocol has a deadline for what it is doing:

- connected, nothing sent yet: ``timeout_idle`` (then closed silently);
- a request's line and headers: ``timeout_headers`` from its first byte;
- its body: ``timeout_body`` more (unless the server itself stopped reading);
- half-closed at shutdown, reading what the client still sends: ``LINGER_SECONDS``.

Past its deadline a connection gets ``408 Request Timeout`` (RFC 9110 §15.5.9) and is closed.
One sweeper per server walks its connections a few times per shortest timeout, so a request
costs no timer of its own. A process keeps at most ``max_connections`` connections open; one
more is answered ``503`` and closed at once (0: the descriptor limit minus a reserve).
"""

from __future__ import annotations

import asyncio
import math
import resource
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from uvicorn.server import ServerState

from gatehouse.settings import Settings

# Descriptors kept for the database, log files and the listening sockets.
_RESERVED_DESCRIPTORS = 64

IDLE, HEAD, BODY, NONE, LINGER = 0, 1, 2, 3, 4
# How long a connection closed at shutdown keeps reading (and dropping) what its client sends.
LINGER_SECONDS = 2.0


def _close_response(status: bytes, body: bytes) -> bytes:
    return (
        b"HTTP/1.1 %s\r\ncontent-type: application/json\r\ncache-control: no-store\r\n"
        b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (status, len(body), body)
    )


TIMED_OUT = _close_response(
    b"408 Request Timeout",
    b'{"error":"invalid_request","error_description":"the request took too long to arrive"}',
)
TOO_MANY = _close_response(
    b"503 Service Unavailable",
    b'{"error":"temporarily_unavailable","error_description":"too many connections"}',
)
BUSY = _close_response(
    b"503 Service Unavailable",
    b'{"error":"temporarily_unavailable","error_description":"too many requests at once"}',
)


@dataclass(frozen=True, slots=True)
class Limits:
    """The connection limits of one server process (from :class:`Settings`)."""

    timeout_idle: float = 10.0
    timeout_headers: float = 10.0
    timeout_body: float = 30.0
    max_connections: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            timeout_idle=settings.timeout_idle,
            timeout_headers=settings.timeout_headers,
            timeout_body=settings.timeout_body,
            max_connections=settings.max_connections or descriptor_budget(),
        )

    def allowance(self, phase: int) -> float:
        """Seconds from the phase's start until its deadline."""
        if phase == IDLE:
            return self.timeout_idle
        if phase == HEAD:
            return self.timeout_headers
        if phase == BODY:
            return self.timeout_headers + self.timeout_body
        if phase == LINGER:
            return LINGER_SECONDS
        return math.inf

    @property
    def sweep_interval(self) -> float:
        shortest = min(self.timeout_idle, self.timeout_headers, self.timeout_body)
        return min(max(shortest / 4, 0.02), 1.0)


def descriptor_budget() -> int:
    """The connections one process can hold: its descriptor limit, less a reserve."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 65536
    return max(soft - _RESERVED_DESCRIPTORS, 16)


class Timed(Protocol):
    """A connection the sweeper watches."""

    def check_deadline(self, now: float) -> None: ...


class Sweeper:
    """Closes the connections of one server that are past their deadline."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        interval: float,
        connections: Callable[[], Iterable[object]],
    ) -> None:
        self.loop = loop
        self.interval = interval
        self.connections = connections
        self.running = False

    def start(self) -> None:
        if not self.running:
            self.running = True
            self.loop.call_later(self.interval, self.sweep)

    def sweep(self) -> None:
        now = self.loop.time()
        watched = [c for c in self.connections() if hasattr(c, "check_deadline")]
        for connection in watched:
            connection.check_deadline(now)
        if watched:
            self.loop.call_later(self.interval, self.sweep)
        else:
            self.running = False


_sweepers: weakref.WeakKeyDictionary[ServerState, Sweeper] = weakref.WeakKeyDictionary()


def sweeper_for(state: ServerState, loop: asyncio.AbstractEventLoop, limits: Limits) -> Sweeper:
    sweeper = _sweepers.get(state)
    if sweeper is None or sweeper.loop is not loop:
        ref = weakref.ref(state)

        def connections() -> list[object]:
            alive = ref()
            return list(alive.connections) if alive is not None else []

        sweeper = _sweepers[state] = Sweeper(loop, limits.sweep_interval, connections)
    return sweeper
