"""Crash safety: a server process killed with SIGKILL in the middle of creating clients,
rotating secrets and keys and revoking tokens restarts with a consistent store, on SQLite and on
PostgreSQL — no half-created client, no lost key or secret, no forgotten revocation, no audit
row without its change and no change without its audit row."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import select

from gatehouse.store import tables as t
from gatehouse.store.engine import create_store_engine
from tests.console.forms import form_fields
from tests.factories import LiveServer, start_server

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ENOUGH = 24  # acknowledged writes before the kill
WORKERS = 3


@dataclass
class Acknowledged:
    """What the server answered as done before it died."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    created: dict[str, str] = field(default_factory=dict)  # app id -> client_id
    secrets: dict[str, list[str]] = field(default_factory=dict)  # app id -> secrets, in order
    revoked: list[str] = field(default_factory=list)  # RFC 7009-revoked tokens
    cut_off: list[tuple[str, str]] = field(default_factory=list)  # (app id, a token before)
    keys_rotated: int = 0
    attempts: Counter[str] = field(default_factory=Counter)

    def count(self) -> int:
        with self.lock:
            return (
                len(self.created)
                + sum(len(s) - 1 for s in self.secrets.values())
                + len(self.revoked)
                + len(self.cut_off)
                + self.keys_rotated
            )


def token_of(http: httpx.Client, client_id: str, secret: str) -> httpx.Response:
    return http.post(
        "/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )


def console_session(http: httpx.Client, demo: dict[str, Any]) -> str:
    page = http.get("/console/login")
    match = CSRF.search(page.text)
    assert match is not None
    signed = http.post(
        "/console/login",
        data={
            "email": demo["console_email"],
            "password": demo["console_password"],
            "csrf_token": match.group(1),
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text
    keys = http.get("/console/apiAccess/keys")
    match = CSRF.search(keys.text)
    assert match is not None
    return match.group(1)


def drive(server: LiveServer, done: Acknowledged, stop: threading.Event, worker: int) -> None:
    """Create a client, rotate its secret, revoke a token (RFC 7009), revoke its tokens,
    rotate the signing key (console) — again and again until the server dies."""
    demo = server.demo
    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            owner = token_of(http, demo["client_id"], demo["client_secret"]).json()["access_token"]
            bearer = {"Authorization": f"Bearer {owner}"}
            console_session(http, demo)  # signs in: the console posts below
            round_ = 0
            while not stop.is_set():
                round_ += 1
                done.attempts["create"] += 1
                made = http.post(
                    "/v2/app_clients",
                    json={"name": f"w{worker}-{round_}", "api_roles": ["viewer"]},
                    headers=bearer,
                )
                assert made.status_code == 201, made.text
                app_id, client_id = made.json()["id"], made.json()["client_id"]
                with done.lock:
                    done.created[app_id] = client_id
                    done.secrets[app_id] = [made.json()["client_secret"]]
                done.attempts["rotate_secret"] += 1
                rotated = http.post(f"/v2/app_clients/{app_id}/rotate_secret", headers=bearer)
                assert rotated.status_code == 200, rotated.text
                secret = rotated.json()["client_secret"]
                with done.lock:
                    done.secrets[app_id].append(secret)
                token = token_of(http, client_id, secret).json()["access_token"]
                done.attempts["revoke"] += 1
                revoked = http.post(
                    "/oauth2/revoke", data={"token": token}, auth=(client_id, secret)
                )
                assert revoked.status_code == 200, revoked.text
                with done.lock:
                    done.revoked.append(token)
                before = token_of(http, client_id, secret).json()["access_token"]
                done.attempts["revoke_tokens"] += 1
                cut = http.post(f"/v2/app_clients/{app_id}/revoke_tokens", headers=bearer)
                assert cut.status_code == 204, cut.text
                with done.lock:
                    done.cut_off.append((app_id, before))
                if worker == 0:
                    done.attempts["keys"] += 1
                    # The form as the keys page holds it, its one-time form token too.
                    page = http.get("/console/apiAccess/keys").text
                    form = form_fields(page, "/console/apiAccess/keys/rotate")
                    keys = http.post(
                        "/console/apiAccess/keys/rotate",
                        data={**form, "confirm": "yes"},
                        follow_redirects=False,
                    )
                    assert keys.status_code == 303, keys.text
                    with done.lock:
                        done.keys_rotated += 1
    except (httpx.TransportError, orjson.JSONDecodeError, ValueError, KeyError):
        return  # the server was killed mid-request


def rows(url: str) -> dict[str, list[dict[str, Any]]]:
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            return {
                name: [dict(r._mapping) for r in conn.execute(select(table))]
                for name, table in (
                    ("clients", t.app_clients),
                    ("keys", t.signing_keys),
                    ("audit", t.audit_events),
                    ("changes", t.changes),
                    ("revoked", t.revoked_tokens),
                )
            }
    finally:
        engine.dispose()


def wait_for(condition: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_server_killed_mid_write_restarts_with_a_consistent_store(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "var"
    server = start_server(data_dir, GATEHOUSE_DATABASE_URL=database_url)
    done, stop = Acknowledged(), threading.Event()
    threads = [
        threading.Thread(target=drive, args=(server, done, stop, i), daemon=True)
        for i in range(WORKERS)
    ]
    try:
        for thread in threads:
            thread.start()
        wait_for(lambda: done.count() >= ENOUGH, 90)
        os.kill(server.process.pid, signal.SIGKILL)  # mid-stream: requests are in flight
        server.process.wait(timeout=10)
    finally:
        stop.set()
        server.stop()
    for thread in threads:
        thread.join(timeout=15)
    store = rows(database_url)

    # No half-created client, no change without its audit row and none the other way round.
    audit = store["audit"]
    created = {a["target"] for a in audit if a["action"] == "app_client.create"}
    assert {c["id"] for c in store["clients"]} == created
    assert set(done.created) <= created
    client_changes = Counter(c["entity_id"] for c in store["changes"] if c["kind"] == "client")
    client_audit = Counter(
        a["target"]
        for a in audit
        if a["action"]
        in ("app_client.create", "app_client.rotate_secret", "app_client.revoke_tokens")
    )
    assert client_changes == client_audit
    revocations = {c["entity_id"] for c in store["changes"] if c["kind"] == "revocation"}
    revoke_audit = {
        orjson.loads(a["detail"])["jti"] for a in audit if a["action"] == "token.revoke"
    }
    assert {r["jti"] for r in store["revoked"]} == revocations == revoke_audit
    # No lost key: every published key has its audit row, every audited key is there.
    kids = {k["kid"] for k in store["keys"]}
    key_audit = {a["target"] for a in audit if a["action"] == "keys.schedule"}
    first = {orjson.loads(a["detail"])["kid"] for a in audit if a["action"] == "customer.create"}
    assert kids == key_audit | first
    # A rotation while a key is pending schedules that same key again: one row per rotation.
    assert len([a for a in audit if a["action"] == "keys.schedule"]) >= done.keys_rotated

    restarted = start_server(data_dir, seed_demo=False, GATEHOUSE_DATABASE_URL=database_url)
    try:
        with httpx.Client(base_url=restarted.base_url, timeout=10) as http:
            # No forgotten revocation: what was acknowledged stays refused after the restart.
            for token in done.revoked:
                response = http.get("/v2/corpora", headers={"Authorization": f"Bearer {token}"})
                assert response.status_code == 401, response.text
            for _app_id, token in done.cut_off:
                response = http.get("/v2/corpora", headers={"Authorization": f"Bearer {token}"})
                assert response.status_code == 401, response.text
            # No lost secret: where every rotation was acknowledged, the last secret works.
            rotations = Counter(
                a["target"] for a in audit if a["action"] == "app_client.rotate_secret"
            )
            for app_id, secrets in done.secrets.items():
                if rotations[app_id] == len(secrets) - 1:
                    answer = token_of(http, done.created[app_id], secrets[-1])
                    assert answer.status_code == 200, answer.text
            assert http.get("/readyz").json()["change_feed"]["skipped"] == 0
    finally:
        restarted.stop()
