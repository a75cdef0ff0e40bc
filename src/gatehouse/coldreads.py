"""Cold clients off the event loop: the store reads a cold client needs, made in a small pool of
worker threads while the loop goes on answering hot clients (docs/scale.md "Cold clients off
the event loop").

The loop asks the token endpoint with the replica *deferring* (:meth:`ColdReads.deferring`):
where a request would need a store read, the directory raises
:class:`gatehouse.oauth.directory.ColdClient` instead, and the endpoint answers that request
with a :class:`gatehouse.oauth.endpoint.Parked`. The caller hands the read to
:meth:`ColdReads.read_later` (one flight per ``client_id``: requests for the same cold client
share one read) and, once it is done, asks the endpoint again with what was read *handed* to
the directory, so the second answer needs no read. The read itself is the replica's ordinary
read-through, with its single flight, its per-second budget and its outage rule (a store that
is down is not tried: 503 at once).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import MappingProxyType, TracebackType

from gatehouse.errors import TemporarilyUnavailable
from gatehouse.oauth.directory import ClientEntry, ColdClient
from gatehouse.oauth.endpoint import Parked, Response, TokenEndpoint, TokenRequest

# What a cold read found: the client, None (no such client), or why the store could not answer.
ColdRead = ClientEntry | None | TemporarilyUnavailable
WORKERS = 4  # reads in flight at once per process (each holds a store connection)
_NOTHING: Mapping[str, ColdRead] = MappingProxyType({})


class _Deferral:
    """``with cold.deferring(handed):`` — on this thread, reads are deferred, and ``handed``
    answers the ones already made."""

    __slots__ = ("_handed", "_local")

    def __init__(self, local: threading.local, handed: Mapping[str, ColdRead]) -> None:
        self._local = local
        self._handed = handed

    def __enter__(self) -> None:
        self._local.handed = self._handed

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._local.handed = None


class ColdReads:
    """The worker pool and the flights of one replica."""

    def __init__(self, read: Callable[[ColdClient], ColdRead], *, workers: int = WORKERS) -> None:
        self._read = read
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._deferral = _Deferral(self._local, _NOTHING)
        self._flights: dict[tuple[str, bool], asyncio.Future[ColdRead]] = {}
        self.parked = 0  # requests answered after a read off the loop
        self.shared = 0  # requests that joined a read already in flight

    def deferring(self, handed: Mapping[str, ColdRead] | None = None) -> _Deferral:
        if handed is None:
            return self._deferral
        return _Deferral(self._local, handed)

    def handed(self) -> Mapping[str, ColdRead] | None:
        """None unless this thread is deferring; then the reads handed to it."""
        handed: Mapping[str, ColdRead] | None = getattr(self._local, "handed", None)
        return handed

    def read_later(self, cold: ColdClient) -> asyncio.Future[ColdRead]:
        """The read ``cold`` asks for, made in a worker thread (called on the event loop)."""
        loop = asyncio.get_running_loop()
        key = (cold.client_id, cold.stale is not None)
        flight = self._flights.get(key)
        if flight is not None and flight.get_loop() is loop:
            self.shared += 1
            return flight
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="gatehouse-coldread")
        flight = loop.run_in_executor(self._pool, self._read, cold)
        self._flights[key] = flight

        def landed(done: asyncio.Future[ColdRead]) -> None:
            if self._flights.get(key) is done:
                del self._flights[key]

        flight.add_done_callback(landed)
        return flight

    def answer_again(
        self, endpoint: TokenEndpoint, request: TokenRequest, parked: Parked, read: ColdRead
    ) -> Response:
        """The request asked again with ``read`` handed over; a request that needs yet another
        read (rare: its client changed between the two) is answered with a read on this
        thread, as before deferral existed."""
        self.parked += 1
        with self.deferring({parked.cold.client_id: read}):
            response = endpoint.handle(request)
        if isinstance(response, Parked):
            response = endpoint.handle(request)
        return response

    async def answer(self, endpoint: TokenEndpoint, request: TokenRequest) -> Response:
        """One token request on the event loop (the Starlette route): a cold client is read
        in a worker thread while the loop serves others."""
        with self._deferral:
            response = endpoint.handle(request)
        if not isinstance(response, Parked):
            return response
        try:
            read = await self.read_later(response.cold)
        except Exception:  # an unexpected failure of the read: answer as without deferral
            return endpoint.handle(request)
        return self.answer_again(endpoint, request, response, read)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
