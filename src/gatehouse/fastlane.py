"""The fast lane: uvicorn's httptools protocol, answering token requests without ASGI.

A ``POST`` to a token endpoint path, with no other request of the connection in progress, is
taken from the parser callbacks: the body is collected and the request joins the batch
(:mod:`gatehouse.fastbatch`). At the end of the turn the framework-free
:class:`~gatehouse.oauth.endpoint.TokenEndpoint` answers the batch (signing its tokens back to
back) and each response is written to its connection — no task, no ASGI messages, no router.
Every other request goes through uvicorn's ASGI path unchanged, after the connection's pending
token responses are written, and the ASGI app serves the same token paths with the same
endpoint, so both lanes answer alike.

Flow control, as uvicorn keeps it for its own lane: a connection with more than one response
pending, or whose write buffer is above its high-water mark, is not read until they are
written; a large read is parsed a slice at a time, so what a connection can make the server
hold is one read; ``limit_concurrency`` counts the fast lane's requests too (503 beyond it); at
shutdown every request already received is answered before the connection closes. The
connection limits and deadlines of :mod:`gatehouse.connlimits` apply to both lanes. Only the
parser callbacks, ``data_received``, the keep-alive timer and ``shutdown`` are overridden,
against the uvicorn versions pinned in ``pyproject.toml``.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from gatehouse import connlimits
from gatehouse.coldreads import ColdReads
from gatehouse.connlimits import BODY, HEAD, IDLE, LINGER, NONE, Limits
from gatehouse.endpoints import FastRoutes
from gatehouse.errors import JSON, NO_STORE
from gatehouse.fastbatch import Batch, Queued, Slot
from gatehouse.fastrender import HEADS
from gatehouse.headers import NOSNIFF
from gatehouse.oauth.endpoint import Response, TokenEndpoint
from gatehouse.oauth.params import MAX_BODY
from gatehouse.oauth.request import request_from
from gatehouse.peers import Peers
from gatehouse.refusals import RefusalLog, SampledWarnings
from gatehouse.tls import TLSPeer, fresh_context

log = logging.getLogger("gatehouse.connections")

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# A read larger than this is parsed a slice at a time (see data_received).
_SLICE = 8192
_MAX_HELD = 1024 * 1024
# At shutdown, a connection that sent a token request this recently may still be sending.
_RECENT = 0.5
# Request line and headers together may not exceed this (RFC 9110 §15.5.14 / RFC 6585 §5).
MAX_HEAD = 64 * 1024
_TOO_LARGE_BODY = (
    b'{"error":"invalid_request","error_description":"the request line and headers exceed 64 KiB"}'
)
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    + b"".join(b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in (JSON, *NO_STORE, NOSNIFF))
    + b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_TOO_LARGE_BODY), _TOO_LARGE_BODY)
)


def find_runtime(app: Any) -> Any:
    """The Gatehouse runtime of the app inside uvicorn's middleware wrappers, or None."""
    for _ in range(10):
        runtime = getattr(app, "runtime", None)
        if runtime is not None:
            return runtime
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


# One batch per server (all its connections share it); gone with the server.
_batches: weakref.WeakKeyDictionary[ServerState, Batch] = weakref.WeakKeyDictionary()


def _batch_for(
    state: ServerState,
    endpoint: TokenEndpoint,
    loop: asyncio.AbstractEventLoop,
    cold: ColdReads | None,
) -> Batch:
    batch = _batches.get(state)
    if batch is None or batch.loop is not loop or batch.endpoint is not endpoint:
        batch = _batches[state] = Batch(endpoint, loop, cold)
    return batch


class FastLaneProtocol(HttpToolsProtocol):
    """``uvicorn.Config(http=FastLaneProtocol)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        runtime = find_runtime(self.app)
        self._endpoint: TokenEndpoint | None = runtime.token_endpoint if runtime else None
        self._peers: Peers | None = runtime.peers if runtime is not None else None
        # The endpoint table's token paths (gatehouse.endpoints), the same the ASGI app serves.
        self._routes: FastRoutes = runtime.endpoints.fast if runtime else FastRoutes()
        self._tls: TLSPeer | None = None  # set in connection_made for a TLS connection
        if self.config.ssl is not None and runtime is not None and runtime.trust is not None:
            # Registered self-signed certificates are trusted by the listener (read off the loop).
            runtime.trust.attach(self.config.ssl, fresh_context(self.config))
            runtime.trust.sync()
        cold: ColdReads | None = runtime.replica.cold if runtime is not None else None
        self._batch = (
            _batch_for(self.server_state, self._endpoint, self.loop, cold)
            if self._endpoint
            else None
        )
        self.limits = Limits.from_settings(runtime.settings) if runtime else Limits()
        self._refusals: RefusalLog = runtime.token_endpoint.refusals if runtime else RefusalLog()
        # uvicorn warns once per malformed request or 503: sampled too.
        self.logger = SampledWarnings(self.logger, self._refusals)  # type: ignore[assignment]
        self.queue: deque[Queued] = deque()  # token requests not answered yet
        self.in_batch = False
        self.held: deque[Slot] = deque()  # answers behind a parked (cold) request
        self._lane_paused = False  # reading paused by the fast lane's flow control
        self._held = b""  # the rest of a read, parsed once the pending responses are written
        self._refused = False
        self._phase = IDLE  # what the connection's deadline is for (see check_deadline)
        self._since = 0.0
        self._fast = False
        self._fast_customer: str | None = None
        self._fast_json = False
        self._fast_body = b""
        self._head_size = 0
        # The keep-alive timer of a connection in the fast lane re-arms itself while requests
        # keep coming, instead of one timer being created and cancelled for every request.
        self._lazy_timer = False
        self._active_at = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._since = self.loop.time()
        if len(self.connections) > self.limits.max_connections:
            # One connection too many: its descriptor is given back at once.
            self.transport.write(connlimits.TOO_MANY)
            self.transport.close()
            self._refused_connection("too many connections")
            return
        connlimits.sweeper_for(self.server_state, self.loop, self.limits).start()
        if transport.get_extra_info("ssl_object") is not None:
            self._tls = TLSPeer(transport)

    def check_deadline(self, now: float) -> None:
        """Close the connection if what it is sending is overdue (called by the sweeper)."""
        phase = self._phase
        if phase == NONE or now - self._since < self.limits.allowance(phase):
            return
        if self.transport.is_closing() or (phase == BODY and self.flow.read_paused):
            return  # a body the server itself stopped reading is not the client's delay
        if phase in (HEAD, BODY) and (self.cycle is None or not self.cycle.response_started):
            # RFC 9110 §15.5.9: 408, the server would not wait any longer for the request.
            self.transport.write(connlimits.TIMED_OUT)
        self.transport.close()
        self._refused_connection(("idle", "headers", "body", "", "linger")[phase] + " timeout")

    def _refused_connection(self, reason: str) -> None:
        client = self.client[0] if self.client else ""
        self._refusals.refused("connection", log, "connection closed: %s, from %s", reason, client)

    def data_received(self, data: bytes) -> None:
        if self._phase == LINGER:
            return  # closing: what the client still sends is read and dropped
        if self._lane_paused:
            self._held += data  # read before the pause took effect
            if len(self._held) > _MAX_HELD:
                self.transport.close()  # never more than a few reads held for a connection
        elif len(data) > _SLICE and self._batch is not None:
            self._feed_sliced(data)
        else:
            super().data_received(data)

    def _feed_sliced(self, data: bytes) -> None:
        """Parse ``data`` a slice at a time, holding the rest once the lane pauses reading."""
        for start in range(0, len(data), _SLICE):
            super().data_received(data[start : start + _SLICE])
            if self.parser is None or self.transport.is_closing():
                return
            if self._lane_paused:
                self._held = data[start + _SLICE :]
                return

    def _pause_lane(self) -> None:
        self._lane_paused = True
        self.flow.pause_reading()

    def _resume_lane(self) -> None:
        """Go on reading once every pending response is written and the buffer has room."""
        if self.queue or self.held or self.flow.write_paused or self.transport.is_closing():
            return
        self._lane_paused = False
        held, self._held = self._held, b""
        if held:
            self._feed_sliced(held)
        if not self._lane_paused and (self.cycle is None or self.cycle.response_complete):
            self.flow.resume_reading()

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._lane_paused:
            self._resume_lane()

    def shutdown(self) -> None:
        # Every request already received is answered before the connection closes.
        if self._phase == LINGER:
            return  # already closing
        busy = bool(self.queue or self.held or self._held or self._lane_paused)
        busy = busy or self._phase in (HEAD, BODY)
        self._held = b""
        if (self.queue or self.held) and self._batch is not None:
            self._batch.flush_connection(self)
        recent = self.loop.time() - self._active_at < _RECENT
        if (busy or recent) and (self.cycle is None or self.cycle.response_complete):
            self._linger()  # requests may still be unread: a plain close would reset
            return
        super().shutdown()  # an idle connection closes at once, as uvicorn closes it

    def _linger(self) -> None:
        """Half-close after the last answer, and read and drop until the client closes: closing
        with unread requests would reset the connection and could destroy the answers still in
        flight (a lingering close, as nginx does)."""
        if self.transport.is_closing():
            return
        self._phase, self._since = LINGER, self.loop.time()
        self._lane_paused = False
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self.flow.resume_reading()

    def on_message_begin(self) -> None:
        # uvicorn builds the ASGI scope here; only the ASGI lane needs it (see _begin_asgi).
        self._phase = HEAD
        self._since = self.loop.time()
        self._head_size = 0
        self.url = b""
        self.expect_100_continue = False
        self.headers = []

    def _begin_asgi(self) -> None:
        """What uvicorn's on_message_begin does, for a request that goes the ASGI way."""
        url, headers, expect = self.url, self.headers, self.expect_100_continue
        super().on_message_begin()
        self.url, self.headers, self.expect_100_continue = url, headers, expect
        self.scope["headers"] = headers
        if self._tls is not None:
            self._tls.annotate(self.scope)  # type: ignore[arg-type]

    def on_url(self, url: bytes) -> None:
        if self._count_head(len(url)):
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        # uvicorn's on_header, inlined (it runs for every header of every request).
        self._head_size += len(name) + len(value) + 4
        if self._head_size > MAX_HEAD:
            self._count_head(0)
            return
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def _count_head(self, size: int) -> bool:
        """False once the head is too large: then a 431 is sent and the connection closed."""
        self._head_size += size
        if self._head_size <= MAX_HEAD:
            return True
        if not self.transport.is_closing():
            self.transport.write(_TOO_LARGE)
            self.transport.close()
        return False

    def _route(self, url: bytes) -> bool:
        found = self._routes.match(url)
        if found is None:
            return False
        self._fast_customer, self._fast_json = found
        return True

    def on_headers_complete(self) -> None:
        self._phase = BODY
        if self._head_size > MAX_HEAD:
            self._fast = True  # swallow the body; nothing answers this request again
            self._fast_body = b""
            return
        busy = (self.cycle is not None and not self.cycle.response_complete) or self.pipeline
        if (
            self._endpoint is not None
            and not busy
            and self.parser.get_method() == b"POST"
            and not self.parser.should_upgrade()
            and self._route(self.url)
        ):
            self._fast = True
            self._refused = self.limit_concurrency is not None and self._over_concurrency()
            self._fast_body = b""
            if self.expect_100_continue:
                self.transport.write(_CONTINUE)
            return
        if (self.queue or self.held) and self._batch is not None:
            # Answer this connection's token requests before this one.
            self._batch.flush_connection(self)
        if self._lazy_timer:  # back to uvicorn's own keep-alive handling
            self._lazy_timer = False
            super()._unset_keepalive_if_required()
        self._begin_asgi()
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._fast:
            super().on_body(body)
        elif len(self._fast_body) <= MAX_BODY:
            self._fast_body += body

    def _over_concurrency(self) -> bool:
        """uvicorn's ``limit_concurrency`` test, the fast lane's queued requests counted."""
        limit = self.limit_concurrency
        if limit is None or self._batch is None:
            return False
        busy = len(self.tasks) + self._batch.queued
        return len(self.connections) >= limit or busy >= limit

    def on_message_complete(self) -> None:
        self._phase = NONE
        if not self._fast:
            super().on_message_complete()
            return
        self._fast = False
        if self._head_size > MAX_HEAD:
            return
        if self._refused:
            # limit_concurrency reached: 503 and close, as uvicorn answers on its own lane.
            if (self.queue or self.held) and self._batch is not None:
                self._batch.flush_connection(self)
            if not self.transport.is_closing():
                self.transport.write(connlimits.BUSY)
                self.transport.close()
            return
        assert self._batch is not None
        # A body that may hold an assertion goes the ASGI way: its lane may fetch keys
        # (gatehouse.secretless.endpoint.may_carry_assertion, inlined: this runs per request).
        if b"assertion" in self._fast_body:
            self._to_asgi(self._fast_body)
            return
        client = self.client[0] if self.client else ""
        peer = client
        if self._peers is not None:
            client = self._peers.client_address(peer, self.headers)
        request = request_from(
            "POST",
            self.headers,
            self._fast_body,
            client,
            self._fast_customer,
            self._fast_json,
            self.url.decode("latin-1"),
        )
        if self._tls is not None or self._peers is not None:
            request.client_cert = self._certificate(peer)
        self._fast_body = b""
        keep_alive = self.parser.should_keep_alive()
        self._batch.add(self, request, keep_alive)
        self.server_state.total_requests += 1
        if len(self.queue) + len(self.held) > 1 or self.flow.write_paused:
            self._pause_lane()  # pipelining: no more reads until these are answered
        if not keep_alive:
            return
        self._active_at = self.loop.time()
        if not self._lazy_timer and not self.transport.is_closing():
            super()._unset_keepalive_if_required()
            self._lazy_timer = True
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

    def _to_asgi(self, body: bytes) -> None:
        """Hand a request taken by the fast lane to uvicorn's ASGI path after all, as if it had
        gone that way from its headers on (the body is complete, the 100 Continue sent)."""
        self._fast_body = b""
        if (self.queue or self.held) and self._batch is not None:
            self._batch.flush_connection(self)  # answer this connection's earlier requests first
        if self._lazy_timer:
            self._lazy_timer = False
            super()._unset_keepalive_if_required()
        self.expect_100_continue = False
        self._begin_asgi()
        super().on_headers_complete()
        super().on_body(body)
        super().on_message_complete()

    def _certificate(self, peer: str) -> bytes | None:
        """A trusted proxy's forwarded certificate, else the connection's own."""
        if self._peers is not None:
            forwarded = self._peers.header_certificate(peer, self.headers)
            if forwarded is not None:
                return forwarded
        return self._tls.certificate if self._tls is not None else None

    def deliver(self, response: Response, keep_alive: bool) -> None:
        """Write one answered token request (called by the batch, in request order)."""
        if self.transport.is_closing():
            return
        self.transport.write(self._render(response, keep_alive))
        if not keep_alive:
            self.transport.close()
        elif self._lane_paused and not self.queue and not self.held:
            self._resume_lane()

    def _unset_keepalive_if_required(self) -> None:
        if self._lazy_timer:
            self._active_at = self.loop.time()
        else:
            super()._unset_keepalive_if_required()

    def timeout_keep_alive_handler(self) -> None:
        if self._lazy_timer:
            idle = self.loop.time() - self._active_at
            if self._fast or self.queue or self.held or idle < self.timeout_keep_alive:
                self.timeout_keep_alive_task = self.loop.call_later(
                    max(self.timeout_keep_alive - idle, 0.05), self.timeout_keep_alive_handler
                )
                return
            self._lazy_timer = False
            self.timeout_keep_alive_task = None
        super().timeout_keep_alive_handler()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._lazy_timer:
            self._lazy_timer = False
            super()._unset_keepalive_if_required()
        super().connection_lost(exc)

    def _render(self, response: Response, keep_alive: bool) -> bytes:
        head = HEADS.get(self.server_state.default_headers, response.status, response.headers)
        length = b"content-length: %d\r\n" % len(response.body)
        close = b"" if keep_alive else b"connection: close\r\n"
        return b"".join((head, length, close, b"\r\n", response.body))
