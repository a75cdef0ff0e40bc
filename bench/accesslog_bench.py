"""What the access log (``gatehouse.access``, accesslog.py) costs a request on the ASGI path:
ListCorpora with a Bearer token through the whole app, without and with the log, in alternating
rounds (A B A B) in one process. The log is written as in production with
``GATEHOUSE_LOG_FORMAT=json``: one JSON line per request, to a file (``/dev/null`` here).

    .venv/bin/python bench/accesslog_bench.py [--requests 500] [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message

from gatehouse.accesslog import AccessLog
from gatehouse.app import create_app
from gatehouse.appclients import Actor
from gatehouse.logs import JsonFormatter
from gatehouse.runtime import Runtime
from gatehouse.services import app_clients
from gatehouse.services.customers import create_customer
from gatehouse.services.notify import UNHEARD
from gatehouse.settings import Settings


async def call(app: ASGIApp, headers: list[tuple[bytes, bytes]]) -> int:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v2/corpora",
        "raw_path": b"/v2/corpora",
        "root_path": "",
        "query_string": b"limit=10",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    status = 0

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def cpu_per_request(
    app: ASGIApp,
    headers: list[tuple[bytes, bytes]],
    n: int,
    flush: Callable[[], None] | None = None,
) -> float:
    """CPU microseconds per request over ``n`` requests, writing the batched log lines included."""
    assert await call(app, headers) == 200
    if flush is not None:
        flush()
    started = time.process_time()
    for _ in range(n):
        await call(app, headers)
    if flush is not None:
        flush()
    return 1e6 * (time.process_time() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            data_dir=Path(data_dir),
            master_key=base64.b64encode(os.urandom(32)).decode(),
            public_url="http://testserver",
            access_log=False,
        )
        runtime = Runtime.open(settings)
        create_customer(
            runtime.store,
            runtime.master_key,
            customer_id="acme",
            name="Acme",
            alg="ES256",
            actor="bench",
            notify=runtime,
        )
        record, secret = app_clients.create_client(
            runtime.store,
            runtime.master_key,
            customer_id="acme",
            name="bench",
            api_roles=["owner"],
            keep_secret=False,
            actor=Actor(name="bench", source="bench"),
            notify=UNHEARD,
        )
        assert secret is not None  # a client_secret_basic client
        runtime.changed()
        plain = create_app(runtime=runtime)
        with TestClient(plain, base_url="http://testserver") as http:
            token = http.post(
                "/customers/acme/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(record.client_id, secret),
            ).json()["access_token"]
            handler = logging.FileHandler(os.devnull)
            handler.setFormatter(JsonFormatter())
            access = logging.getLogger("gatehouse.access")
            access.addHandler(handler)
            access.setLevel(logging.INFO)
            access.propagate = False
            logged = AccessLog(plain)
            headers = [
                (b"host", b"testserver"),
                (b"accept", b"application/json"),
                (b"authorization", f"Bearer {token}".encode()),
            ]
            without: list[float] = []
            with_log: list[float] = []
            for _ in range(args.rounds):  # A B A B
                without.append(asyncio.run(cpu_per_request(plain, headers, args.requests)))
                with_log.append(
                    asyncio.run(cpu_per_request(logged, headers, args.requests, logged.flush))
                )
        runtime.close()
    a, b = statistics.median(without), statistics.median(with_log)
    print(f"without access log: CPU us/request median {a:.1f}  best {min(without):.1f}")
    print(f"with access log:    CPU us/request median {b:.1f}  best {min(with_log):.1f}")
    print(f"access log cost: {b - a:+.1f} us/request ({100 * (b - a) / a:+.1f} % of the median)")


if __name__ == "__main__":
    main()
