"""ListCorpora requests per second with a Bearer token, next to the same handler without auth.

In-process (the default): the API's ASGI app is called directly (no sockets, no HTTP parser),
so the figure is the API's own cost. "no auth" is the very same app whose bearer check is
replaced by one returning a fixed principal; both get the same request headers (a client's
usual ones and the token), so the difference is the bearer check (header parsing, the
verifier's verified-token cache, the replica checks) in its steady state, one token used
again and again. The collector runs as in the server (frozen after start-up,
``Runtime.start``). Many short rounds alternate to spread machine noise evenly; each reports
its rate and its CPU time per request (``time.process_time``: every thread of the process,
so work sent to the threadpool counts too). The machine is shared: the best round is the
figure, the median and the spread are printed next to it.

End to end (``--e2e``): a real ``gatehouse serve`` process pinned to CPU 0 and ``wrk`` pinned
to CPU 1 (``wrk -t2 -c64``), best of ``--e2e-runs`` runs of ``--e2e-seconds`` each.

    .venv/bin/python bench/api_bench.py [--requests 500] [--rounds 30] [--corpora 10]
    .venv/bin/python bench/api_bench.py --e2e [--e2e-runs 3] [--e2e-seconds 10]
    .venv/bin/python bench/api_bench.py --e2e-only
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.types import ASGIApp, Message

from gatehouse.api import Principal, create_api
from gatehouse.api.bearer import Bearer
from gatehouse.appclients import Actor
from gatehouse.runtime import Runtime
from gatehouse.services import app_clients
from gatehouse.services.customers import create_customer
from gatehouse.services.notify import UNHEARD
from gatehouse.settings import Settings
from gatehouse.store.corpora import CorpusStore

ACTOR = Actor(name="bench", source="bench")
QUERY = b"limit=10"


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
        "query_string": QUERY,
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


@dataclass
class Rounds:
    """Per round: requests per second (wall clock) and CPU microseconds per request."""

    rates: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)

    def line(self, name: str) -> str:
        rates = sorted(self.rates)
        cpu = sorted(self.cpu_us)
        return (
            f"  {name:8} req/s      min {rates[0]:6.0f}  median {statistics.median(rates):6.0f}"
            f"  max {rates[-1]:6.0f}\n"
            f"  {name:8} CPU us/req min {cpu[0]:6.1f}  median {statistics.median(cpu):6.1f}"
            f"  max {cpu[-1]:6.1f}"
        )

    @property
    def best_rate(self) -> float:
        return max(self.rates)

    @property
    def best_cpu(self) -> float:
        return min(self.cpu_us)


async def one_round(
    app: ASGIApp, headers: list[tuple[bytes, bytes]], requests: int, rounds: Rounds
) -> None:
    assert await call(app, headers) == 200
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        await call(app, headers)
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    rounds.rates.append(requests / wall)
    rounds.cpu_us.append(1e6 * cpu / requests)


class FixedBearer(Bearer):
    """A bearer check that checks nothing: the "no auth" baseline."""

    def __init__(self, settings: Settings, runtime: Runtime, principal: Principal) -> None:
        super().__init__(settings, runtime.replica)
        self.principal = principal

    def authenticate(
        self,
        authorization: Sequence[str],
        *,
        customer_header: str | None = None,
        source: str | None = None,
        dpop: Sequence[str] = (),
        method: str = "GET",
        path: str = "",
        certificate: bytes | None = None,
    ) -> Principal:
        return self.principal


def bearer_check_cpu(bearer: Bearer, token: str, count: int) -> float:
    """CPU microseconds of the bearer check alone: header, verified-token cache, standing."""
    header = [f"Bearer {token}"]
    bearer.authenticate(header)
    start = time.process_time()
    for _ in range(count):
        bearer.authenticate(header, customer_header=None, source="127.0.0.1")
    return 1e6 * (time.process_time() - start) / count


def setup(data_dir: Path, corpora: int) -> tuple[Runtime, str, Principal]:
    settings = Settings(
        data_dir=data_dir,
        master_key=base64.b64encode(os.urandom(32)).decode(),
        public_url="http://bench",
    )
    runtime = Runtime.open(settings)
    create_customer(
        runtime.store,
        runtime.master_key,
        customer_id="bench",
        name="Bench",
        alg="ES256",
        actor="b",
        notify=runtime,
    )
    record, _secret = app_clients.create_client(
        runtime.store,
        runtime.master_key,
        customer_id="bench",
        name="bench",
        api_roles=["owner"],
        keep_secret=False,
        actor=ACTOR,
        notify=UNHEARD,
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


async def in_process(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runtime, token, principal = setup(Path(tmp), args.corpora)
        # The collector as the server runs it after start-up (Runtime.start).
        gc.collect()
        gc.freeze()
        gc.set_threshold(10_000, 20, 20)
        with_auth = create_api(runtime)
        without_auth = create_api(runtime)
        without_auth.state.context.bearer = FixedBearer(runtime.settings, runtime, principal)
        # What a client such as curl or httpx sends; both variants get the very same headers.
        headers = [
            (b"host", b"127.0.0.1:8000"),
            (b"user-agent", b"python-httpx/0.28.1"),
            (b"accept", b"*/*"),
            (b"accept-encoding", b"gzip, deflate"),
            (b"authorization", f"Bearer {token}".encode()),
        ]
        results = {"bearer": Rounds(), "no auth": Rounds()}
        for round_no in range(args.rounds):
            order = [("bearer", with_auth), ("no auth", without_auth)]
            for name, app in order if round_no % 2 == 0 else order[::-1]:
                await one_round(app, headers, args.requests, results[name])
        check_us = bearer_check_cpu(with_auth.state.context.bearer, token, args.requests * 10)
        runtime.close()
    plain, authed = results["no auth"], results["bearer"]
    print(f"ListCorpora in-process, {args.corpora} corpora, limit=10, {args.rounds} rounds")
    for name, rounds in results.items():
        print(rounds.line(name))
    print(
        f"  no auth      best {plain.best_rate:7.0f} req/s (median "
        f"{statistics.median(plain.rates):.0f}), {plain.best_cpu:6.1f} us CPU/req"
    )
    print(
        f"  Bearer token best {authed.best_rate:7.0f} req/s (median "
        f"{statistics.median(authed.rates):.0f}), {authed.best_cpu:6.1f} us CPU/req"
    )
    by_rate = 100 * (1 - authed.best_rate / plain.best_rate)
    by_cpu = 100 * (authed.best_cpu / plain.best_cpu - 1)
    paired = statistics.median(a / p for a, p in zip(authed.cpu_us, plain.cpu_us, strict=True))
    print(f"  bearer overhead: best rates {by_rate:4.1f}%, best CPU {by_cpu:4.1f}%, median CPU")
    print(f"                   ratio of adjacent rounds {100 * (paired - 1):4.1f}%")
    print(f"  bearer check alone: {check_us:.1f} us CPU per request")


# -- end to end ----------------------------------------------------------------------------------

_REQUESTS_PER_SEC = re.compile(r"Requests/sec:\s+([0-9.]+)")


def wrk_rate(url: str, token: str, seconds: int, connections: int) -> tuple[float, str]:
    command = [
        "taskset",
        "-c",
        "1",
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "-H",
        f"Authorization: Bearer {token}",
        url,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 30)
    found = _REQUESTS_PER_SEC.search(out.stdout)
    if found is None or "Non-2xx" in out.stdout:
        raise RuntimeError(f"wrk did not measure 200s:\n{out.stdout}{out.stderr}")
    return float(found.group(1)), out.stdout


def end_to_end(args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        sys.exit("--e2e needs wrk and taskset")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.factories import start_server

    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        try:
            # The server process and all its threads on CPU 0; wrk runs on CPU 1.
            pin = ["taskset", "-a", "-p", "-c", "0", str(server.process.pid)]
            subprocess.run(pin, check=True, capture_output=True)
            demo = server.demo
            with httpx.Client(base_url=server.base_url, timeout=30) as http:
                response = http.post(
                    f"/customers/{demo['customer_id']}/oauth2/token",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": demo["client_id"],
                        "client_secret": demo["client_secret"],
                    },
                )
                response.raise_for_status()
                token = response.json()["access_token"]
                auth = {"Authorization": f"Bearer {token}"}
                for i in range(args.corpora):
                    created = http.post("/v2/corpora", json={"key": f"c{i}"}, headers=auth)
                    assert created.status_code == 201, created.text
                url = f"{server.base_url}/v2/corpora?limit=10"
                assert http.get(url, headers=auth).status_code == 200
            rates = []
            for _ in range(args.e2e_runs):
                rate, _out = wrk_rate(url, token, args.e2e_seconds, args.e2e_connections)
                rates.append(rate)
        finally:
            server.stop()
    print(
        f"ListCorpora end to end (gatehouse serve on CPU 0, wrk -t2 -c{args.e2e_connections} "
        f"on CPU 1), {args.e2e_runs} runs of {args.e2e_seconds}s"
    )
    print("  Bearer token req/s: " + " ".join(f"{r:.0f}" for r in rates))
    print(f"  Bearer token best {max(rates):7.0f} req/s (median {statistics.median(rates):.0f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="requests per round")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--corpora", type=int, default=10)
    parser.add_argument("--e2e", action="store_true", help="also run the end-to-end benchmark")
    parser.add_argument("--e2e-only", action="store_true", help="only the end-to-end benchmark")
    parser.add_argument("--e2e-runs", type=int, default=3)
    parser.add_argument("--e2e-seconds", type=int, default=10)
    parser.add_argument("--e2e-connections", type=int, default=64)
    args = parser.parse_args()
    if not args.e2e_only:
        asyncio.run(in_process(args))
    if args.e2e or args.e2e_only:
        end_to_end(args)


if __name__ == "__main__":
    main()
