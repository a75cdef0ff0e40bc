"""Clients at scale: a server whose store holds 10 to 10⁶ app clients (docs/scale.md).

Run: .venv/bin/python bench/scale_clients.py [--cases sqlite:10,sqlite:10000,...]
     [--duration 5] [--cold 3000] [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

For each case (store kind and client count) it prints one row, in one sitting so rows compare:
- import: ``clients import``'s use-case (gatehouse.clientimport) over N generated JSON lines with
  given client_ids and secrets, clients/s;
- start: ``gatehouse serve`` (one worker, pinned to CPU 0) from spawn to ``/readyz`` 200;
- RSS of the worker after all the load below (VmRSS);
- hot: the demo client's token requests from 64 keep-alive connections for ``--duration`` s,
  by a raw-socket asyncio load generator pinned to CPU 1: tokens/s and p99;
- cold: ``--cold`` imported clients never used before, once each (16 connections): how many got
  200, and p99;
- flood: 10,000 token requests with random unknown client_ids through an in-process runtime on
  the same store (default read budget), and the store statements they caused.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import httpx
import orjson
import psycopg
from sqlalchemy import event

from gatehouse.appclients import Actor
from gatehouse.clientimport import ImportOptions, import_clients
from gatehouse.masterkey import load_master_key
from gatehouse.oauth.endpoint import TokenRequest
from gatehouse.runtime import Runtime
from gatehouse.settings import Settings
from gatehouse.store.engine import create_store_engine, migrate
from gatehouse.store.store import Store

DEFAULT_CASES = "sqlite:10,sqlite:10000,sqlite:1000000,postgresql:10,postgresql:1000000"
CONNECTIONS = 64


def client_id(n: int) -> str:
    return f"bench-client-{n:08d}-of-scale"


def client_secret(n: int) -> str:
    return f"bench-secret-{n:08d}-imported-from-elsewhere"


def lines(count: int) -> Iterator[bytes]:
    for n in range(count):
        yield orjson.dumps(
            {
                "name": f"tenant {n}",
                "client_id": client_id(n),
                "client_secret": client_secret(n),
                "api_roles": ["viewer"],
            }
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def request_bytes(path: str, cid: str, secret: str) -> bytes:
    body = (
        f"grant_type=client_credentials&client_id={quote_plus(cid)}"
        f"&client_secret={quote_plus(secret)}"
    ).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def hot_load(port: int, request: bytes, duration: float) -> tuple[int, int, list[float]]:
    """(requests answered 200, others, latencies in ms) for ``duration`` seconds."""
    ok = bad = 0
    latencies: list[float] = []
    stop_at = time.monotonic() + duration

    async def connection() -> None:
        nonlocal ok, bad
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            status = await _exchange(reader, writer, request)
            latencies.append((time.perf_counter() - started) * 1000)
            if status == 200:
                ok += 1
            else:
                bad += 1
        writer.close()

    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    return ok, bad, latencies


async def cold_load(port: int, requests: list[bytes]) -> tuple[int, list[float]]:
    ok = 0
    latencies: list[float] = []
    queue = list(reversed(requests))

    async def connection() -> None:
        nonlocal ok
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while queue:
            request = queue.pop()
            started = time.perf_counter()
            if await _exchange(reader, writer, request) == 200:
                ok += 1
            latencies.append((time.perf_counter() - started) * 1000)
        writer.close()

    await asyncio.gather(*(connection() for _ in range(16)))
    return ok, latencies


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (the machine is shared: wall time to
    /readyz swings with the neighbours' load, CPU time much less)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Row:
    case: str
    import_rate: float
    import_cpu_rate: float
    start_s: float
    start_cpu: float
    rss: float
    hot_rate: float
    hot_p99: float
    hot_failed: int
    cold_ok: int
    cold_total: int
    cold_p99: float
    flood_statements: int
    flood_s: float

    def render(self) -> str:
        return (
            f"| {self.case} | {self.import_rate:,.0f} / {self.import_cpu_rate:,.0f} | "
            f"{self.start_s:.2f} / {self.start_cpu:.2f} | {self.rss:.0f} | "
            f"{self.hot_rate:,.0f} | {self.hot_p99:.1f} | {self.hot_failed} | "
            f"{self.cold_ok}/{self.cold_total} | {self.cold_p99:.1f} | "
            f"{self.flood_statements} in {self.flood_s:.1f} s |"
        )


def flood(settings: Settings) -> tuple[int, float]:
    runtime = Runtime.open(settings)
    count = 0

    def counted(*_args: Any) -> None:
        nonlocal count
        count += 1

    event.listen(runtime.store.engine, "before_cursor_execute", counted)
    started = time.monotonic()
    for _ in range(100):
        batch = [
            TokenRequest(
                method="POST",
                body=b"grant_type=client_credentials",
                content_type="application/x-www-form-urlencoded",
                authorization="Basic "
                + base64.b64encode(f"{secrets.token_hex(13)}:wrong".encode()).decode(),
                client_addr=f"10.0.{secrets.randbelow(256)}.{secrets.randbelow(256)}",
            )
            for _ in range(100)
        ]
        runtime.token_endpoint.handle_batch(batch)
    elapsed = time.monotonic() - started
    event.remove(runtime.store.engine, "before_cursor_execute", counted)
    runtime.store.engine.dispose()
    return count, elapsed


def run_case(kind: str, count: int, args: argparse.Namespace) -> Row:
    data = Path(tempfile.mkdtemp(prefix="gh-scale-"))
    database_name = f"gh_scale_{os.getpid()}_{count}"
    admin = args.postgres_url
    if kind == "postgresql":
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database_name}"')
            conn.execute(f'CREATE DATABASE "{database_name}"')
        database_url = f"{admin.rsplit('/', 1)[0]}/{database_name}"
    else:
        database_url = f"sqlite:///{data / 'gatehouse.db'}"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
    env.update(
        GATEHOUSE_DATA_DIR=str(data),
        GATEHOUSE_DATABASE_URL=database_url,
        GATEHOUSE_MASTER_KEY=base64.b64encode(os.urandom(32)).decode(),
        GATEHOUSE_HOST="127.0.0.1",
        GATEHOUSE_PORT=str(port),
        GATEHOUSE_BRUTEFORCE_ADDRESS_FAILURES="1000000000",
        GATEHOUSE_BRUTEFORCE_CLIENT_FAILURES="1000000000",
    )
    gatehouse = [sys.executable, "-m", "gatehouse"]
    demo = orjson.loads(
        subprocess.run(
            [*gatehouse, "demo", "--json"], env=env, check=True, capture_output=True
        ).stdout
    )
    settings = Settings(
        data_dir=data,
        database_url=database_url,
        master_key=env["GATEHOUSE_MASTER_KEY"],
        bruteforce_address_failures=10**9,
        bruteforce_client_failures=10**9,
    )
    engine = create_store_engine(settings.sqlalchemy_url)
    migrate(engine)
    options = ImportOptions(customer_id="demo", keep_secret=True, default_lifetime=1800)
    started = time.monotonic()
    cpu_started = time.process_time()
    imported = import_clients(
        Store(engine),
        load_master_key(settings),
        lines=lines(count),
        options=options,
        actor=Actor("bench"),
    )
    import_rate = imported / (time.monotonic() - started)
    import_cpu_rate = imported / (time.process_time() - cpu_started)
    engine.dispose()

    log = (data / "server.log").open("wb")
    started = time.monotonic()
    server = subprocess.Popen(
        ["taskset", "-c", "0", *gatehouse, "serve", "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() - started > 120:
                raise RuntimeError((data / "server.log").read_text())
            time.sleep(0.01)
        start_s = time.monotonic() - started
        start_cpu = cpu_seconds(server.pid)
        os.sched_setaffinity(0, {1})
        path = "/oauth2/token"
        hot = request_bytes(path, demo["client_id"], demo["client_secret"])
        asyncio.run(hot_load(port, hot, 1.0))  # warm-up
        ok, bad, latencies = asyncio.run(hot_load(port, hot, args.duration))
        cold_n = min(args.cold, count)
        cold_requests = [request_bytes(path, client_id(n), client_secret(n)) for n in range(cold_n)]
        cold_ok, cold_latencies = asyncio.run(cold_load(port, cold_requests))
        rss = rss_mib(server.pid)
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    statements, flood_s = flood(settings)
    if kind == "postgresql":
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
    shutil.rmtree(data, ignore_errors=True)
    return Row(
        case=f"{kind}, {count:,} clients",
        import_rate=import_rate,
        import_cpu_rate=import_cpu_rate,
        start_s=start_s,
        start_cpu=start_cpu,
        rss=rss,
        hot_rate=ok / args.duration,
        hot_p99=percentile(latencies, 0.99),
        hot_failed=bad,
        cold_ok=cold_ok,
        cold_total=cold_n,
        cold_p99=percentile(cold_latencies, 0.99),
        flood_statements=statements,
        flood_s=flood_s,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default=DEFAULT_CASES)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--cold", type=int, default=3000)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "GATEHOUSE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    print(
        "| case | import clients/s (wall / CPU) | start to /readyz s (wall / CPU) | RSS MiB "
        "| hot tokens/s | hot p99 ms | hot failed | cold 200 | cold p99 ms "
        "| unknown-id flood: statements |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case in args.cases.split(","):
        kind, count = case.split(":")
        print(run_case(kind, int(count), args).render(), flush=True)


if __name__ == "__main__":
    main()
