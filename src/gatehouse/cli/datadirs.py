"""The SQLite databases this account has used, so a command run from another folder than usual
says so instead of silently starting a new, empty database with a new master key.

The list lives in ``$XDG_STATE_HOME/gatehouse/databases.json`` (default
``~/.local/state/gatehouse``); it holds absolute paths only, nothing secret.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import orjson

_KEEP = 20  # the most recently used databases remembered


def state_file() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "gatehouse" / "databases.json"


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (absolute), or None for PostgreSQL and memory."""
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if not path or path == ":memory:":
        return None
    return Path(path).absolute()


def is_new(database: Path) -> bool:
    """No database yet (SQLite treats an empty file as a new database)."""
    try:
        return database.stat().st_size == 0
    except FileNotFoundError:
        return True


def known_databases() -> list[Path]:
    """The databases used before that still exist, most recent first."""
    try:
        paths = orjson.loads(state_file().read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return []
    if not isinstance(paths, list):
        return []
    return [Path(p) for p in paths if isinstance(p, str) and not is_new(Path(p))]


def new_database_warning(database: Path) -> str | None:
    """What to tell the user when ``database`` does not exist but others were used before."""
    others = [p for p in known_databases() if p != database]
    if not is_new(database) or not others:
        return None
    listed = ", ".join(str(p) for p in others[:3])
    return (
        f"warning: no database at {database}; creating a new one (with its own master key "
        f"unless one is set). Gatehouse databases used before: {listed}. To use one, run from "
        "its folder or set GATEHOUSE_DATA_DIR to its directory."
    )


def remember(database: Path) -> None:
    """Put ``database`` first in the list; a state directory that cannot be written is ignored."""
    paths = [database, *(p for p in known_databases() if p != database)][:_KEEP]
    target = state_file()
    with contextlib.suppress(OSError):
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}")
        temporary.write_bytes(orjson.dumps([str(p) for p in paths]))
        temporary.replace(target)
