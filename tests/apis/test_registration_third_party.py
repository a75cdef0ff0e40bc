"""Registration driven by a third-party client: oauth4webapi (npm, unchanged) discovers the
issuer's RFC 8414 metadata, registers with an initial access token made by the CLI, and gets a
token with the registered credentials from a real server process."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import orjson
import pytest

from tests.factories import LiveServer, start_server

SCRIPT = Path(__file__).with_name("register_with_oauth4webapi.mjs")


@pytest.fixture
def oauth4webapi(tmp_path: Path) -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node or npm is not installed")
    try:
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent", "oauth4webapi@3"],
            cwd=tmp_path,
            capture_output=True,
            check=True,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"npm could not install oauth4webapi ({exc.__class__.__name__})")
    script = tmp_path / SCRIPT.name
    shutil.copyfile(SCRIPT, script)
    return script


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = start_server(tmp_path / "server")
    try:
        yield live
    finally:
        live.stop()


def test_oauth4webapi_registers_and_gets_a_token(server: LiveServer, oauth4webapi: Path) -> None:
    created = server.cli(
        "customers",
        "registration-token",
        "create",
        "--customer",
        "demo",
        "--max-uses",
        "1",
        "--role",
        "viewer",
        "--role",
        "corpus_developer",
    )
    assert set(created) == {
        "registration_token",
        "id",
        "expires_at",
        "max_uses",
        "roles",
        "registration_endpoint",
    }
    assert created["max_uses"] == 1
    assert created["roles"] == ["viewer", "corpus_developer"]
    issuer = f"{server.base_url}/customers/demo"
    out = subprocess.run(
        ["node", str(oauth4webapi), issuer, created["registration_token"]],
        cwd=oauth4webapi.parent,
        capture_output=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr.decode()
    result = orjson.loads(out.stdout)
    assert result["registration_endpoint"] == f"{issuer}/oauth2/register"
    assert result["scope"] == "viewer"
    keys = jwt.PyJWKClient(f"{issuer}/.well-known/jwks.json")
    token = result["access_token"]
    claims = jwt.decode(
        token,
        keys.get_signing_key_from_jwt(token).key,
        algorithms=["ES256"],
        audience=server.base_url,
        issuer=issuer,
    )
    assert claims["client_id"] == result["client_id"]
    # The token was used once: listed with its use count, and a second registration is refused.
    listed = server.cli("customers", "registration-token", "list", "--customer", "demo")
    [view] = listed["registration_tokens"]
    assert view["id"] == created["id"]
    assert view["uses"] == 1
    again = httpx.post(
        f"{issuer}/oauth2/register",
        json={},
        headers={"authorization": f"Bearer {created['registration_token']}"},
    )
    assert again.status_code == 401
    # The registered client shows up as an app client, registered.
    clients = server.cli("clients", "list", "--customer", "demo")["app_clients"]
    registered = {c["client_id"]: c["registered"] for c in clients}
    assert registered[result["client_id"]] is True
    assert registered[server.demo["client_id"]] is False
    # RFC 7592 read with the registration access token oauth4webapi received.
    read = httpx.get(
        result["registration_client_uri"],
        headers={"authorization": f"Bearer {result['registration_access_token']}"},
    )
    assert read.status_code == 200
    assert read.json()["client_id"] == result["client_id"]
    revoked = server.cli(
        "customers", "registration-token", "revoke", created["id"], "--customer", "demo"
    )
    assert revoked == {"id": created["id"], "revoked": True}
