"""A real uvicorn server on a loopback port, run in a thread of the test process, so a test
can choose its HTTP protocol class and look at its connections while it serves."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import uvicorn

from gatehouse.app import create_app
from gatehouse.runtime import Runtime
from tests.factories import free_port

T = TypeVar("T")


class ThreadServer:
    def __init__(self, runtime: Runtime, http: Any, **config: Any) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.config = uvicorn.Config(
            create_app(runtime=runtime),
            host="127.0.0.1",
            port=self.port,
            http=http,
            loop="uvloop",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=10,
            **config,
        )
        self.server = uvicorn.Server(self.config)
        self.server.capture_signals = _no_signals  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def connections(self) -> list[Any]:
        return list(self.server.server_state.connections)

    def start(self) -> None:
        self.thread.start()
        wait_for(lambda: self.server.started, "the server did not start")
        self.loop = self._find_loop()

    def _find_loop(self) -> asyncio.AbstractEventLoop:
        found: list[asyncio.AbstractEventLoop] = []
        for server in self.server.servers:
            found.append(server.get_loop())
        return found[0]

    def call(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the server's event loop and return its result."""
        assert self.loop is not None
        result: list[T] = []
        done = threading.Event()

        def run() -> None:
            try:
                result.append(work())
            finally:
                done.set()

        self.loop.call_soon_threadsafe(run)
        assert done.wait(10), "the server's loop did not run the call"
        return result[0]

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        assert not self.thread.is_alive(), "the server did not stop"

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)


@contextmanager
def _no_signals() -> Iterator[None]:
    yield  # a server in a thread cannot install signal handlers; the test stops it


@contextmanager
def serving(runtime: Runtime, http: Any, **config: Any) -> Iterator[ThreadServer]:
    server = ThreadServer(runtime, http, **config)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def wait_for(condition: Callable[[], object], message: str, timeout: float = 20.0) -> None:
    """Until ``condition()`` holds, or fail after ``timeout`` seconds (a deadline, not a race)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.01)
