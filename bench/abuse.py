"""What an abusive caller can make a server hold: memory, time and file descriptors.

Run: .venv/bin/python bench/abuse.py [--only NAME ...]
Each scenario starts its own ``gatehouse serve`` process on a loopback port (a fresh data
directory: two customers with one client each, and 50,000 corpora for the scan), runs against
it, bounded in count and time, and stops it:

  bearer    4,000 distinct 60 KB bearer values (each a 401)              -> RSS growth
  bodies    three 100 MB JSON bodies with no token                       -> RSS growth
  pipeline  100,000 pipelined token requests on one socket, never read   -> RSS growth
  signin    40 concurrent console sign-ins with unknown emails           -> RSS growth
  scan      4 parallel filtered ListCorpora scans over 50,000 corpora    -> another tenant's
            worst latency while they run
  idle      300 idle sockets                                            -> server descriptors
            while open, and after the idle timeout

Set PYTHONPATH to another checkout's src to measure it instead (the "before" figures).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from gatehouse.appclients import Actor
from gatehouse.runtime import Runtime
from gatehouse.services import app_clients
from gatehouse.services.customers import create_customer
from gatehouse.services.notify import UNHEARD
from gatehouse.settings import Settings
from gatehouse.store import tables as t

ACTOR = Actor(name="bench", source="bench")
CORPORA = 50_000
IDLE_TIMEOUT = 2.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")},
            "GATEHOUSE_DATA_DIR": str(data_dir),
            "GATEHOUSE_PORT": str(self.port),
            "GATEHOUSE_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
            "GATEHOUSE_TIMEOUT_IDLE": str(IDLE_TIMEOUT),
            "GATEHOUSE_LOG_LEVEL": "warning",
        }
        self.settings = Settings(
            data_dir=data_dir,
            master_key=self.env["GATEHOUSE_MASTER_KEY"],
            port=self.port,
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.settings.data_dir / "server.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gatehouse", "serve"], env=self.env, stdout=log, stderr=log
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(20)

    def rss_mb(self) -> float:
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        assert match is not None
        return int(match.group(1)) / 1024

    def descriptors(self) -> int:
        assert self.process is not None
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))


def seed(settings: Settings, corpora: int) -> dict[str, Any]:
    runtime = Runtime.open(settings)
    found: dict[str, Any] = {}
    for customer in ("acme", "globex"):
        create_customer(
            runtime.store,
            runtime.master_key,
            customer_id=customer,
            name=customer,
            alg="ES256",
            actor="bench",
            notify=runtime,
        )
        record, secret = app_clients.create_client(
            runtime.store,
            runtime.master_key,
            customer_id=customer,
            name="bench",
            api_roles=("owner",),
            keep_secret=False,
            actor=ACTOR,
            notify=UNHEARD,
        )
        found[customer] = (record.client_id, secret)
    now = time.time()
    rows = [
        {
            "customer_id": "acme",
            "key": f"corpus-{i:05d}",
            "name": f"Corpus {i}",
            "description": "",
            "enabled": True,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(corpora)
    ]
    if rows:
        with runtime.store.engine.begin() as conn:
            conn.execute(insert(t.corpora), rows)
    runtime.store.engine.dispose()
    return found


def token(server: Server, creds: tuple[str, str], customer: str) -> str:
    response = httpx.post(
        f"{server.base}/customers/{customer}/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": creds[0], "client_secret": creds[1]},
    )
    response.raise_for_status()
    value: str = response.json()["access_token"]
    return value


def growth(server: Server, work: Callable[[], str]) -> str:
    before = server.rss_mb()
    note = work()
    time.sleep(1)  # let the server finish what it was sent
    after = server.rss_mb()
    return f"RSS {before:.0f} -> {after:.0f} MB (+{after - before:.0f}); {note}"


def bearer_flood(server: Server, _creds: dict[str, Any]) -> str:
    def work() -> str:
        statuses: dict[int, int] = {}
        with httpx.Client(base_url=server.base, timeout=30) as http:
            for _ in range(4000):
                value = secrets.token_urlsafe(45_000)
                status = http.get("/v2/corpora", headers={"Authorization": f"Bearer {value}"})
                statuses[status.status_code] = statuses.get(status.status_code, 0) + 1
        return f"statuses {statuses}"

    return growth(server, work)


def big_bodies(server: Server, _creds: dict[str, Any]) -> str:
    def work() -> str:
        statuses = []
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
                sock.sendall(
                    b"POST /v2/corpora HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 104857600\r\n\r\n"
                )
                chunk = b" " * (1 << 20)
                sent = 0
                sock.settimeout(0.5)
                answer = b""
                try:
                    while sent < 100 and not answer:
                        sock.sendall(chunk)
                        sent += 1
                        with contextlib.suppress(TimeoutError):
                            answer = sock.recv(65536)
                except OSError:
                    pass
                sock.settimeout(30)
                answer = answer or sock.recv(65536)
                statuses.append(f"{answer[9:12].decode()} after {sent} MB sent")
        return "; ".join(statuses)

    return growth(server, work)


def unread_pipeline(server: Server, creds: dict[str, Any]) -> str:
    client_id, secret = creds["acme"]
    body = f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}".encode()
    request = (
        b"POST /customers/acme/oauth2/token HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )

    def work() -> str:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.settimeout(15)  # the server stops reading: sendall stalls, then times out
        sent = 0
        try:
            for start in range(0, 100_000, 1000):
                sock.sendall(request * 1000)
                sent = start + 1000
        except OSError:
            pass
        rss = server.rss_mb()
        sock.close()
        return f"{sent:,} of 100,000 requests taken before the server stopped reading, {rss:.0f} MB"

    return growth(server, work)


def signin_burst(server: Server, _creds: dict[str, Any]) -> str:
    def one(i: int) -> int:
        with httpx.Client(base_url=server.base, timeout=60) as http:
            page = http.get("/console/login").text
            match = re.search(r'name="csrf_token" value="([^"]+)"', page)
            assert match is not None
            form = {
                "email": f"ghost{i}@example.com",
                "password": "wrong password!",
                "csrf_token": match.group(1),
            }
            return http.post("/console/login", data=form).status_code

    def work() -> str:
        peak = [server.rss_mb()]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak.append(server.rss_mb())
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        with ThreadPoolExecutor(40) as pool:
            statuses = list(pool.map(one, range(40)))
        done.set()
        sampler.join()
        return f"peak RSS {max(peak):.0f} MB; statuses {sorted(set(statuses))}"

    return growth(server, work)


def scan_stall(server: Server, creds: dict[str, Any]) -> str:
    scanner = token(server, creds["acme"], "acme")
    other = token(server, creds["globex"], "globex")
    running = threading.Event()
    latencies: list[float] = []

    def scan() -> float:
        started = time.perf_counter()
        params = {"filter": "matches-nothing"}
        with httpx.Client(base_url=server.base, timeout=120) as http:
            while True:
                running.set()
                body = http.get(
                    "/v2/corpora", params=params, headers={"Authorization": f"Bearer {scanner}"}
                ).json()
                page_key = body["metadata"]["page_key"]
                if page_key is None:
                    return time.perf_counter() - started
                params["page_key"] = page_key

    with ThreadPoolExecutor(4) as pool:
        scans = [pool.submit(scan) for _ in range(4)]
        running.wait()
        with httpx.Client(base_url=server.base, timeout=30) as http:
            while not all(s.done() for s in scans):
                started = time.perf_counter()
                http.get("/v2/corpora", headers={"Authorization": f"Bearer {other}"})
                latencies.append(time.perf_counter() - started)
        durations = [s.result() for s in scans]
    latencies.sort()
    return (
        f"4 whole scans took {min(durations):.2f}-{max(durations):.2f} s; the other tenant's "
        f"{len(latencies)} requests meanwhile: median {latencies[len(latencies) // 2] * 1000:.1f} "
        f"ms, worst {latencies[-1] * 1000:.1f} ms"
    )


def idle_sockets(server: Server, _creds: dict[str, Any]) -> str:
    before = server.descriptors()
    socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(300)]
    time.sleep(0.5)
    during = server.descriptors()
    deadline = time.monotonic() + IDLE_TIMEOUT + 10
    while server.descriptors() > before + 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    after = server.descriptors()
    closed = 0
    for sock in socks:
        sock.settimeout(0.1)
        with contextlib.suppress(OSError):
            closed += sock.recv(1) == b""
        sock.close()
    return (
        f"descriptors {before} -> {during} with 300 idle sockets -> {after} "
        f"{IDLE_TIMEOUT + 10:.0f} s later at most ({closed} of 300 closed by the server)"
    )


SCENARIOS: dict[str, Callable[[Server, dict[str, Any]], str]] = {
    "bearer": bearer_flood,
    "bodies": big_bodies,
    "pipeline": unread_pipeline,
    "signin": signin_burst,
    "scan": scan_stall,
    "idle": idle_sockets,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), default=None)
    args = parser.parse_args()
    for name in args.only or list(SCENARIOS):
        data_dir = Path(tempfile.mkdtemp(prefix="gatehouse-abuse-"))
        server = Server(data_dir)
        creds = seed(server.settings, CORPORA if name == "scan" else 0)
        server.start()
        try:
            started = time.perf_counter()
            result = SCENARIOS[name](server, creds)
            print(f"{name:9} {result}  [{time.perf_counter() - started:.1f} s]", flush=True)
        finally:
            server.stop()
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
