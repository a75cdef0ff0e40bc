"""ListCorpora requests per second with a Bearer token, next to the same handler without auth.

In-process: the API's ASGI app is called directly (no sockets, no HTTP parser), so the figure
is the API's own cost. "no auth" is the very same app with the bearer dependency overridden to
return a fixed principal; the difference is the bearer check (header parsing, the verifier's
verified-token cache, the replica checks). Rounds alternate to spread machine noise evenly.

    .venv/bin/python bench/api_bench.py [--requests 2000] [--rounds 5] [--corpora 10]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.types import Message

from gatehouse import appclients
from gatehouse.api import Principal, create_api
from gatehouse.appclients import Actor
from gatehouse.customers import create_customer
from gatehouse.runtime import Runtime
from gatehouse.settings import Settings
from gatehouse.store.corpora import CorpusStore

ACTOR = Actor(name="bench", source="bench")


async def call(app: FastAPI, headers: list[tuple[bytes, bytes]]) -> int:
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


async def rate(app: FastAPI, headers: list[tuple[bytes, bytes]], requests: int) -> float:
    assert await call(app, headers) == 200
    start = time.perf_counter()
    for _ in range(requests):
        await call(app, headers)
    return requests / (time.perf_counter() - start)


def bearer_check_rate(app: FastAPI, token: str, count: int) -> float:
    """The bearer check on its own: header, verified-token cache, replica standing."""
    bearer = app.state.context.bearer
    header = [f"Bearer {token}"]
    bearer.authenticate(header)
    start = time.perf_counter()
    for _ in range(count):
        bearer.authenticate(header, customer_header=None, source="127.0.0.1")
    return count / (time.perf_counter() - start)


def setup(data_dir: Path, corpora: int) -> tuple[Runtime, str, Principal]:
    settings = Settings(
        data_dir=data_dir,
        master_key=base64.b64encode(os.urandom(32)).decode(),
        public_url="http://bench",
    )
    runtime = Runtime.open(settings)
    create_customer(
        runtime.store, runtime.master_key, customer_id="bench", name="Bench", alg="ES256", actor="b"
    )
    record, _secret = appclients.create_client(
        runtime.store,
        runtime.master_key,
        customer_id="bench",
        name="bench",
        api_roles=["owner"],
        keep_secret=False,
        actor=ACTOR,
    )
    runtime.changed()
    store = CorpusStore(runtime.store.engine)
    for i in range(corpora):
        store.insert_corpus(customer_id="bench", key=f"c{i}", name=f"corpus {i}", description="")
    signer = runtime.replica.signer_for("bench")
    assert signer is not None
    now = int(time.time())
    token = signer.sign_jwt(
        {
            "iss": settings.issuer("bench"),
            "sub": record.client_id,
            "client_id": record.client_id,
            "aud": settings.default_audience,
            "iat": now,
            "nbf": now,
            "exp": now + 1800,
            "jti": "bench-token",
            "scope": "owner",
            "customer_id": "bench",
            "token_use": "access",
        }
    )
    principal = Principal(
        customer_id="bench",
        api_roles=frozenset({"owner"}),
        corpus_roles=(),
        app_id=record.id,
        actor=record.id,
    )
    return runtime, token, principal


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--corpora", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runtime, token, principal = setup(Path(tmp), args.corpora)
        with_auth = create_api(runtime)
        without_auth = create_api(runtime)
        context = without_auth.state.context

        async def fixed() -> Principal:
            return principal

        without_auth.dependency_overrides[context.principal] = fixed
        bearer = [(b"authorization", f"Bearer {token}".encode())]
        results: dict[str, list[float]] = {"bearer": [], "no auth": []}
        for round_no in range(args.rounds):
            order = [("bearer", with_auth, bearer), ("no auth", without_auth, [])]
            for name, app, headers in order if round_no % 2 == 0 else order[::-1]:
                results[name].append(await rate(app, headers, args.requests))
        bearer_check = bearer_check_rate(with_auth, token, args.requests * 10)
        runtime.close()
    for name, rates in results.items():
        print(f"  {name:8} rounds: " + " ".join(f"{r:.0f}" for r in rates))
    bearer_rate = statistics.median(results["bearer"])
    plain_rate = statistics.median(results["no auth"])
    print(f"ListCorpora in-process, {args.corpora} corpora, limit=10, median of {args.rounds}")
    print(f"  no auth      {plain_rate:10.0f} req/s")
    print(f"  Bearer token {bearer_rate:10.0f} req/s")
    print(f"  bearer overhead {100 * (1 - bearer_rate / plain_rate):5.1f}%")
    micros = 1e6 / bearer_check
    print(f"  bearer check alone: {bearer_check:.0f}/s ({micros:.1f} us per request)")
    print(f"  = {100 * micros * plain_rate / 1e6:.1f}% of one unauthenticated request's time")


if __name__ == "__main__":
    asyncio.run(main())
