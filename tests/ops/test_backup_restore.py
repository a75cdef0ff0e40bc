"""``gatehouse backup`` of a live server under token load, and ``gatehouse restore`` into a new
data directory: the same clients, keys and revocations, served by a new server process."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.runner import Cli
from tests.factories import LiveServer, start_server

CLIENT_QUERY = (
    "SELECT id, client_id, secret_hash, secret_sealed, api_roles, enabled, tokens_revoked_before "
    "FROM app_clients"
)
INTEGRITY = (
    "import sqlite3, sys; "
    "print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])"
)


def _rows(database: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        return sorted(conn.execute(query).fetchall())


def _state(database: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "clients": _rows(database, CLIENT_QUERY),
        "keys": _rows(
            database, "SELECT kid, state, private_key_sealed, public_jwk FROM signing_keys"
        ),
        "revoked": _rows(database, "SELECT jti, client_id, expires_at FROM revoked_tokens"),
        "users": _rows(database, "SELECT email, password_hash FROM console_users"),
    }


class TokenLoad:
    """Threads asking a live server for tokens until stopped; counts what it got."""

    def __init__(self, server: LiveServer, threads: int = 3) -> None:
        self._server = server
        self._stop = threading.Event()
        self.issued = 0
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> TokenLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self) -> None:
        demo = self._server.demo
        with httpx.Client(timeout=10) as http:
            while not self._stop.is_set():
                response = http.post(
                    demo["token_url"],
                    data={"grant_type": "client_credentials"},
                    auth=(demo["client_id"], demo["client_secret"]),
                )
                with self._lock:
                    if response.status_code == 200:
                        self.issued += 1
                    else:
                        self.failures.append(response.text)

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.issued < count:
            assert time.monotonic() < deadline, f"only {self.issued} tokens in {timeout} s"
            time.sleep(0.05)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(tmp_path / "live")
    try:
        yield server
    finally:
        server.stop()


def _token(server: LiveServer, client_id: str, secret: str) -> str:
    response = httpx.post(
        f"{server.base_url}/customers/demo/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _active(server: LiveServer, client_id: str, secret: str, token: str) -> bool:
    response = httpx.post(
        f"{server.base_url}/customers/demo/oauth2/introspect",
        data={"token": token},
        auth=(client_id, secret),
    )
    assert response.status_code == 200, response.text
    active: bool = response.json()["active"]
    return active


def test_backup_under_load_restores_the_same_clients_keys_and_revocations(
    live: LiveServer, tmp_path: Path
) -> None:
    demo = live.demo
    owner = (demo["client_id"], demo["client_secret"])
    other = live.cli(
        "clients", "create", "--customer", "demo", "--name", "other", "--role", "viewer"
    )
    kept = _token(live, *owner)
    revoked = _token(live, *owner)
    response = httpx.post(
        f"{live.base_url}/customers/demo/oauth2/revoke", data={"token": revoked}, auth=owner
    )
    assert response.status_code == 200
    cut_off = _token(live, other["client_id"], other["client_secret"])
    live.cli("clients", "revoke-tokens", other["id"], "--customer", "demo")
    live.cli("keys", "rotate", "--customer", "demo")

    live_db = Path(live.env["GATEHOUSE_DATA_DIR"]) / "gatehouse.db"
    backup_file = tmp_path / "backups" / "gatehouse-backup.db"
    backup_file.parent.mkdir()
    with TokenLoad(live) as load:
        load.wait_for(50)
        made = live.cli("backup", str(backup_file))
        load.wait_for(load.issued + 20)  # the server kept serving after the backup too
    assert load.failures == []
    assert stat.S_IMODE(backup_file.stat().st_mode) == 0o600
    assert (
        made["customers"],
        made["app_clients"],
        made["signing_keys"],
        made["revoked_tokens"],
    ) == (1, 2, 2, 1)
    backup_state = _state(backup_file)
    assert backup_state == _state(live_db)  # only audit events and last-used times moved on
    assert (
        subprocess.run(
            [
                sys.executable,
                "-c",
                INTEGRITY,
                str(backup_file),
            ],
            capture_output=True,
            check=True,
            text=True,
        ).stdout
        == "ok\n"
    )

    # Restore into a new data directory with the live server's master key.
    key_file = str(Path(live.env["GATEHOUSE_DATA_DIR"]) / "master.key")
    restored_dir = tmp_path / "restored" / "var"
    cli = Cli.from_env(
        {**live.env, "GATEHOUSE_DATA_DIR": str(restored_dir), "GATEHOUSE_MASTER_KEY_FILE": key_file}
    )
    result = cli.json("restore", str(backup_file))
    assert result["database"] == str(restored_dir / "gatehouse.db")
    assert _state(restored_dir / "gatehouse.db") == backup_state
    assert stat.S_IMODE((restored_dir / "gatehouse.db").stat().st_mode) == 0o600
    again = cli.run("restore", str(backup_file))
    assert (again.code, again.stdout) == (1, "")
    assert again.stderr.startswith(f"error: a database exists at {restored_dir / 'gatehouse.db'}")

    live.stop()
    # The same address as before, so the issuer (and the tokens' iss) is the same.
    restored = start_server(
        restored_dir,
        seed_demo=False,
        port=int(live.env["GATEHOUSE_PORT"]),
        GATEHOUSE_MASTER_KEY_FILE=key_file,
    )
    try:
        assert _active(restored, *owner, kept)
        assert not _active(restored, *owner, revoked)
        assert not _active(restored, *owner, cut_off)
        fresh = _token(restored, *owner)
        assert _active(restored, *owner, fresh)
        jwks = httpx.get(f"{restored.base_url}/customers/demo/.well-known/jwks.json").json()
        assert sorted(k["kid"] for k in jwks["keys"]) == sorted(k[0] for k in backup_state["keys"])
        listed = restored.cli("clients", "list", "--customer", "demo")
        assert sorted(c["client_id"] for c in listed["app_clients"]) == sorted(
            [demo["client_id"], other["client_id"]]
        )
    finally:
        restored.stop()


def test_restore_needs_the_backups_master_key_and_backup_refuses_postgresql(
    live: LiveServer, tmp_path: Path
) -> None:
    backup_file = tmp_path / "b.db"
    live.cli("backup", str(backup_file))
    exists = subprocess.run(
        [sys.executable, "-m", "gatehouse", "backup", str(backup_file)],
        env=live.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (exists.returncode, exists.stderr) == (
        1,
        f"error: {backup_file} exists; choose a new file name\n",
    )
    other = Cli(tmp_path / "other" / "var")  # a fresh master key of its own
    wrong = other.run("restore", str(backup_file))
    assert (wrong.code, wrong.stdout) == (1, "")
    assert wrong.stderr == (
        "error: the configured master key does not open this backup; set GATEHOUSE_MASTER_KEY "
        "or GATEHOUSE_MASTER_KEY_FILE to the key it was sealed under\n"
    )
    assert not (tmp_path / "other" / "var" / "gatehouse.db").exists()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database" * 100)
    refused = other.run("restore", str(garbage))
    assert refused.code == 1
    assert refused.stderr.startswith(f"error: {garbage} is not a Gatehouse SQLite backup")
    pg = other.with_settings(database_url="postgresql://postgres@127.0.0.1:5432/gatehouse")
    guidance = pg.run("backup", str(tmp_path / "pg.db"))
    assert (guidance.code, guidance.stdout) == (2, "")
    assert "pg_dump --format=custom" in guidance.stderr
