"""The example FastAPI service of ``examples/payments`` behind a real Gatehouse server: both
run as their own processes; the service accepts only tokens for its own API and scopes and
serves its RFC 9728 metadata, to which its challenges point."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gatehouse.client import ClientCredentials
from tests.factories import LiveServer, free_port, no_credentials_challenge, start_server

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 30.0


@pytest.fixture
def gatehouse(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def payments(gatehouse: LiveServer, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    identifier = f"http://127.0.0.1:{port}"
    env = {
        **gatehouse.env,
        "GATEHOUSE_ISSUER": f"{gatehouse.base_url}/customers/demo",
        "PAYMENTS_IDENTIFIER": identifier,
        "PYTHONPATH": str(ROOT),
    }
    log = (tmp_path / "payments.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "examples.payments.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    try:
        deadline = time.monotonic() + DEADLINE
        while True:
            assert process.poll() is None, (tmp_path / "payments.log").read_text()
            try:
                httpx.get(f"{identifier}/.well-known/oauth-protected-resource", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the example service did not start"
                time.sleep(0.1)
        yield identifier
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_example_service_accepts_its_own_tokens_and_serves_its_metadata(
    gatehouse: LiveServer, payments: str
) -> None:
    gatehouse.cli(
        "apis",
        "create",
        "--customer",
        "demo",
        "--identifier",
        payments,
        "--name",
        "payments",
        "--scope",
        "payments:read",
        "--scope",
        "payments:write",
    )
    client = gatehouse.cli("clients", "create", "--customer", "demo", "--name", "shop")
    gatehouse.cli(
        "clients",
        "grant",
        client["id"],
        "--customer",
        "demo",
        "--api",
        payments,
        "--scope",
        "payments:read",
    )
    token_url = f"{gatehouse.base_url}/customers/demo/oauth2/token"
    auth = ClientCredentials(
        token_url, client["client_id"], client["client_secret"], resource=payments
    )
    deadline = time.monotonic() + DEADLINE
    while True:  # the server learns of the CLI's writes through its change feed
        probe = httpx.post(
            token_url,
            data={"grant_type": "client_credentials", "resource": payments},
            auth=(client["client_id"], client["client_secret"]),
        )
        if probe.status_code == 200:
            break
        assert time.monotonic() < deadline, probe.text
        time.sleep(0.05)

    with httpx.Client(auth=auth) as http:
        listed = http.get(f"{payments}/payments")
        assert listed.status_code == 200, listed.text
        assert listed.json() == {"payments": [], "caller": client["client_id"]}
        refused = http.post(f"{payments}/payments", json={"amount": 5})
    metadata_url = f"{payments}/.well-known/oauth-protected-resource"
    assert refused.status_code == 403
    assert refused.headers["www-authenticate"] == (
        'Bearer realm="gatehouse", error="insufficient_scope", '
        'error_description="the token lacks the role(s): payments:write", '
        f'scope="payments:write", resource_metadata="{metadata_url}"'
    )
    bare = httpx.get(f"{payments}/payments")
    assert bare.status_code == 401
    assert bare.headers["www-authenticate"] == no_credentials_challenge(metadata_url)
    # A token for the built-in API is not one for payments.
    builtin = httpx.post(
        token_url,
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
    ).json()["access_token"]
    wrong = httpx.get(f"{payments}/payments", headers={"authorization": f"Bearer {builtin}"})
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]

    # RFC 9728: the metadata document, and the authorization server it names.
    document = httpx.get(metadata_url).json()
    assert document == {
        "resource": payments,
        "authorization_servers": [f"{gatehouse.base_url}/customers/demo"],
        "bearer_methods_supported": ["header"],
        "scopes_supported": ["payments:read", "payments:write"],
        "resource_name": "Payments",
    }
    server = document["authorization_servers"][0]
    as_metadata = httpx.get(f"{server}/.well-known/oauth-authorization-server").json()
    assert as_metadata["issuer"] == server
    assert as_metadata["token_endpoint"] == token_url
