"""A process keeps at most ``GATEHOUSE_CLIENT_CACHE_SIZE`` clients in memory and reads none at
start-up (docs/scale.md): a real server with a cache of 10 serves 1,000 imported clients, each
twice, every request 200, and never holds more than 10."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import orjson
import pytest

from gatehouse.appclients import Actor
from gatehouse.clientimport import ImportOptions, import_clients
from gatehouse.store.store import Store
from tests.scale.conftest import master_key_of, start_slow

CLIENTS = 1000


def in_memory(http: httpx.Client, base_url: str) -> int:
    metrics = http.get(f"{base_url}/metrics").text
    match = re.search(r"^gatehouse_app_clients (\S+)$", metrics, re.MULTILINE)
    assert match is not None, metrics
    return int(float(match.group(1)))


@pytest.mark.timeout(300)
def test_a_cache_of_10_serves_1000_clients_in_use(
    tmp_path: Path, database_url: str, writer: Store
) -> None:
    server = start_slow(tmp_path, database_url, GATEHOUSE_CLIENT_CACHE_SIZE="10")
    try:
        lines = [
            orjson.dumps(
                {
                    "name": f"tenant {n}",
                    "client_id": f"tenant-{n:05d}-client-id",
                    "client_secret": f"imported-secret-{n:05d}-abcdefgh",
                    "api_roles": ["viewer"],
                }
            )
            for n in range(CLIENTS)
        ]
        options = ImportOptions(customer_id="demo", keep_secret=True, default_lifetime=1800)
        count = import_clients(
            writer, master_key_of(server), lines=lines, options=options, actor=Actor("test")
        )
        assert count == CLIENTS
        statuses: list[int] = []
        with httpx.Client(timeout=10) as http:
            assert in_memory(http, server.base_url) <= 1  # nothing read at start-up but the demo
            for _round in range(2):
                for n in range(CLIENTS):
                    response = http.post(
                        f"{server.base_url}/oauth2/token",
                        data={"grant_type": "client_credentials"},
                        auth=(f"tenant-{n:05d}-client-id", f"imported-secret-{n:05d}-abcdefgh"),
                    )
                    statuses.append(response.status_code)
            held = in_memory(http, server.base_url)
        assert statuses == [200] * (2 * CLIENTS)
        assert 1 <= held <= 10
    finally:
        server.stop()
