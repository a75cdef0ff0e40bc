"""Services run on a fresh, migrated store per test (SQLite and PostgreSQL), with a counting
notifier; a store without a schema stands in for a database that refuses the write."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatehouse.masterkey import MasterKey
from gatehouse.store.engine import create_store_engine
from gatehouse.store.store import Store
from tests.store.conftest import store

__all__ = ["Counter", "broken_store", "master_key", "notifier", "store"]


class Counter:
    """A notifier that counts how often it was told."""

    def __init__(self) -> None:
        self.calls = 0

    def changed(self) -> None:
        self.calls += 1


@pytest.fixture
def notifier() -> Counter:
    return Counter()


@pytest.fixture
def master_key() -> MasterKey:
    return MasterKey.from_bytes(os.urandom(32))


@pytest.fixture
def broken_store(tmp_path: Path) -> Iterator[Store]:
    """A real SQLite database that was never migrated: every statement fails."""
    engine = create_store_engine(f"sqlite:///{tmp_path / 'unmigrated.db'}")
    try:
        yield Store(engine)
    finally:
        engine.dispose()
