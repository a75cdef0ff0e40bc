"""Several hosts, one of them lost (docs/scale.md): three server processes on one PostgreSQL and
Redis, on loopback ports, under token load spread across them. One is killed with SIGKILL
mid-load: the two others answer every request; a client made through one survivor's API works
on the other at the first request; the lost host, started again, serves the latest state (a
client made and one deleted while it was down) before its /readyz answers 200."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import LiveServer, free_port, redis_url, start_server
from tests.replica.helpers import get_token

REDIS = redis_url()
PACE = 0.005  # seconds between one load thread's requests (load pacing on a shared machine)


@dataclass
class Load:
    """Token requests to one server in a loop, counting answers and failures."""

    server: LiveServer
    client_id: str
    secret: str
    ok: int = 0
    failed: int = 0
    failed_after: list[float] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(timeout=5) as http:
            while not self.stop.is_set():
                try:
                    response = http.post(
                        f"{self.server.base_url}/oauth2/token",
                        data={"grant_type": "client_credentials"},
                        auth=(self.client_id, self.secret),
                    )
                    if response.status_code == 200:
                        self.ok += 1
                        time.sleep(PACE)
                        continue
                except httpx.HTTPError:
                    pass
                self.failed += 1
                self.failed_after.append(time.monotonic())
                time.sleep(PACE)


def host(tmp_path: Path, name: str, database_url: str, key: str, **kw: Any) -> LiveServer:
    data = tmp_path / name
    data.mkdir(exist_ok=True)
    return start_server(
        data,
        GATEHOUSE_DATABASE_URL=database_url,
        GATEHOUSE_REDIS_URL=REDIS,
        GATEHOUSE_MASTER_KEY=key,
        GATEHOUSE_PUBLIC_URL="http://issuer.test",
        GATEHOUSE_BRUTEFORCE_CLIENT_FAILURES="1000000",
        GATEHOUSE_BRUTEFORCE_ADDRESS_FAILURES="1000000",
        **kw,
    )


def restart(server: LiveServer) -> LiveServer:
    """The same host (settings, port) started again; not waited for."""
    log = (server.log_path or Path(os.devnull)).open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "gatehouse", "serve", "--log-level", "warning"],
        env=server.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    return LiveServer(process, server.base_url, server.env, server.demo, server.log_path)


def ready(server: LiveServer) -> bool:
    try:
        return httpx.get(f"{server.base_url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.postgres
@pytest.mark.timeout(240)
def test_three_hosts_one_killed_the_others_answer_everything_and_it_comes_back_current(
    tmp_path: Path, postgres_url: str
) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    a = host(tmp_path, "a", postgres_url, key)
    demo = a.demo
    b = host(tmp_path, "b", postgres_url, key, seed_demo=False)
    c_port = free_port()
    c = host(tmp_path, "c", postgres_url, key, seed_demo=False, port=c_port)
    servers = [a, b, c]
    loads = [Load(s, demo["client_id"], demo["client_secret"]) for s in servers]
    threads = [threading.Thread(target=load.run) for load in loads]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while min(load.ok for load in loads) < 50:  # every host is serving under load
            assert time.monotonic() < deadline
            time.sleep(0.05)
        killed_at = time.monotonic()
        c.process.kill()  # SIGKILL: no graceful shutdown
        c.process.wait()
        before = [load.ok for load in loads]
        while min(loads[0].ok, loads[1].ok) < before[0] + 100:  # survivors keep answering
            assert time.monotonic() < deadline
            time.sleep(0.05)

        with httpx.Client(timeout=10) as http:
            owner = get_token(http, a, demo["client_id"], demo["client_secret"])
            bearer = {"Authorization": f"Bearer {owner['access_token']}"}
            made = http.post(
                f"{a.base_url}/v2/app_clients",
                json={"type": "client_credentials", "name": "made on a", "api_roles": ["viewer"]},
                headers=bearer,
            )
            assert made.status_code == 201, made.text
            new = made.json()
            # Read at once by the other survivor: its first request.
            first_on_b = http.post(
                f"{b.base_url}/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(new["client_id"], new["client_secret"]),
            )
            doomed = http.post(
                f"{b.base_url}/v2/app_clients",
                json={"type": "client_credentials", "name": "deleted while c is down"},
                headers=bearer,
            ).json()
            assert (
                http.delete(
                    f"{b.base_url}/v2/app_clients/{doomed['id']}", headers=bearer
                ).status_code
                == 204
            )

            restarted_at = time.monotonic()
            c = restart(c)
            servers[2] = c
            while not ready(c):
                assert c.process.poll() is None, "the restarted host exited"
                assert time.monotonic() - restarted_at < 120
                time.sleep(0.02)
            time_to_ready = time.monotonic() - restarted_at
            first_on_c = http.post(
                f"{c.base_url}/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(new["client_id"], new["client_secret"]),
            )
            deleted_on_c = http.post(
                f"{c.base_url}/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(doomed["client_id"], doomed["client_secret"]),
            )
    finally:
        for load in loads:
            load.stop.set()
        for thread in threads:
            thread.join(timeout=10)
        for server in servers:
            server.stop()
    lost = [t for t in loads[2].failed_after if t >= killed_at]
    print(
        f"\n[hosts] survivors: {loads[0].ok} + {loads[1].ok} tokens, "
        f"{loads[0].failed + loads[1].failed} failed; killed host: {loads[2].ok} tokens before, "
        f"{len(lost)} requests refused while down; restart to /readyz 200: {time_to_ready:.2f} s"
    )
    assert (loads[0].failed, loads[1].failed) == (0, 0)
    assert loads[2].failed == len(lost)  # the lost host failed nothing before it was killed
    assert first_on_b.status_code == 200, first_on_b.text
    assert first_on_c.status_code == 200, first_on_c.text
    assert deleted_on_c.status_code == 401
