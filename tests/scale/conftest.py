"""Fixtures for the scale tests: a real server whose change-feed poll is slow (5 s), so what a
test sees at the next request comes from the read-through, not from the feed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gatehouse.masterkey import MasterKey, load_master_key
from gatehouse.settings import Settings
from gatehouse.store.engine import create_store_engine
from gatehouse.store.store import Store
from tests.factories import LiveServer, start_server

SLOW_POLL = "5"


def start_slow(data_dir: Path, database_url: str, **extra: str) -> LiveServer:
    env: dict[str, Any] = {
        "GATEHOUSE_DATABASE_URL": database_url,
        "GATEHOUSE_CHANGE_POLL_INTERVAL": SLOW_POLL,
        "GATEHOUSE_BRUTEFORCE_CLIENT_FAILURES": "1000000",
        "GATEHOUSE_BRUTEFORCE_ADDRESS_FAILURES": "1000000",
        **extra,
    }
    return start_server(data_dir, **env)


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    live = start_slow(tmp_path, database_url)
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def writer(database_url: str) -> Iterator[Store]:
    """A writer in this test process: another process than the server."""
    engine = create_store_engine(database_url)
    try:
        yield Store(engine)
    finally:
        engine.dispose()


def master_key_of(server: LiveServer) -> MasterKey:
    """The master key the server uses (its data directory's development key)."""
    return load_master_key(Settings(data_dir=Path(server.env["GATEHOUSE_DATA_DIR"])))
