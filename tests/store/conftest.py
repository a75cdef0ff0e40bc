"""A fresh, migrated store per test, on SQLite and on a fresh PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gatehouse.store.engine import create_store_engine, migrate
from gatehouse.store.store import Store


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    engine = create_store_engine(database_url)
    migrate(engine)
    try:
        yield Store(engine)
    finally:
        engine.dispose()
