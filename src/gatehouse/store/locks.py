"""A database-wide lock that one process at a time holds: a PostgreSQL advisory lock, or a file
lock beside an SQLite database (an in-memory one has a single process anyway)."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from gatehouse.store.store import Store


@contextlib.contextmanager
def try_lock(store: Store, *, key: int, name: str) -> Iterator[bool]:
    """Hold the lock ``key`` (PostgreSQL) or ``{database}.{name}.lock`` (SQLite) for the block,
    if no other process holds it; yields whether this one does. Never waits."""
    engine = store.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()
            try:
                yield held
            finally:
                if held:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield True
        return
    with Path(f"{database}.{name}.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
