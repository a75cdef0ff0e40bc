"""Engine creation for SQLite (WAL mode) and PostgreSQL (psycopg 3), and schema migrations."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
CONNECT_TIMEOUT = 2  # seconds (libpq connect_timeout)
_PG_MIGRATION_LOCK = 7_262_837_001  # pg_advisory_lock key: one migrator at a time


def create_store_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            make_private(Path(path))
        engine = create_engine(url, connect_args={"timeout": 15, "check_same_thread": False})
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    # A store that cannot be reached fails a read within 2 s (a token request answers 503).
    return create_engine(
        url,
        pool_size=5,
        max_overflow=10,
        pool_pre_ping=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT},
    )


def make_private(database: Path) -> None:
    """The SQLite file and its WAL and SHM files readable by their owner only (0600); SQLite
    gives the WAL and SHM files the database file's mode when it creates them."""
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)


def _configure_sqlite(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


_REVISION = re.compile(r"^(down_revision|revision)\s*=\s*['\"]?([\w]+)['\"]?", re.MULTILINE)


@functools.cache
def known_revisions() -> frozenset[str]:
    """Every revision id of this version's migration scripts."""
    found: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        found.update(v for k, v in _REVISION.findall(script.read_text()) if k == "revision")
    return frozenset(found)


@functools.cache
def head_revision() -> str:
    """The newest revision of the migration scripts, read from the files (no Alembic import)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        for kind, value in _REVISION.findall(script.read_text()):
            if kind == "revision":
                revisions.add(value)
            elif value != "None":
                parents.add(value)
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migrations must have exactly one head, found {sorted(heads)}")
    return heads.pop()


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None for a new database."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe to call from several processes at once."""
    current = current_revision(engine)
    if current == head_revision():
        return  # the usual case: no need to load Alembic at all
    if current is not None and current not in known_revisions():
        # A newer version migrated first (a rolling upgrade, docs/operations.md): its migrations
        # only add, so this version runs on the newer schema as it is.
        log.warning("the database schema %s is newer than this version's; not migrating", current)
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        else:
            # Take SQLite's write lock before reading the schema version, so concurrent migrators
            # run one after another (pysqlite itself begins a transaction only before DML, and a
            # DDL statement would run outside it).
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
