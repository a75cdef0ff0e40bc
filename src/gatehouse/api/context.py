"""What every API handler needs: the runtime, the corpus store and the authentication step."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from sqlalchemy import URL
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from gatehouse.api.bearer import Bearer, Principal
from gatehouse.appclients import Actor
from gatehouse.peers import CLIENT_CERT
from gatehouse.runtime import Runtime
from gatehouse.store.corpora import CorpusReader, CorpusStore, read_on
from gatehouse.store.models import AuditEvent

T = TypeVar("T")

# The console's seam: given a request without an Authorization header, return the principal of
# a valid session (cookie plus CSRF token) or None to fall through to the bearer check.
SessionResolver = Callable[[Request], Awaitable[Principal | None]]


@dataclass
class ApiContext:
    runtime: Runtime
    corpora: CorpusStore
    bearer: Bearer
    session: SessionResolver | None = None
    inline_reads: bool = False  # see read
    _own: threading.local = field(default_factory=threading.local, repr=False)

    @classmethod
    def build(cls, runtime: Runtime, *, session: SessionResolver | None = None) -> ApiContext:
        return cls(
            runtime=runtime,
            corpora=CorpusStore(runtime.store.engine),
            bearer=Bearer(runtime.settings, runtime.replica),
            session=session,
            inline_reads=_is_sqlite_file(runtime.store.engine.url),
        )

    async def read(self, work: Callable[[CorpusReader], T], *, single: bool = False) -> T:
        """``work`` with a corpus reader, all its reads in one short transaction (``single``:
        ``work`` runs one statement, which needs no transaction of its own).

        On a SQLite file this runs inline, on the calling thread's own connection: a WAL read
        of one page takes tens of microseconds and never waits for a writer, while a trip to
        the threadpool costs several times that (and the own connection never waits for the
        pool either). A database across a network is read in the threadpool, so a slow round
        trip never holds up the event loop.
        """
        if self.inline_reads:
            connection = self._own_connection()
            with read_on(connection, self.corpora.engine.dialect, single=single) as reader:
                return work(reader)
        return await run_in_threadpool(self._read_pooled, work, single)

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
        return connection

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

    def audit(self, principal: Principal, action: str, target: str, **detail: Any) -> None:
        self.runtime.store.append_audit(
            events=[
                AuditEvent(
                    customer_id=principal.customer_id,
                    at=time.time(),
                    actor=principal.actor,
                    action=action,
                    target=target,
                    source=principal.source,
                    detail=detail,
                )
            ]
        )


def api_context(request: Request) -> ApiContext:
    """The FastAPI dependency naming the context of the API app serving the request: the
    routes are built once per process and shared by every app (see ``create_api``)."""
    context: ApiContext = request.app.state.context
    return context


async def request_principal(request: Request) -> Principal:
    """The FastAPI dependency of every route: who is calling, or a VerifyError."""
    return await api_context(request).principal(request)


def _is_sqlite_file(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")


def actor_of(principal: Principal) -> Actor:
    return Actor(name=principal.actor, source=principal.source)


def json_response(document: Any, *, status_code: int = 200) -> Response:
    return Response(
        orjson.dumps(document),
        status_code=status_code,
        media_type="application/json",
        headers={"cache-control": "no-store"},
    )
