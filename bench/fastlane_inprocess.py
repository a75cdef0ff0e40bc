"""Profile the fast lane without sockets: feed raw HTTP requests to the protocol object.

Run: .venv/bin/python bench/fastlane_inprocess.py [--n 20000] [--profile]
This isolates Gatehouse's per-request CPU cost (HTTP parsing, the token pipeline, signing,
rendering) from the kernel and the load generator; bench/token_endpoint.sh measures end to end.
64 connections each send one request per event-loop turn, so the fast lane answers them in
batches of 64, as under wrk's load.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import os
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from gatehouse.app import create_app
from gatehouse.demo import ensure_demo
from gatehouse.fastlane import FastLaneProtocol
from gatehouse.runtime import Runtime
from gatehouse.settings import Settings

CONNECTIONS = 64  # as many as wrk keeps open in bench/token_endpoint.sh


class Transport(asyncio.Transport):
    """Collects what the protocol writes (a bench harness, not a test double)."""

    def __init__(self) -> None:
        super().__init__()
        self.written = 0
        self.last = b""

    def write(self, data: Any) -> None:
        self.written += 1
        self.last = bytes(data)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def run(n: int, profile: bool) -> None:
    data_dir = Path(tempfile.mkdtemp())
    settings = Settings(data_dir=data_dir, master_key=base64.b64encode(os.urandom(32)).decode())
    runtime = Runtime.open(settings)
    demo = ensure_demo(settings, runtime.store, runtime.master_key)
    runtime.changed()
    app = create_app(runtime=runtime)
    config = uvicorn.Config(app, http=FastLaneProtocol, log_level="warning")
    config.load()
    state = ServerState()
    connections = []
    for _ in range(CONNECTIONS):
        protocol = FastLaneProtocol(config=config, server_state=state, app_state={})
        transport = Transport()
        protocol.connection_made(transport)
        connections.append((protocol, transport))
    body = (
        f"grant_type=client_credentials&client_id={demo['client_id']}"
        f"&client_secret={demo['client_secret']}"
    ).encode()
    request = (
        b"POST /customers/demo/oauth2/token HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )

    async def turns(count: int) -> None:
        """Each connection sends one request, then the loop runs one turn (the batch)."""
        for _ in range(count // CONNECTIONS):
            for protocol, _transport in connections:
                protocol.data_received(request)
            await asyncio.sleep(0)

    await turns(1024)
    runtime.start()  # background threads and the start-up gc.freeze(), as in the server
    for _protocol, transport in connections:
        assert transport.last.startswith(b"HTTP/1.1 200"), transport.last[:200]
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    # Best of ten rounds: the machine is shared, the best round is the least disturbed one.
    rounds = []
    for _ in range(10):
        start, cpu_start = time.perf_counter(), time.thread_time()
        await turns(n // 10)
        rounds.append((time.perf_counter() - start, time.thread_time() - cpu_start))
        runtime.audit.flush()
    elapsed = min(r[0] for r in rounds) * 10
    cpu = min(r[1] for r in rounds) * 10
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
    print(
        f"{n / elapsed:,.0f} requests/s in-process (wall), "
        f"{cpu / n * 1e6:.1f} µs CPU per request ({n / cpu:,.0f}/s of one core)"
    )
    runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    import uvloop

    uvloop.run(run(args.n, args.profile))


if __name__ == "__main__":
    main()
