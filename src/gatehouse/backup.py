"""Backup and restore of a SQLite store with SQLite's online backup API: a consistent copy of a
live database (the server keeps serving while it is taken), and a restore into a data directory
that holds no database yet. PostgreSQL is backed up with its own tools (docs/operations.md).

A backup holds private keys and kept secrets sealed under the master key, and nothing opens them
without it: keep the key safe, apart from the backups, and with them for as long as they live.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag

from gatehouse.masterkey import MasterKey

PG_DUMP_GUIDANCE = (
    "this server stores its data in PostgreSQL: back it up with pg_dump, e.g. "
    "pg_dump --format=custom --file gatehouse.dump DATABASE_URL, and restore with "
    "pg_restore --clean --if-exists --dbname DATABASE_URL gatehouse.dump (docs/operations.md)"
)


class BackupError(Exception):
    """What went wrong, in words for the operator."""


@dataclass(frozen=True, slots=True)
class BackupInfo:
    path: Path
    bytes: int
    schema_revision: str
    customers: int
    app_clients: int
    signing_keys: int
    revoked_tokens: int


def backup_sqlite(database: Path, target: Path) -> BackupInfo:
    """Copy the live database at ``database`` to ``target`` (mode 0600), checked for integrity."""
    if not database.exists() or database.stat().st_size == 0:
        raise BackupError(f"no database at {database}")
    if target.exists():
        raise BackupError(f"{target} exists; choose a new file name")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.partial")
    _create_private(temporary)
    try:
        with (
            contextlib.closing(sqlite3.connect(database, timeout=15)) as source,
            contextlib.closing(sqlite3.connect(temporary)) as copy,
        ):
            # One step: a read transaction on one snapshot. In WAL mode writers go on
            # meanwhile (a copy in several steps would restart on every write).
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        info = inspect_backup(temporary)
        os.link(temporary, target)  # never replaces a file that appeared meanwhile
    except FileExistsError:
        raise BackupError(f"{target} exists; choose a new file name") from None
    finally:
        temporary.unlink(missing_ok=True)
    return BackupInfo(target, target.stat().st_size, *_counts_of(info))


def inspect_backup(path: Path) -> BackupInfo:
    """What a backup file holds; a file that is not a sound Gatehouse database is refused."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            if conn.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                raise BackupError(f"{path} fails SQLite's integrity check")
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            counts = [
                conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
                for table in ("customers", "app_clients", "signing_keys", "revoked_tokens")
            ]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a Gatehouse SQLite backup ({exc})") from None
    if revision is None:
        raise BackupError(f"{path} is not a Gatehouse SQLite backup (no schema revision)")
    return BackupInfo(path, path.stat().st_size, str(revision[0]), *counts)


def check_master_key(path: Path, master_key: MasterKey) -> None:
    """Refuse a master key that does not open the backup's signing keys."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        row = conn.execute("SELECT kid, private_key_sealed FROM signing_keys LIMIT 1").fetchone()
    if row is None:
        return
    try:
        master_key.unseal(bytes(row[1]), context=row[0])
    except InvalidTag:
        raise BackupError(
            "the configured master key does not open this backup; set GATEHOUSE_MASTER_KEY or "
            "GATEHOUSE_MASTER_KEY_FILE to the key it was sealed under"
        ) from None


def restore_sqlite(backup: Path, database: Path) -> BackupInfo:
    """Write ``backup`` to ``database``, which must not hold a database yet."""
    info = inspect_backup(backup)
    if database.exists() and database.stat().st_size > 0:
        raise BackupError(
            f"a database exists at {database}; restore into a new data directory (or stop the "
            "servers and move it away first)"
        )
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _create_private(database)
    with (
        contextlib.closing(sqlite3.connect(f"file:{backup}?mode=ro", uri=True)) as source,
        contextlib.closing(sqlite3.connect(database)) as target,
    ):
        source.backup(target)
    return info


def _create_private(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def _counts_of(info: BackupInfo) -> tuple[str, int, int, int, int]:
    return (
        info.schema_revision,
        info.customers,
        info.app_clients,
        info.signing_keys,
        info.revoked_tokens,
    )
