"""``gatehouse backup`` and ``gatehouse restore``: the SQLite store, copied while it serves."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gatehouse.backup import (
    PG_DUMP_GUIDANCE,
    BackupError,
    BackupInfo,
    backup_sqlite,
    check_master_key,
    inspect_backup,
    restore_sqlite,
)
from gatehouse.cli import datadirs
from gatehouse.cli.common import JsonOpt, emit, fail, key_values, load_settings, open_context

FileArg = Annotated[Path, typer.Argument(help="The backup file.")]
KEY_REMINDER = (
    "the backup is sealed under the master key: keep that key, apart from the backup, "
    "for as long as the backup lives"
)


def _document(info: BackupInfo) -> dict[str, Any]:
    return {
        "file": str(info.path.absolute()),
        "bytes": info.bytes,
        "schema_revision": info.schema_revision,
        "customers": info.customers,
        "app_clients": info.app_clients,
        "signing_keys": info.signing_keys,
        "revoked_tokens": info.revoked_tokens,
    }


def _database() -> Path:
    settings = load_settings()
    database = datadirs.sqlite_path(settings.sqlalchemy_url)
    if database is None:
        fail(PG_DUMP_GUIDANCE, 2)
    return database


def backup(file: FileArg, as_json: JsonOpt = False) -> None:
    """Write a consistent copy of the live SQLite database to FILE (mode 0600)."""
    database = _database()
    if datadirs.is_new(database):
        fail(f"no database at {database}; set GATEHOUSE_DATA_DIR to the server's data directory")
    try:
        info = backup_sqlite(database, file)
    except BackupError as exc:
        fail(str(exc))
    emit(as_json, _document(info), key_values(_document(info)) + f"\nnote: {KEY_REMINDER}")


def restore(file: FileArg, as_json: JsonOpt = False) -> None:
    """Restore FILE into the data directory, which must hold no database yet; the master key
    must be the one the backup was sealed under. The schema is then brought up to date."""
    from gatehouse.masterkey import load_master_key

    settings = load_settings()
    database = _database()
    key_file = settings.master_key_file or settings.data_dir / "master.key"
    if settings.master_key is None and not key_file.exists():
        fail(
            "restore needs the master key the backup was sealed under: set GATEHOUSE_MASTER_KEY "
            f"or GATEHOUSE_MASTER_KEY_FILE, or put it at {key_file}",
            2,
        )
    try:
        inspect_backup(file)
        check_master_key(file, load_master_key(settings))
        info = restore_sqlite(file, database)
    except (OSError, ValueError) as exc:
        fail(f"invalid master key: {exc}", 2)
    except BackupError as exc:
        fail(str(exc))
    open_context().store.engine.dispose()  # migrates a backup of an older version
    emit(as_json, {**_document(info), "database": str(database)}, f"restored into {database}")
