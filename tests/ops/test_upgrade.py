"""Rolling upgrades: a process whose migrations are older than the database's schema (a newer
version migrated first) serves on that schema as it is, with a warning, instead of refusing to
start; migrations only add, so the older code finds everything it reads."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from gatehouse.runtime import Runtime
from gatehouse.store.engine import create_store_engine, current_revision, migrate
from tests.conftest import make_settings
from tests.factories import add_client, add_customer


def test_an_older_version_runs_on_a_newer_schema(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_store_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        migrate(engine)
        with engine.begin() as conn:  # what a newer version's first process leaves behind
            conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
        with caplog.at_level(logging.WARNING, logger="gatehouse.store.engine"):
            migrate(engine)
        assert current_revision(engine) == "9999_future"
    finally:
        engine.dispose()
    assert [r.getMessage() for r in caplog.records] == [
        "the database schema 9999_future is newer than this version's; not migrating"
    ]
    runtime = Runtime.open(make_settings(tmp_path, database_url=database_url))
    try:
        add_customer(runtime)
        record, _secret = add_client(runtime)
        assert runtime.store.get_client(app_id=record.id).client_id == record.client_id
    finally:
        runtime.store.engine.dispose()
