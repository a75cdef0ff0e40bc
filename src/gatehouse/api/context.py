"""What every API handler needs: the runtime, the corpus store and the authentication step."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from sqlalchemy import URL
from starlette.requests import Request
from starlette.responses import Response

from gatehouse.api.bearer import Bearer, Principal
from gatehouse.appclients import Actor
from gatehouse.errors import NO_STORE
from gatehouse.loopgate import LoopGate
from gatehouse.peers import CLIENT_CERT
from gatehouse.runtime import Runtime
from gatehouse.store.corpora import CorpusReader, CorpusStore, read_on

T = TypeVar("T")

READER_THREADS = 8  # corpus reads at once per process

# Where the API's body limit leaves the principal it authenticated (see gatehouse.api.bodylimit).
PRINCIPAL_SCOPE_KEY = "gatehouse.principal"

# The console's seam: given a request without an Authorization header, return the principal of
# a valid session (cookie plus CSRF token) or None to fall through to the bearer check.
SessionResolver = Callable[[Request], Awaitable[Principal | None]]


@dataclass
class ApiContext:
    runtime: Runtime
    corpora: CorpusStore
    bearer: Bearer
    session: SessionResolver | None = None
    own_connections: bool = False  # see read
    # Filtered scans run one at a time per process (see read).
    scans: LoopGate = field(default_factory=lambda: LoopGate(1), repr=False)
    # The threads corpus reads run on: a plain executor costs a fraction of what Starlette's
    # threadpool (anyio, with its capacity limiter and cancel scopes) costs per call.
    _readers: ThreadPoolExecutor | None = field(default=None, repr=False)
    _own: threading.local = field(default_factory=threading.local, repr=False)
    _connections: list[Any] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def build(cls, runtime: Runtime, *, session: SessionResolver | None = None) -> ApiContext:
        context = cls(
            runtime=runtime,
            corpora=CorpusStore(runtime.store.engine),
            bearer=Bearer(runtime.settings, runtime.replica),
            session=session,
            own_connections=_is_sqlite_file(runtime.store.engine.url),
        )
        runtime.on_close.append(context.close)
        return context

    async def read(
        self, work: Callable[[CorpusReader], T], *, single: bool = False, scan: bool = False
    ) -> T:
        """``work`` with a corpus reader, all its reads in one short transaction (``single``:
        ``work`` runs one statement, which needs no transaction of its own; ``scan``: it
        examines many rows, as a filtered list does, and waits its turn: one scan at a time per
        process, so scanning threads never crowd the event loop out of the GIL).

        Always on a reader thread, never on the event loop: however long one tenant's read
        takes, every other request goes on being served. On a SQLite file each reader thread
        reads on its own connection (a WAL read never waits for a writer, and the own
        connection never waits for the pool).
        """
        if scan:
            async with self.scans.semaphore():
                return await self._read(work, single)
        return await self._read(work, single)

    async def _read(self, work: Callable[[CorpusReader], T], single: bool) -> T:
        read = self._read_own if self.own_connections else self._read_pooled
        readers = self._readers or self._start_readers()
        return await asyncio.get_running_loop().run_in_executor(readers, read, work, single)

    def _start_readers(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._readers is None:
                self._readers = ThreadPoolExecutor(READER_THREADS, "corpus-reader")
            return self._readers

    def _read_own(self, work: Callable[[CorpusReader], T], single: bool) -> T:
        connection = self._own_connection()
        with read_on(connection, self.corpora.engine.dialect, single=single) as reader:
            return work(reader)

    def _read_pooled(self, work: Callable[[CorpusReader], T], single: bool) -> T:
        with self.corpora.reader(single=single) as reader:
            return work(reader)

    def _own_connection(self) -> Any:
        connection = getattr(self._own, "connection", None)
        if connection is None:
            # Set up by the engine (WAL, busy timeout), then kept out of the pool for good:
            # closed when this thread or this context goes.
            connection = self.corpora.engine.raw_connection()
            connection.detach()
            self._own.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def close(self) -> None:
        """Stop the reader threads and close their connections (when the runtime closes)."""
        with self._lock:
            readers, self._readers = self._readers, None
            connections, self._connections = self._connections, []
        if readers is not None:
            readers.shutdown(wait=True)
        for connection in connections:
            connection.close()

    async def principal(self, request: Request) -> Principal:
        """The FastAPI dependency of every route: who is calling, or a VerifyError."""
        authorization = request.headers.getlist("authorization")
        if not authorization and self.session is not None:
            found = await self.session(request)
            if found is not None:
                return found
        client = request.client
        headers = request.headers
        return self.bearer.authenticate(
            authorization,
            customer_header=headers.get("customer-id"),
            source=client.host if client else None,
            dpop=headers.getlist("dpop") if "dpop" in headers else (),
            method=request.method,
            path=request.scope["path"],
            certificate=request.scope.get(CLIENT_CERT),
        )


def api_context(request: Request) -> ApiContext:
    """The FastAPI dependency naming the context of the API app serving the request: the
    routes are built once per process and shared by every app (see ``create_api``)."""
    context: ApiContext = request.app.state.context
    return context


async def request_principal(request: Request) -> Principal:
    """The FastAPI dependency of every route: who is calling, or a VerifyError."""
    found: Principal | None = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if found is not None:
        return found
    return await api_context(request).principal(request)


def _is_sqlite_file(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")


def actor_of(principal: Principal) -> Actor:
    return Actor(name=principal.actor, source=principal.source, roles=principal.api_roles)


def json_response(document: Any, *, status_code: int = 200) -> Response:
    return Response(
        orjson.dumps(document),
        status_code=status_code,
        media_type="application/json",
        headers=dict(NO_STORE),
    )
