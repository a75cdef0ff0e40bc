"""Schema migrations: idempotent, safe when several processes migrate one fresh database at once,
and SQLite runs in WAL mode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect, text

from gatehouse.store.engine import create_store_engine, head_revision, migrate
from gatehouse.store.store import Store

TABLES = {
    "alembic_version",
    "api_grants",
    "app_client_corpus_roles",
    "apis",
    "app_clients",
    "audit_events",
    "change_readers",
    "changes",
    "client_registrations",
    "console_results",
    "console_sessions",
    "console_users",
    "corpora",
    "customers",
    "dpop_proofs",
    "federated_credentials",
    "initial_access_tokens",
    "key_check",
    "master_key_state",
    "revoked_tokens",
    "signing_keys",
    "used_assertions",
}

# A migrator process: imports and connects, says "ready", then migrates when told "go", so the
# processes really race on the fresh database.
MIGRATOR = """
import sys
from gatehouse.store.engine import create_store_engine, head_revision, migrate
engine = create_store_engine(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
migrate(engine)
engine.dispose()
print("migrated", flush=True)
"""


def schema_of(url: str) -> tuple[set[str], list[str]]:
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            versions = [
                row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))
            ]
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    return tables, versions


def test_migrate_creates_the_schema_once_and_again_is_a_no_op(database_url: str) -> None:
    engine = create_store_engine(database_url)
    try:
        migrate(engine)
        store = Store(engine)
        store.create_customer(customer_id="acme", name="Acme")
        migrate(engine)
        migrate(engine)
        assert store.get_customer(customer_id="acme").name == "Acme"
        assert store.latest_change_id() == 1
    finally:
        engine.dispose()
    tables, versions = schema_of(database_url)
    assert tables == TABLES
    assert versions == [head_revision()]


def test_three_processes_migrating_one_fresh_database_at_once_all_succeed(
    database_url: str,
) -> None:
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATOR, database_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline() == b"ready\n"
    results = [process.communicate(b"go\n", timeout=60) for process in processes]
    codes = [process.returncode for process in processes]
    assert codes == [0, 0, 0], [err.decode() for _, err in results]
    assert [out for out, _ in results] == [b"migrated\n"] * 3
    tables, versions = schema_of(database_url)
    assert tables == TABLES
    assert versions == [head_revision()]


def test_sqlite_store_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        migrate(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 15000
    finally:
        engine.dispose()
    # The file header's write and read format versions are 2 for a WAL database (persistent).
    assert (tmp_path / "wal.db").read_bytes()[18:20] == b"\x02\x02"
